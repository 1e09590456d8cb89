// Issue 14, finding 6: DICOM patient name, ID and dates were stored on disk unless each upload asked
// `?deidentify=1`. De-identification (PS3.15 Basic Profile) is now on by default at ingest; only a deployment or
// tenant setting can store identified files, never a request. No PHI reaches the logs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { startGatewayFixture, DICOM_DIR, type GatewayFixture, type Auth } from "./fixture.ts";
import { decodeImage, DEFAULT_IMAGE_LIMITS, detectFormat, storageKey } from "../../lib/images/index.ts";
import { parseDicomBytes } from "../../lib/images/dicom/parse.ts";
import { makeDicom, monoImage } from "../images/helpers.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const REAL = ["siim_cr_chest_pa_mono2.dcm", "siim_cr_chest_pa_photometric_flipped_mono1.dcm", "nema_cr_mono1_10bit_chest.dcm"];

/** Table E.1-1 attributes the brief names; none may keep its original value in the stored file. */
const PROFILE_TAGS = [
  "x00100010",
  "x00100020",
  "x00100030",
  "x00100040",
  "x00101010",
  "x00101000",
  "x00101001",
  "x00101040",
  "x00080080",
  "x00080081",
  "x00080090",
  "x00081050",
  "x00081070",
  "x00080050",
  "x00080020",
  "x00080021",
  "x00080022",
  "x00080023",
  "x00080030",
  "x00080031",
  "x00080032",
  "x00080033",
  "x00200010",
  "x00181000",
];

function dataSet(bytes: Uint8Array) {
  const detected = detectFormat(bytes);
  assert.equal(detected.format, "DICOM");
  return parseDicomBytes(bytes, (detected as { layout: "part10" }).layout, DEFAULT_IMAGE_LIMITS).dataSet;
}

function values(bytes: Uint8Array): Map<string, string> {
  const ds = dataSet(bytes);
  const out = new Map<string, string>();
  for (const tag of PROFILE_TAGS) {
    const el = ds.elements[tag];
    const v = el && el.length > 0 ? ds.string(tag)?.replace(/\0/g, "").trim() : undefined;
    if (v) out.set(tag, v);
  }
  return out;
}

async function stored(fx: GatewayFixture, sha256: string): Promise<Buffer> {
  const bytes = await fx.store.get(storageKey(sha256, "dcm"));
  assert.ok(bytes, "the original is in the store under the sha256 the response gave");
  return bytes;
}

async function upload(fx: GatewayFixture, bytes: Uint8Array, auth: Auth, query = "") {
  const response = await fetch(`${fx.gateway.url}/upload${query}`, {
    method: "POST",
    headers: { "content-type": "application/dicom", ...auth },
    body: new Uint8Array(bytes),
  });
  return { status: response.status, body: await response.json() };
}

const NAME = "Zyxwvut^Quentin^Harold";
const MRN = "MRN-99887766";
const BIRTH = "19450317";
const ACCESSION = "ACC-5550123";

function identifiedDicom(): Buffer {
  return makeDicom(
    monoImage({
      rows: 8,
      columns: 8,
      bitsAllocated: 16,
      bitsStored: 12,
      pixelData: new Uint8Array(128).map((_, i) => (i * 29) & 0xff),
      extra: [
        { tag: 0x00080050, vr: "SH", value: ACCESSION },
        { tag: 0x00080080, vr: "LO", value: "Hospital Of Saint Quentin" },
      ],
    }).map((e) =>
      e.tag === 0x00100010
        ? { ...e, value: NAME }
        : e.tag === 0x00100020
          ? { ...e, value: MRN }
          : e.tag === 0x00100030
            ? { ...e, value: BIRTH }
            : e,
    ),
  );
}

