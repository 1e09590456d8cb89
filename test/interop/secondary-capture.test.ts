// A PNG/JPEG upload wrapped as Secondary Capture: valid for dciodvfy, and lib/images (what the worker decodes
// with) reads back exactly the uploaded pixels.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { wrapJpegSecondaryCapture, wrapSecondaryCapture } from "../../lib/interop/dicom-sc/wrap.ts";
import { decodeImage } from "../../lib/images/index.ts";
import { DEFAULT_IMAGE_LIMITS } from "../../lib/images/limits.ts";

function gradient(width: number, height: number): Uint8Array {
  const px = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) px[y * width + x] = (x * 7 + y * 13) % 256;
  return px;
}

const input = (pixels: Uint8Array) => ({
  width: 65,
  height: 48,
  pixels,
  patient: { id: "MRN-S" },
  study: { accession: "ACC-S" },
  createdAt: new Date(),
});

test("a wrapped upload passes dciodvfy without errors", { skip: spawnSync("which", ["dciodvfy"]).status !== 0 }, () => {
  const path = join(mkdtempSync(join(tmpdir(), "gkmvlp-sc-")), "sc.dcm");
  writeFileSync(path, wrapSecondaryCapture(input(gradient(65, 48))).bytes);
  const run = spawnSync("dciodvfy", [path], { encoding: "utf8" });
  assert.deepEqual(
    `${run.stdout}${run.stderr}`.split("\n").filter((l) => l.startsWith("Error")),
    [],
  );
});

test("the image decoder reads back exactly the uploaded pixels from the wrapped instance", () => {
  const pixels = gradient(65, 48);
  const wrapped = wrapSecondaryCapture(input(pixels));
  const decoded = decodeImage(new Uint8Array(wrapped.bytes), { limits: DEFAULT_IMAGE_LIMITS, filenameHint: "x.dcm" });
  assert.equal(decoded.format, "DICOM");
  assert.equal(decoded.width, 65);
  assert.equal(decoded.height, 48);
  assert.deepEqual(Buffer.from(decoded.pixels), Buffer.from(pixels));
});

test("a pixel buffer of the wrong size is refused", () => {
  assert.throws(() => wrapSecondaryCapture(input(new Uint8Array(10))), RangeError);
});

const jpegJs = createRequire(import.meta.url)("jpeg-js") as typeof import("jpeg-js");

test(
  "a JPEG wrapped as it is (encapsulated, JPEG Baseline) passes dciodvfy without errors and decodes to the JPEG's pixels",
  { skip: spawnSync("which", ["dciodvfy"]).status !== 0 },
  () => {
    const rgba = Buffer.alloc(65 * 48 * 4);
    for (let i = 0; i < 65 * 48; i++) rgba.fill((i * 7) % 256, i * 4, i * 4 + 3).writeUInt8(255, i * 4 + 3);
    const jpeg = new Uint8Array(jpegJs.encode({ width: 65, height: 48, data: rgba }, 90).data);
    const wrapped = wrapJpegSecondaryCapture({ ...input(new Uint8Array(0)), jpeg, components: 3, extended: false });
    const path = join(mkdtempSync(join(tmpdir(), "gkmvlp-sc-")), "jpeg-sc.dcm");
    writeFileSync(path, wrapped.bytes);
    const run = spawnSync("dciodvfy", [path], { encoding: "utf8" });
    assert.deepEqual(
      `${run.stdout}${run.stderr}`.split("\n").filter((l) => l.startsWith("Error")),
      [],
    );
    const fromSc = decodeImage(new Uint8Array(wrapped.bytes), { limits: DEFAULT_IMAGE_LIMITS, filenameHint: "x.dcm" });
    const fromJpeg = decodeImage(jpeg, { limits: DEFAULT_IMAGE_LIMITS, filenameHint: "x.jpg" });
    assert.deepEqual([fromSc.width, fromSc.height], [65, 48]);
    assert.ok(Buffer.from(fromSc.pixels).equals(Buffer.from(fromJpeg.pixels)), "the same pixels as the JPEG itself");
  },
);
