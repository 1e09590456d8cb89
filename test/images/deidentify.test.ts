// De-identification at ingest (issue 14, finding 6): the DICOM PS3.15 Annex E Basic Application Level
// Confidentiality Profile applied to a copy of the file, with pixel data byte for byte unchanged.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BASIC_PROFILE_NAME,
  decodeImage,
  deidentifyDicom,
  deidentifyMetadata,
  DEFAULT_IMAGE_LIMITS,
  detectFormat,
  pseudonymousUid,
} from "../../lib/images/index.ts";
import { parseDicomBytes } from "../../lib/images/dicom/parse.ts";
import { fixture, makeDicom, monoImage, TS_DEFLATED_LE, TS_EXPLICIT_BE, TS_IMPLICIT_LE, type DicomElement } from "./helpers.ts";

const REAL = ["siim_cr_chest_pa_mono2.dcm", "siim_cr_chest_pa_photometric_flipped_mono1.dcm", "nema_cr_mono1_10bit_chest.dcm"];

/** Attributes the brief names (and a few more of Table E.1-1) that must not survive with their value. */
const MUST_GO: Record<string, string> = {
  x00100010: "PatientName",
  x00100020: "PatientID",
  x00100030: "PatientBirthDate",
  x00100040: "PatientSex",
  x00101010: "PatientAge",
  x00101000: "OtherPatientIDs",
  x00101001: "OtherPatientNames",
  x00101040: "PatientAddress",
  x00080080: "InstitutionName",
  x00080081: "InstitutionAddress",
  x00080090: "ReferringPhysicianName",
  x00081050: "PerformingPhysicianName",
  x00081070: "OperatorsName",
  x00080050: "AccessionNumber",
  x00080020: "StudyDate",
  x00080021: "SeriesDate",
  x00080022: "AcquisitionDate",
  x00080023: "ContentDate",
  x00080030: "StudyTime",
  x00080031: "SeriesTime",
  x00080032: "AcquisitionTime",
  x00080033: "ContentTime",
  x00200010: "StudyID",
  x00181000: "DeviceSerialNumber",
  x00081040: "InstitutionalDepartmentName",
  x0008103e: "SeriesDescription",
};

function parse(bytes: Uint8Array) {
  const detected = detectFormat(bytes);
  assert.equal(detected.format, "DICOM");
  return parseDicomBytes(bytes, (detected as { layout: "part10" }).layout, DEFAULT_IMAGE_LIMITS).dataSet;
}

function value(ds: ReturnType<typeof parse>, tag: string): string | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  return ds.string(tag)?.replace(/\0/g, "").trim() || undefined;
}

function pixelBytes(bytes: Uint8Array): Buffer {
  const ds = parse(bytes);
  const el = ds.elements.x7fe00010!;
  return Buffer.from(ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length));
}

for (const name of REAL) {
  test(`${name}: every profile attribute is removed or emptied, private tags are gone, UIDs are replaced consistently, pixels are unchanged`, () => {
    const original = fixture(name);
    const before = parse(original);
    const out = deidentifyDicom(original, { uidKey: "site-key" });
    const after = parse(out.bytes);
    const leaked: string[] = [];
    for (const [tag, keyword] of Object.entries(MUST_GO)) {
      const was = value(before, tag);
      const now = value(after, tag);
      if (now !== undefined) leaked.push(`${keyword}=${now}`);
      // Distinctive values must not be anywhere in the file (not moved into another element either).
      if (was && was.length >= 6)
        assert.ok(!Buffer.from(out.bytes).includes(Buffer.from(was, "latin1")), `${keyword} value still in the file`);
    }
    assert.deepEqual(leaked, []);
    for (const tag of Object.keys(after.elements)) assert.equal(parseInt(tag.slice(1, 5), 16) % 2, 0, `private tag ${tag} left`);

    // UIDs: replaced by keyed pseudonyms, the same pseudonym wherever the same UID occurred.
    for (const tag of ["x00080018", "x0020000d", "x0020000e"]) {
      const was = value(before, tag)!;
      assert.equal(value(after, tag), pseudonymousUid(was, "site-key"), tag);
      assert.ok(!Buffer.from(out.bytes).includes(Buffer.from(was, "latin1")), `${tag} original UID gone`);
    }
    if (before.elements.x00020003)
      assert.equal(value(after, "x00020003"), value(after, "x00080018"), "file meta SOP instance UID follows the data set");
    assert.equal(value(after, "x00120062"), "YES");
    assert.match(value(after, "x00120063") ?? "", /Basic/);
    assert.equal(out.profile, BASIC_PROFILE_NAME);
    assert.equal(out.uidsReplaced >= 3, true);

    // Pixel data byte for byte, and the decoded image identical.
    assert.deepEqual(pixelBytes(out.bytes), pixelBytes(original));
    const a = decodeImage(original, { limits: DEFAULT_IMAGE_LIMITS });
    const b = decodeImage(out.bytes, { limits: DEFAULT_IMAGE_LIMITS });
    assert.deepEqual(b.pixels, a.pixels);
    assert.equal(b.dicom?.modality, a.dicom?.modality);
    assert.equal(b.dicom?.viewPosition, a.dicom?.viewPosition);
    // Same input, same key → same output (content-addressed storage stays idempotent).
    assert.deepEqual(deidentifyDicom(original, { uidKey: "site-key" }).bytes, out.bytes);
  });
}

