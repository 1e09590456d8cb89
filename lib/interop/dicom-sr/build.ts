// Builds a grounded Comprehensive SR (TID 1500 Measurement Report structure) for one analysed image: a new series
// in the source image's study, findings with probability, box (SCOORD on the source image) and grounded regions,
// the report's sentences with their regions, and the algorithm and device that produced them (IHE AIR).
import { CONCEPTS, type Code, findingCode, regionCode } from "./codes.ts";
import { boxScoord, code, container, type ImageReference, image, num, text, uidref } from "./content.ts";
import { type Element, encodePart10 } from "./encode.ts";
import { IMPLEMENTATION_CLASS_UID, newUid } from "./uid.ts";

export const COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33";

export interface SrFinding {
  label: string;
  probability: number;
  regions: string[];
  box?: { x1: number; y1: number; x2: number; y2: number } | null;
}

export interface SrInput {
  study: { studyInstanceUid: string; accession: string; studyDate?: Date | null; studyId?: string };
  patient: { id: string; name?: string | null; sex?: string | null };
  source: ImageReference & { seriesInstanceUid: string };
  algorithm: { name: string; version: string; bundleSha256: string; deviceUid: string; manufacturer: string };
  findings: SrFinding[];
  sentences: { text: string; regions: string[] }[];
  // the SR this one supersedes (amended or rejected report)
  predecessor?: { seriesInstanceUid: string; sopInstanceUid: string } | null;
  verified?: { observerName: string; organization: string; at: Date } | null;
  // a rejected report: the SR carries no findings or sentences, only this statement (it supersedes the predecessor)
  withdrawn?: { reason: string } | null;
  // statements a reader must see with the findings (e.g. the model's reliability caution), one Comment item each
  notes?: string[];
  // Series Description (0008,103E); names the report state, e.g. "AI findings (amended)"
  seriesDescription?: string;
  createdAt: Date;
  // generated when absent; injected by tests that need stable UIDs
  sopInstanceUid?: string;
  seriesInstanceUid?: string;
}

export interface BuiltSr {
  bytes: Buffer;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

const da = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, "");
const tm = (d: Date) => d.toISOString().slice(11, 19).replace(/:/g, "");
const dt = (d: Date) => `${da(d)}${tm(d)}`;
const str = (tag: readonly [number, number], vr: "CS" | "DA" | "LO" | "PN" | "SH" | "TM" | "UI" | "IS" | "DT", value: string): Element => ({
  tag,
  vr,
  value,
});

function siteModifiers(regions: string[]): Element[][] {
  return regions.map((r) => code("HAS CONCEPT MOD", CONCEPTS.findingSite, regionCode(r)));
}

function measurementGroup(f: SrFinding, ref: ImageReference): Element[] {
  const concept: Code = findingCode(f.label);
  const children: Element[][] = [
    text("HAS OBS CONTEXT", CONCEPTS.trackingIdentifier, f.label.slice(0, 64)),
    uidref("HAS OBS CONTEXT", CONCEPTS.trackingUid, newUid()),
    code("CONTAINS", CONCEPTS.finding, concept),
    ...siteModifiers(f.regions),
  ];
  if (f.box) children.push(boxScoord(CONCEPTS.imageRegion, f.box, ref));
  children.push(num("CONTAINS", CONCEPTS.probability, f.probability, CONCEPTS.noUnits));
  return container("CONTAINS", CONCEPTS.measurementGroup, children);
}

function contentTree(input: SrInput): Element[][] {
  const ref = input.source;
  const alg = input.algorithm;
  return [
    code("HAS CONCEPT MOD", CONCEPTS.procedureReported, CONCEPTS.chestXray),
    code("HAS OBS CONTEXT", CONCEPTS.observerType, CONCEPTS.device),
    uidref("HAS OBS CONTEXT", CONCEPTS.deviceObserverUid, alg.deviceUid),
    text("HAS OBS CONTEXT", CONCEPTS.deviceObserverName, alg.name),
    text("HAS OBS CONTEXT", CONCEPTS.deviceObserverManufacturer, alg.manufacturer),
    text("HAS OBS CONTEXT", CONCEPTS.deviceObserverModelName, alg.name),
    container("CONTAINS", CONCEPTS.imageLibrary, [container("CONTAINS", CONCEPTS.imageLibraryGroup, [image("CONTAINS", ref)])]),
    container("CONTAINS", CONCEPTS.imagingMeasurements, [
      text("HAS OBS CONTEXT", CONCEPTS.algorithmName, alg.name),
      text("HAS OBS CONTEXT", CONCEPTS.algorithmVersion, alg.version),
      text("HAS OBS CONTEXT", CONCEPTS.algorithmParameters, `bundle_sha256=${alg.bundleSha256}`),
      ...input.findings.map((f) => measurementGroup(f, ref)),
    ]),
    ...(input.withdrawn ? [text("CONTAINS", CONCEPTS.comment, input.withdrawn.reason)] : []),
    ...(input.notes ?? []).map((note) => text("CONTAINS", CONCEPTS.comment, note)),
    ...(input.sentences.length > 0
      ? [
          container(
            "CONTAINS",
            CONCEPTS.reportText,
            input.sentences.map((s) => text("CONTAINS", CONCEPTS.reportSentence, s.text, siteModifiers(s.regions))),
          ),
        ]
      : []),
  ];
}

