// The grounded SR is checked by tools we did not write: dciodvfy (dicom3tools) for the IOD, dsrdump (dcmtk) for
// the SR tree, and read back with dicom-parser to the same findings, boxes and sentences.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { DataSet } from "dicom-parser";
import { buildGroundedSr, type SrInput, uuidToUid } from "../../lib/interop/dicom-sr/index.ts";
import { dicomParser } from "../../lib/images/dicom/parse.ts";

const hasTool = (name: string) => spawnSync("which", [name]).status === 0;
const dir = mkdtempSync(join(tmpdir(), "gkmvlp-sr-"));

function input(overrides: Partial<SrInput> = {}): SrInput {
  return {
    study: { studyInstanceUid: "2.25.1001", accession: "ACC-7", studyDate: new Date("2026-01-02T03:04:05Z") },
    patient: { id: "MRN-7", name: "Patient 0007", sex: "F" },
    source: { sopClassUid: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUid: "2.25.1003", seriesInstanceUid: "2.25.1002" },
    algorithm: {
      name: "gkmvlp-cxr",
      version: "2.1.0",
      bundleSha256: "c0ffee".padEnd(64, "0"),
      deviceUid: "2.25.42",
      manufacturer: "GK-MVLP",
    },
    findings: [
      {
        label: "Cardiomegaly",
        probability: 0.83,
        regions: ["cardiac silhouette", "mediastinum"],
        box: { x1: 430, y1: 480, x2: 760, y2: 770 },
      },
      { label: "Lung Opacity", probability: 0.12, regions: ["right lung"] },
    ],
    sentences: [
      { text: "The cardiac silhouette is enlarged.", regions: ["cardiac silhouette"] },
      { text: "No pneumothorax — lungs clear.", regions: ["right lung", "left lung"] },
    ],
    createdAt: new Date("2026-01-02T04:00:00Z"),
    ...overrides,
  };
}

