// Wraps an 8-bit grayscale image (a decoded PNG or JPEG upload) as a Secondary Capture DICOM instance, so that a
// PACS can hold uploads next to modality images; and a JPEG file as it is (encapsulated, JPEG Baseline or Extended
// transfer syntax), so that an upload's JPEG original can live in the PACS byte for byte. UIDs are generated under
// 2.25 unless given.
import { PLATFORM_MANUFACTURER } from "../platform.ts";
import { type Element, encodePart10 } from "../dicom-sr/encode.ts";
import { IMPLEMENTATION_CLASS_UID, newUid } from "../dicom-sr/uid.ts";

export const SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7";

export interface SecondaryCaptureInput {
  width: number;
  height: number;
  /** row-major 8-bit grayscale, width × height */
  pixels: Uint8Array;
  patient: { id: string; name?: string | null };
  study: { studyInstanceUid?: string | null; accession: string };
  createdAt: Date;
  /** fixed series and instance UIDs (a content-addressed store derives them from the pixels' hash); new ones if absent */
  uids?: { seriesInstanceUid: string; sopInstanceUid: string };
}

export interface WrappedImage {
  bytes: Buffer;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
}

export function wrapSecondaryCapture(input: SecondaryCaptureInput): WrappedImage {
  if (input.pixels.length !== input.width * input.height) throw new RangeError("pixel count does not match width × height");
  return wrap(input, [
    { tag: [0x0028, 0x0002], vr: "US", shorts: [1] },
    { tag: [0x0028, 0x0004], vr: "CS", value: "MONOCHROME2" },
    { tag: [0x7fe0, 0x0010], vr: "OB", bytes: input.pixels },
  ]);
}

export interface JpegCaptureInput extends Omit<SecondaryCaptureInput, "pixels"> {
  /** the JPEG file as uploaded: 8-bit baseline (SOF0) or extended (SOF1) sequential, 1 or 3 components */
  jpeg: Uint8Array;
  components: 1 | 3;
  extended: boolean;
}

/** JPEG Baseline (Process 1) and JPEG Extended (Process 2 & 4) transfer syntaxes */
const JPEG_BASELINE = "1.2.840.10008.1.2.4.50";
const JPEG_EXTENDED = "1.2.840.10008.1.2.4.51";

export function wrapJpegSecondaryCapture(input: JpegCaptureInput): WrappedImage {
  const color = input.components === 3;
  return wrap(
    input,
    [
      { tag: [0x0028, 0x0002], vr: "US", shorts: [input.components] },
      // a colour JFIF is YCbCr, full range, as DICOM names it for JPEG (PS3.5 8.2.1)
      { tag: [0x0028, 0x0004], vr: "CS", value: color ? "YBR_FULL_422" : "MONOCHROME2" },
      ...(color ? [{ tag: [0x0028, 0x0006] as const, vr: "US" as const, shorts: [0] }] : []),
      { tag: [0x0028, 0x2110], vr: "CS", value: "01" },
      { tag: [0x0028, 0x2114], vr: "CS", value: "ISO_10918_1" },
      { tag: [0x7fe0, 0x0010], vr: "OB", fragments: [input.jpeg] },
    ],
    input.extended ? JPEG_EXTENDED : JPEG_BASELINE,
  );
}

function wrap(input: Omit<SecondaryCaptureInput, "pixels">, pixelModule: Element[], transferSyntaxUid?: string): WrappedImage {
  const studyInstanceUid = input.study.studyInstanceUid ?? newUid();
  const seriesInstanceUid = input.uids?.seriesInstanceUid ?? newUid();
  const sopInstanceUid = input.uids?.sopInstanceUid ?? newUid();
  const day = input.createdAt.toISOString().slice(0, 10).replace(/-/g, "");
  const s = (tag: readonly [number, number], vr: "CS" | "DA" | "LO" | "PN" | "SH" | "TM" | "UI" | "IS", value: string): Element => ({
    tag,
    vr,
    value,
  });
  const ds: Element[] = [
    s([0x0008, 0x0016], "UI", SECONDARY_CAPTURE),
    s([0x0008, 0x0018], "UI", sopInstanceUid),
    s([0x0008, 0x0020], "DA", ""),
    s([0x0008, 0x0030], "TM", ""),
    s([0x0008, 0x0050], "SH", input.study.accession.slice(0, 16)),
    s([0x0008, 0x0060], "CS", "OT"),
    s([0x0008, 0x0064], "CS", "WSD"),
    s([0x0008, 0x0070], "LO", PLATFORM_MANUFACTURER),
    s([0x0008, 0x0090], "PN", ""),
    s([0x0010, 0x0010], "PN", input.patient.name ?? ""),
    s([0x0010, 0x0020], "LO", input.patient.id.slice(0, 64)),
    s([0x0010, 0x0030], "DA", ""),
    s([0x0010, 0x0040], "CS", ""),
    s([0x0018, 0x1012], "DA", day),
    s([0x0020, 0x000d], "UI", studyInstanceUid),
    s([0x0020, 0x000e], "UI", seriesInstanceUid),
    s([0x0020, 0x0010], "SH", input.study.accession.slice(0, 16)),
    s([0x0020, 0x0011], "IS", "1"),
    s([0x0020, 0x0013], "IS", "1"),
    s([0x0020, 0x0020], "CS", ""),
    s([0x0020, 0x0060], "CS", ""),
    ...pixelModule,
    { tag: [0x0028, 0x0010], vr: "US", shorts: [input.height] },
    { tag: [0x0028, 0x0011], vr: "US", shorts: [input.width] },
    { tag: [0x0028, 0x0100], vr: "US", shorts: [8] },
    { tag: [0x0028, 0x0101], vr: "US", shorts: [8] },
    { tag: [0x0028, 0x0102], vr: "US", shorts: [7] },
    { tag: [0x0028, 0x0103], vr: "US", shorts: [0] },
  ];
  const bytes = encodePart10(ds, {
    sopClassUid: SECONDARY_CAPTURE,
    sopInstanceUid,
    implementationUid: IMPLEMENTATION_CLASS_UID,
    ...(transferSyntaxUid ? { transferSyntaxUid } : {}),
  });
  return { bytes, studyInstanceUid, seriesInstanceUid, sopInstanceUid };
}
