// POST /upload: real DICOM files ingest with the right dimensions; bad files get a clear 4xx and leave nothing
// behind (no file in the image store, no image row).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { deflateSync } from "node:zlib";
import { PNG } from "pngjs";
import { startGatewayFixture, createStudy, DICOM_DIR } from "./fixture.ts";

const MAX_BYTES = 1_500_000;

function crc32(bytes: Buffer): number {
  let c: number;
  let crc = 0xffffffff;
  for (const byte of bytes) {
    c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A structurally valid PNG whose header declares `width` × `height` (8-bit gray) with a tiny IDAT. */
function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.alloc(16))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function validPng(width = 64, height = 48): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  for (let i = 0; i < width * height; i++) png.data[i] = (i * 7) % 256;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

test("image uploads", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t, {
    env: { UPLOAD_MAX_BYTES: String(MAX_BYTES), UPLOAD_MAX_WIDTH: "4096", UPLOAD_MAX_HEIGHT: "4096" },
  });
  const auth = fx.a.CLINICIAN;

  await t.test("each of the three real DICOM files uploads with 200 and its true dimensions, and attaches to a study", async () => {
    const expected: Record<string, { width: number; height: number; photometric: string }> = {
      "siim_cr_chest_pa_mono2.dcm": { width: 1024, height: 1024, photometric: "MONOCHROME2" },
      "siim_cr_chest_pa_photometric_flipped_mono1.dcm": { width: 1024, height: 1024, photometric: "MONOCHROME1" },
      "nema_cr_mono1_10bit_chest.dcm": { width: 440, height: 440, photometric: "MONOCHROME1" },
    };
    const { studyId } = await createStudy(fx, auth);
    for (const [file, want] of Object.entries(expected)) {
      const bytes = readFileSync(`${DICOM_DIR}/${file}`);
      const r = await fx.upload(bytes, "application/dicom", auth);
      assert.equal(r.status, 200, `${file}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.format, "DICOM", file);
      assert.equal(r.body.width, want.width, file);
      assert.equal(r.body.height, want.height, file);
      assert.equal(r.body.photometric, want.photometric, file);
      assert.match(r.body.sha256, /^[0-9a-f]{64}$/);
      assert.equal(typeof r.body.uploadId, "string");
      const a = await fx.gql(
        `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { width height format sha256 url } errors { code message } } }`,
        { s: studyId, u: r.body.uploadId },
        auth,
      );
      assert.deepEqual(a.body.data.attachImage.errors, []);
      assert.equal(a.body.data.attachImage.image.width, want.width);
      assert.equal(a.body.data.attachImage.image.sha256, r.body.sha256);
      // The display PNG served back has the image's dimensions.
      const png = await fetch(`${fx.gateway.url}${a.body.data.attachImage.image.url}`, { headers: auth });
      assert.equal(png.status, 200);
      const decoded = PNG.sync.read(Buffer.from(await png.arrayBuffer()));
      assert.deepEqual([decoded.width, decoded.height], [want.width, want.height]);
    }
    const study = await fx.gql(`query($s: ID!) { study(id: $s) { images { format width height } } }`, { s: studyId }, auth);
    assert.equal(study.body.data.study.images.length, 3);
  });

  await t.test("a multipart/form-data upload of a PNG works like a raw one", async () => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(validPng(64, 48))], { type: "image/png" }), "small.png");
    const response = await fetch(`${fx.gateway.url}/upload`, { method: "POST", headers: auth, body: form });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.deepEqual([body.format, body.width, body.height], ["PNG", 64, 48]);
  });

  const bad: { name: string; bytes: Buffer; contentType: string; status: number; code: string; message: RegExp }[] = [
    (() => {
      const png = validPng(64, 48);
      const corrupt = Buffer.from(png);
      // Damage the compressed pixel data (IDAT payload) while keeping the signature and header.
      const idat = corrupt.indexOf("IDAT");
      for (let i = idat + 4; i < idat + 24 && i < corrupt.length - 12; i++) corrupt[i] = 0xff - corrupt[i]!;
      return { name: "a corrupt PNG", bytes: corrupt, contentType: "image/png", status: 422, code: "CORRUPT_IMAGE", message: /PNG/i };
    })(),
    (() => {
      const dicom = readFileSync(`${DICOM_DIR}/nema_cr_mono1_10bit_chest.dcm`);
      return {
        name: "a truncated DICOM",
        bytes: dicom.subarray(0, Math.floor(dicom.length / 2)),
        contentType: "application/dicom",
        status: 422,
        code: "CORRUPT_IMAGE",
        message: /DICOM|pixel|truncat/i,
      };
    })(),
    {
      name: "a file that is not an image (plain text sent as octet-stream)",
      bytes: Buffer.from("%PDF-1.4\nthis is not an X-ray\n".repeat(20)),
      contentType: "application/octet-stream",
      status: 415,
      code: "UNSUPPORTED_FORMAT",
      message: /PNG|JPEG|DICOM/,
    },
    {
      name: "a request with a content type the endpoint does not take",
      bytes: Buffer.from("hello"),
      contentType: "text/plain",
      status: 415,
      code: "UNSUPPORTED_MEDIA_TYPE",
      message: /text\/plain/,
    },
    {
      name: "an oversize upload",
      bytes: Buffer.concat([readFileSync(`${DICOM_DIR}/siim_cr_chest_pa_mono2.dcm`), Buffer.alloc(MAX_BYTES)]),
      contentType: "application/dicom",
      status: 413,
      code: "TOO_LARGE",
      message: new RegExp(String(MAX_BYTES)),
    },
    {
      name: "a PNG declaring huge dimensions",
      bytes: pngDeclaring(60_000, 60_000),
      contentType: "image/png",
      status: 422,
      code: "DIMENSIONS_TOO_LARGE",
      message: /60000/,
    },
  ];

  for (const c of bad) {
    await t.test(`${c.name} is refused with ${c.status} ${c.code}, a clear message, and nothing stored`, async (st) => {
      const filesBefore = await fx.storedFiles();
      const imagesBefore = await fx.ctx.db.prisma.image.count();
      const r = await fx.upload(c.bytes, c.contentType, auth);
      st.diagnostic(`${r.status} ${r.body.error?.code}: ${r.body.error?.message}`);
      assert.equal(r.status, c.status, JSON.stringify(r.body));
      assert.equal(r.body.error.code, c.code);
      assert.match(r.body.error.message, c.message);
      assert.equal(r.body.uploadId, undefined);
      assert.deepEqual(await fx.storedFiles(), filesBefore);
      assert.equal(await fx.ctx.db.prisma.image.count(), imagesBefore);
    });
  }

  await t.test("a forged or altered upload id cannot be attached", async () => {
    const { studyId } = await createStudy(fx, auth);
    const r = await fx.upload(validPng(32, 32), "image/png", auth);
    const parts = (r.body.uploadId as string).split(".");
    const claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString());
    claims.width = 9999;
    const forged = [parts[0], Buffer.from(JSON.stringify(claims)).toString("base64url"), parts[2]].join(".");
    const a = await fx.gql(
      `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id } errors { code field } } }`,
      { s: studyId, u: forged },
      auth,
    );
    assert.deepEqual(a.body.data.attachImage, { image: null, errors: [{ code: "NOT_FOUND", field: "input.uploadId" }] });
  });
});