function write(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function dciodvfyErrors(path: string): string[] {
  const run = spawnSync("dciodvfy", [path], { encoding: "utf8" });
  return `${run.stdout}${run.stderr}`.split("\n").filter((l) => /^Error/.test(l));
}

function contentItems(ds: DataSet): DataSet[] {
  const out: DataSet[] = [];
  for (const item of ds.elements.x0040a730?.items ?? []) {
    if (item.dataSet) out.push(item.dataSet, ...contentItems(item.dataSet));
  }
  return out;
}

const meaning = (ds: DataSet) => ds.elements.x0040a043?.items?.[0]?.dataSet?.string("x00080104");

test("UIDs under 2.25 are the UUID read as one decimal integer", () => {
  assert.equal(uuidToUid("00000000-0000-0000-0000-000000000010"), "2.25.16");
});

test("a grounded SR passes dciodvfy without errors, signed or not, first or superseding", { skip: !hasTool("dciodvfy") }, () => {
  const first = buildGroundedSr(input());
  const amended = buildGroundedSr(
    input({
      predecessor: { seriesInstanceUid: first.seriesInstanceUid, sopInstanceUid: first.sopInstanceUid },
      verified: { observerName: "Doe^Jane", organization: "Hospital", at: new Date("2026-01-02T05:00:00Z") },
    }),
  );
  assert.deepEqual(dciodvfyErrors(write("first.dcm", first.bytes)), []);
  assert.deepEqual(dciodvfyErrors(write("amended.dcm", amended.bytes)), []);
});

test("dciodvfy reports an error for a file that is not valid DICOM (the check can fail)", { skip: !hasTool("dciodvfy") }, () => {
  const sr = buildGroundedSr(input());
  // without the DICM prefix the file is not Part 10: dciodvfy must complain
  const broken = Buffer.from(sr.bytes);
  broken.write("XXXX", 128, "latin1");
  const run = spawnSync("dciodvfy", [write("broken.dcm", broken)], { encoding: "utf8" });
  assert.match(`${run.stdout}${run.stderr}`, /Error/);
});

test("dcmtk reads the SR tree with the findings, the box on the source image and the sentences", { skip: !hasTool("dsrdump") }, () => {
  const sr = buildGroundedSr(input());
  const dump = execFileSync("dsrdump", ["+Pl", "+Pc", write("dump.dcm", sr.bytes)], { encoding: "utf8" });
  assert.match(dump, /Imaging Measurement Report/);
  assert.match(dump, /\(8186001,SCT,"Cardiomegaly"\)/);
  assert.match(dump, /SCOORD.*POLYLINE/);
  assert.match(dump, /The cardiac silhouette is enlarged\./);
});

test("read back with dicom-parser: same study, new series, findings, probabilities, box and sentence regions", () => {
  const sr = buildGroundedSr(input());
  const ds = dicomParser.parseDicom(new Uint8Array(sr.bytes));
  assert.equal(ds.string("x0020000d"), "2.25.1001");
  assert.equal(ds.string("x0020000e"), sr.seriesInstanceUid);
  assert.notEqual(sr.seriesInstanceUid, "2.25.1002");
  assert.equal(ds.string("x00080060"), "SR");
  const items = contentItems(ds);
  const probs = items
    .filter((i) => meaning(i) === "Finding probability")
    .map((i) => Number(i.elements.x0040a300?.items?.[0]?.dataSet?.string("x0040a30a")));
  assert.deepEqual(probs, [0.83, 0.12]);
  const scoord = items.find((i) => i.string("x0040a040") === "SCOORD");
  assert.ok(scoord);
  const el = scoord.elements.x00700022;
  assert.ok(el);
  const floats = Array.from({ length: el.length / 4 }, (_, k) => scoord.float("x00700022", k));
  assert.deepEqual(floats, [430, 480, 760, 480, 760, 770, 430, 770, 430, 480]);
  const ref = scoord.elements.x0040a730?.items?.[0]?.dataSet?.elements.x00081199?.items?.[0]?.dataSet;
  assert.equal(ref?.string("x00081155"), "2.25.1003");
  const sentences = items.filter((i) => meaning(i) === "Report sentence");
  assert.deepEqual(
    // Specific Character Set ISO_IR 192: the text is UTF-8, which dicom-parser hands back byte for byte
    sentences.map((s) => Buffer.from(s.text("x0040a160") ?? "", "latin1").toString("utf8")),
    ["The cardiac silhouette is enlarged.", "No pneumothorax — lungs clear."],
  );
  const sites = (sentences[1]?.elements.x0040a730?.items ?? []).map((i) =>
    i.dataSet?.elements.x0040a168?.items?.[0]?.dataSet?.string("x00080104"),
  );
  assert.deepEqual(sites, ["Right lung structure", "Left lung structure"]);
});

test("a superseding SR names its predecessor in the Predecessor Documents Sequence", () => {
  const sr = buildGroundedSr(input({ predecessor: { seriesInstanceUid: "2.25.77", sopInstanceUid: "2.25.78" } }));
  const ds = dicomParser.parseDicom(new Uint8Array(sr.bytes));
  const series = ds.elements.x0040a360?.items?.[0]?.dataSet?.elements.x00081115?.items?.[0]?.dataSet;
  assert.equal(series?.string("x0020000e"), "2.25.77");
  assert.equal(series?.elements.x00081199?.items?.[0]?.dataSet?.string("x00081155"), "2.25.78");
});

test(
  "a withdrawing SR (rejected report) passes dciodvfy, carries no findings or sentences, and says why",
  { skip: !hasTool("dciodvfy") },
  () => {
    const first = buildGroundedSr(input());
    const withdrawn = buildGroundedSr(
      input({
        findings: [],
        sentences: [],
        predecessor: { seriesInstanceUid: first.seriesInstanceUid, sopInstanceUid: first.sopInstanceUid },
        verified: { observerName: "Doe^Jane", organization: "Hospital", at: new Date("2026-01-02T05:00:00Z") },
        withdrawn: { reason: "The reviewing radiologist rejected the AI report." },
        seriesDescription: "AI findings (withdrawn)",
      }),
    );
    assert.deepEqual(dciodvfyErrors(write("withdrawn.dcm", withdrawn.bytes)), []);
    const ds = dicomParser.parseDicom(new Uint8Array(withdrawn.bytes));
    assert.equal(ds.string("x0008103e"), "AI findings (withdrawn)");
    const items = contentItems(ds);
    assert.ok(items.some((i) => meaning(i) === "Comment" && i.string("x0040a160")?.includes("rejected")));
    assert.ok(!items.some((i) => meaning(i) === "Measurement Group" || meaning(i) === "Report sentence"));
  },
);