test("DICOM uploads are de-identified by default", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t, { env: { LOG_LEVEL: "debug" } });
  const auth = fx.a.CLINICIAN;

  for (const name of REAL) {
    await t.test(
      `${name}: the stored file keeps none of the profile attributes' values; pixels unchanged; the response says so`,
      async () => {
        const original = readFileSync(`${DICOM_DIR}/${name}`);
        const r = await upload(fx, original, auth);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.deidentified, true);
        assert.match(r.body.deidentificationProfile, /Basic Application Level Confidentiality Profile/);
        assert.notEqual(r.body.sha256, sha(original));
        const bytes = await stored(fx, r.body.sha256);
        assert.equal(sha(bytes), r.body.sha256);
        const before = values(original);
        const after = values(bytes);
        assert.ok(before.size >= 2, `${name} has identifying attributes to start with`);
        assert.deepEqual([...after.keys()], [], "no profile attribute left with a value");
        for (const v of before.values())
          if (v.length >= 6) assert.ok(!bytes.includes(Buffer.from(v, "latin1")), `"${v}" is not anywhere in the stored file`);
        for (const tag of Object.keys(dataSet(bytes).elements)) assert.equal(parseInt(tag.slice(1, 5), 16) % 2, 0, `private ${tag}`);
        assert.deepEqual(
          decodeImage(bytes, { limits: DEFAULT_IMAGE_LIMITS }).pixels,
          decodeImage(original, { limits: DEFAULT_IMAGE_LIMITS }).pixels,
        );
      },
    );
  }

  await t.test("?deidentify=0 cannot store an identified file; ?deidentify=1 is still accepted", async () => {
    const original = identifiedDicom();
    for (const query of ["?deidentify=0", "?deidentify=false", "?deidentify=1"]) {
      const r = await upload(fx, original, auth, query);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.deidentified, true, query);
      const bytes = await stored(fx, r.body.sha256);
      for (const phi of [NAME, MRN, BIRTH, ACCESSION]) assert.ok(!bytes.includes(Buffer.from(phi)), `${query}: ${phi} stored`);
    }
  });

  await t.test("no patient name, ID or birth date in the gateway's logs or responses, also when an upload fails", async () => {
    const good = identifiedDicom();
    const truncated = good.subarray(0, good.length - 40); // pixel data cut short → CORRUPT_IMAGE after parsing the header
    const responses: string[] = [];
    for (const [bytes, query] of [
      [good, ""],
      [good, "?deidentify=0"],
      [truncated, ""],
    ] as const) {
      const response = await fetch(`${fx.gateway.url}/upload${query}`, {
        method: "POST",
        headers: { "content-type": "application/dicom", "x-filename": "chest.dcm", ...auth },
        body: new Uint8Array(bytes),
      });
      responses.push(`${response.status} ${await response.text()}`);
    }
    assert.match(responses[2]!, /^422 /);
    const logText = fx.logs.map((l) => JSON.stringify(l)).join("\n");
    assert.ok(
      fx.logs.some((l) => l.msg === "image uploaded"),
      "uploads were logged",
    );
    for (const phi of [NAME, "Zyxwvut", MRN, BIRTH, ACCESSION]) {
      assert.ok(!logText.includes(phi), `${phi} appears in the logs`);
      for (const r of responses) assert.ok(!r.includes(phi), `${phi} appears in a response`);
    }
  });
});

test("storing identified DICOM is a tenant setting, not a request flag", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t, { env: { STORE_IDENTIFIED_DICOM_TENANTS: "hospital-a" } });
  const original = readFileSync(`${DICOM_DIR}/siim_cr_chest_pa_mono2.dcm`);

  const a = await upload(fx, original, fx.a.CLINICIAN);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(a.body.deidentified, false);
  assert.equal(a.body.deidentificationProfile, null);
  assert.equal(a.body.sha256, sha(original));
  assert.deepEqual(await stored(fx, a.body.sha256), original, "tenant A (opted out) stores the file byte for byte");

  const asked = await upload(fx, original, fx.a.CLINICIAN, "?deidentify=1");
  assert.equal(asked.body.deidentified, true, "a request may still ask for more privacy");

  const b = await upload(fx, original, fx.b.CLINICIAN, "?deidentify=0");
  assert.equal(b.status, 200, JSON.stringify(b.body));
  assert.equal(b.body.deidentified, true, "tenant B is not in the list: de-identified whatever the request says");
  assert.deepEqual([...values(await stored(fx, b.body.sha256)).keys()], []);
});