test("without a UID key the UIDs are kept and the profile says so (Retain UIDs Option)", () => {
  const original = fixture("siim_cr_chest_pa_mono2.dcm");
  const out = deidentifyDicom(original);
  const after = parse(out.bytes);
  assert.equal(value(after, "x00080018"), "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819");
  assert.equal(value(after, "x00100010"), undefined);
  assert.match(out.profile, /Retain UIDs/);
  assert.equal(out.uidsReplaced, 0);
});

// ---- crafted files: sequences, private data, every transfer syntax the decoder takes ----

function item(elements: Buffer, undefinedLength = false): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0xfffe, 0);
  head.writeUInt16LE(0xe000, 2);
  head.writeUInt32LE(undefinedLength ? 0xffffffff : elements.length, 4);
  const end = undefinedLength ? Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([head, elements, end]);
}

function explicitLe(tag: number, vr: string, text: string): Buffer {
  let v = Buffer.from(text, "latin1");
  if (v.length % 2) v = Buffer.concat([v, Buffer.from([vr === "UI" ? 0 : 0x20])]);
  const h = Buffer.alloc(8);
  h.writeUInt16LE(tag >>> 16, 0);
  h.writeUInt16LE(tag & 0xffff, 2);
  h.write(vr, 4, "latin1");
  h.writeUInt16LE(v.length, 6);
  return Buffer.concat([h, v]);
}

const PHI = [
  "Zyxwvut^Quentin",
  "MRN-99887766",
  "19450317",
  "St Elsewhere General",
  "Dr^Referrer^Kildare",
  "ACC-5550123",
  "PRIVATE-NOTE-42",
];