function evidence(input: SrInput, tag: readonly [number, number], series: string, sop: ImageReference): Element {
  return {
    tag,
    vr: "SQ",
    items: [
      [
        str([0x0020, 0x000d], "UI", input.study.studyInstanceUid),
        {
          tag: [0x0008, 0x1115],
          vr: "SQ",
          items: [
            [
              str([0x0020, 0x000e], "UI", series),
              {
                tag: [0x0008, 0x1199],
                vr: "SQ",
                items: [[str([0x0008, 0x1150], "UI", sop.sopClassUid), str([0x0008, 0x1155], "UI", sop.sopInstanceUid)]],
              },
            ],
          ],
        },
      ],
    ],
  };
}

export function buildGroundedSr(input: SrInput): BuiltSr {
  const sopInstanceUid = input.sopInstanceUid ?? newUid();
  const seriesInstanceUid = input.seriesInstanceUid ?? newUid();
  const at = input.createdAt;
  const ds: Element[] = [
    str([0x0008, 0x0005], "CS", "ISO_IR 192"),
    str([0x0008, 0x0016], "UI", COMPREHENSIVE_SR),
    str([0x0008, 0x0018], "UI", sopInstanceUid),
    str([0x0008, 0x0020], "DA", input.study.studyDate ? da(input.study.studyDate) : ""),
    str([0x0008, 0x0023], "DA", da(at)),
    str([0x0008, 0x0030], "TM", input.study.studyDate ? tm(input.study.studyDate) : ""),
    str([0x0008, 0x0033], "TM", tm(at)),
    str([0x0008, 0x0050], "SH", input.study.accession.slice(0, 16)),
    str([0x0008, 0x0060], "CS", "SR"),
    str([0x0008, 0x0070], "LO", input.algorithm.manufacturer),
    str([0x0008, 0x0090], "PN", ""),
    str([0x0008, 0x103e], "LO", (input.seriesDescription ?? "AI findings (grounded SR)").slice(0, 64)),
    { tag: [0x0008, 0x1111], vr: "SQ", items: [] },
    str([0x0010, 0x0010], "PN", input.patient.name ?? ""),
    str([0x0010, 0x0020], "LO", input.patient.id.slice(0, 64)),
    str([0x0010, 0x0030], "DA", ""),
    str([0x0010, 0x0040], "CS", input.patient.sex && /^[MFO]$/.test(input.patient.sex) ? input.patient.sex : ""),
    str([0x0020, 0x000d], "UI", input.study.studyInstanceUid),
    str([0x0020, 0x000e], "UI", seriesInstanceUid),
    str([0x0020, 0x0010], "SH", (input.study.studyId ?? input.study.accession).slice(0, 16)),
    str([0x0020, 0x0011], "IS", "9001"),
    str([0x0020, 0x0013], "IS", "1"),
    str([0x0040, 0xa491], "CS", "COMPLETE"),
    str([0x0040, 0xa493], "CS", input.verified ? "VERIFIED" : "UNVERIFIED"),
    { tag: [0x0040, 0xa372], vr: "SQ", items: [] },
    evidence(input, [0x0040, 0xa375], input.source.seriesInstanceUid, input.source),
    // root content item
    str([0x0040, 0xa040], "CS", "CONTAINER"),
    { tag: [0x0040, 0xa043], vr: "SQ", items: [codeItemOf(CONCEPTS.imagingMeasurementReport)] },
    str([0x0040, 0xa050], "CS", "SEPARATE"),
    { tag: [0x0040, 0xa504], vr: "SQ", items: [[str([0x0008, 0x0105], "CS", "DCMR"), str([0x0040, 0xdb00], "CS", "1500")]] },
    { tag: [0x0040, 0xa730], vr: "SQ", items: contentTree(input) },
  ];
  if (input.predecessor) {
    ds.push(
      evidence(input, [0x0040, 0xa360], input.predecessor.seriesInstanceUid, {
        sopClassUid: COMPREHENSIVE_SR,
        sopInstanceUid: input.predecessor.sopInstanceUid,
      }),
    );
  }
  if (input.verified) {
    ds.push({
      tag: [0x0040, 0xa073],
      vr: "SQ",
      items: [
        [
          str([0x0040, 0xa027], "LO", input.verified.organization.slice(0, 64)),
          str([0x0040, 0xa030], "DT", dt(input.verified.at)),
          str([0x0040, 0xa075], "PN", input.verified.observerName.slice(0, 64)),
          { tag: [0x0040, 0xa088], vr: "SQ", items: [] },
        ],
      ],
    });
  }
  const bytes = encodePart10(ds, { sopClassUid: COMPREHENSIVE_SR, sopInstanceUid, implementationUid: IMPLEMENTATION_CLASS_UID });
  return { bytes, sopInstanceUid, seriesInstanceUid };
}

function codeItemOf(c: Code): Element[] {
  return [str([0x0008, 0x0100], "SH", c.value), str([0x0008, 0x0102], "SH", c.scheme), str([0x0008, 0x0104], "LO", c.meaning)];
}