function craftedElements(): DicomElement[] {
  // A Referenced Patient Sequence (0008,1120: X) and a Request Attributes Sequence (0040,0275: X), and an
  // Other Patient IDs Sequence-like nested name inside a kept sequence (Source Image Sequence 0008,2112: U*).
  const nestedName = item(Buffer.concat([explicitLe(0x00100010, "PN", PHI[0]!), explicitLe(0x00100020, "LO", PHI[1]!)]));
  const sourceImage = item(
    Buffer.concat([explicitLe(0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.1"), explicitLe(0x00081155, "UI", "1.2.3.4.5.6")]),
    true,
  );
  return [
    { tag: 0x00080020, vr: "DA", value: PHI[2]! },
    { tag: 0x00080050, vr: "SH", value: PHI[5]! },
    { tag: 0x00080080, vr: "LO", value: PHI[3]! },
    { tag: 0x00080090, vr: "PN", value: PHI[4]! },
    { tag: 0x00081120, vr: "SQ", value: nestedName },
    { tag: 0x00082112, vr: "SQ", value: sourceImage },
    { tag: 0x00090010, vr: "LO", value: "ACME PRIVATE" },
    { tag: 0x00091001, vr: "LO", value: PHI[6]! },
    { tag: 0x00185101, vr: "CS", value: "PA" },
  ];
}

const layouts: { label: string; ts?: string; legacy?: boolean; preamble?: boolean }[] = [
  { label: "explicit VR little endian Part 10" },
  { label: "implicit VR little endian Part 10", ts: TS_IMPLICIT_LE },
  { label: "explicit VR big endian", ts: TS_EXPLICIT_BE },
  { label: "deflated explicit VR little endian", ts: TS_DEFLATED_LE },
  { label: "Part 10 without preamble", preamble: false },
  { label: "legacy stream without file meta (implicit VR LE)", ts: TS_IMPLICIT_LE, legacy: true },
];

for (const layout of layouts) {
  test(`crafted ${layout.label}: PHI in top-level, nested and private elements is gone; pixels unchanged`, () => {
    const pixels = new Uint8Array(4 * 4 * 2);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) & 0xff;
    let extra = craftedElements();
    if (layout.ts === TS_IMPLICIT_LE || layout.ts === TS_EXPLICIT_BE) {
      // helpers' sequence payloads above are explicit LE; keep those tests to flat elements.
      extra = extra.filter((e) => e.vr !== "SQ");
    }
    const words = layout.ts === TS_EXPLICIT_BE ? Buffer.from(pixels).swap16() : Buffer.from(pixels);
    const file = makeDicom(monoImage({ rows: 4, columns: 4, bitsAllocated: 16, bitsStored: 12, pixelData: words, extra }), {
      ...(layout.ts ? { transferSyntax: layout.ts } : {}),
      ...(layout.legacy ? { legacy: true } : {}),
      ...(layout.preamble === false ? { preamble: false } : {}),
    });
    const out = deidentifyDicom(file, { uidKey: "k" });
    const text = Buffer.from(out.bytes).toString("latin1");
    for (const phi of PHI) assert.ok(!text.includes(phi), `${phi} left in the file`);
    for (const phi of ["Doe^Jane", "PID-12345", "19700101"]) assert.ok(!text.includes(phi), `${phi} left in the file`);
    const a = decodeImage(file, { limits: DEFAULT_IMAGE_LIMITS });
    const b = decodeImage(out.bytes, { limits: DEFAULT_IMAGE_LIMITS });
    assert.deepEqual(b.pixels16, a.pixels16);
    assert.deepEqual(b.pixels, a.pixels);
    assert.equal(b.dicom?.viewPosition, "PA");
    assert.equal(b.dicom?.sopInstanceUid, pseudonymousUid("1.2.3.4.5.6", "k"));
    if (!layout.legacy) assert.equal(value(parse(out.bytes), "x00020003"), pseudonymousUid("1.2.3.4.5.6", "k"));
    // A UID referenced inside a kept sequence is replaced by the same pseudonym as the instance it names.
    if (extra.some((e) => e.tag === 0x00082112)) {
      const seq = parse(out.bytes).elements.x00082112;
      const ref = seq?.items?.[0]?.dataSet?.string("x00081155")?.replace(/\0/g, "");
      assert.equal(ref, pseudonymousUid("1.2.3.4.5.6", "k"));
    }
  });
}

test("deidentifyMetadata drops patientId and, with a key, replaces UIDs by the same pseudonyms as the file", () => {
  const bytes = fixture("siim_cr_chest_pa_mono2.dcm");
  const meta = decodeImage(bytes, { limits: DEFAULT_IMAGE_LIMITS }).dicom!;
  assert.ok(meta.patientId);
  const plain = deidentifyMetadata(meta);
  assert.equal("patientId" in plain, false);
  assert.equal(plain.studyInstanceUid, meta.studyInstanceUid);
  const remapped = deidentifyMetadata(meta, { remapUids: { key: "site-secret" } });
  assert.match(remapped.studyInstanceUid!, /^2\.25\.\d+$/);
  assert.ok(remapped.studyInstanceUid!.length <= 64);
  assert.notEqual(pseudonymousUid(meta.studyInstanceUid!, "other-key"), remapped.studyInstanceUid);
  const fromFile = decodeImage(deidentifyDicom(bytes, { uidKey: "site-secret" }).bytes, { limits: DEFAULT_IMAGE_LIMITS }).dicom!;
  assert.equal(fromFile.studyInstanceUid, remapped.studyInstanceUid);
  assert.equal(fromFile.sopInstanceUid, remapped.sopInstanceUid);
  assert.equal(fromFile.patientId, undefined);
});
