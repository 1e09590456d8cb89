// The analysis copy (binary PGM of the display pixels, lib/images encodeGrayPgm) must give the model exactly the
// input the display PNG gives: the same pixels, so a bit-identical tensor (and the golden vectors' tensor hash).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { encodeGrayPgm } from "../../lib/images/index.ts";
import { InferenceError } from "../../workers/analysis/src/bundle/errors.ts";
import { decodeImage } from "../../workers/analysis/src/image/decode.ts";
import { decodePgm } from "../../workers/analysis/src/image/pgm.ts";
import { preprocess, tensorSha256, type GrayImage } from "../../workers/analysis/src/image/preprocess.ts";
import { bundleDir, readGolden } from "./golden-bundle.ts";

const invalid = (e: unknown) => e instanceof InferenceError && e.code === "IMAGE_INVALID";
const pgmOf = (img: GrayImage) => encodeGrayPgm(img.data as Uint8Array, img.width, img.height);

function assertSameImage(a: GrayImage, b: GrayImage, what: string) {
  assert.deepEqual([a.width, a.height, a.maxValue, a.data.constructor], [b.width, b.height, b.maxValue, b.data.constructor], what);
  assert.ok(
    Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(
      Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
    ),
    `${what}: pixels`,
  );
}

describe("the PGM analysis copy against the display PNG", () => {
  const dir = bundleDir();
  const manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as { preprocessing: Parameters<typeof preprocess>[1] };
  const cfg = manifest.preprocessing;

  it("golden images (8-bit): same pixels, and the tensor has the golden sha256", () => {
    let checked = 0;
    for (const g of readGolden(dir).preprocess) {
      const png = decodeImage(readFileSync(path.join(dir, "golden", g.image)));
      if (!(png.data instanceof Uint8Array)) continue; // the 16-bit golden image has no 8-bit analysis copy
      const pgm = decodeImage(pgmOf(png));
      assertSameImage(pgm, png, g.image);
      assert.equal(tensorSha256(preprocess(pgm, cfg).tensor), g.tensor_sha256, `${g.image}: golden tensor`);
      checked++;
    }
    assert.ok(checked > 0, "at least one 8-bit golden image");
  });

  it("real radiographs from ../shared/data: same pixels, bit-identical tensor", (t) => {
    const real = path.resolve("..", "shared", "data", "classification_nih14", "images");
    const files = existsSync(real)
      ? readdirSync(real)
          .filter((f) => f.endsWith(".png"))
          .slice(0, 3)
      : [];
    if (files.length === 0) return t.skip("no real samples on this machine");
    for (const f of files) {
      const png = decodeImage(readFileSync(path.join(real, f)));
      if (!(png.data instanceof Uint8Array)) continue;
      const pgm = decodeImage(pgmOf(png));
      assertSameImage(pgm, png, f);
      assert.equal(tensorSha256(preprocess(pgm, cfg).tensor), tensorSha256(preprocess(png, cfg).tensor), `${f}: tensor`);
    }
  });
});

describe("binary PGM decoding", () => {
  it("reads a header with comments and odd whitespace; 16-bit samples are big-endian", () => {
    const eight = Buffer.concat([Buffer.from("P5 # analysis copy\n3\t2\r\n# maxval next\n200\n"), Buffer.from([0, 1, 2, 3, 4, 200])]);
    const a = decodePgm(eight, 100);
    assert.deepEqual([a.width, a.height, a.maxValue, [...a.data]], [3, 2, 200, [0, 1, 2, 3, 4, 200]]);
    const sixteen = Buffer.concat([Buffer.from("P5\n2 1\n1023\n"), Buffer.from([0x03, 0xff, 0x01, 0x00])]);
    const b = decodePgm(sixteen, 100);
    assert.deepEqual([b.maxValue, b.data.constructor, [...b.data]], [1023, Uint16Array, [1023, 256]]);
  });

  it("truncated, malformed and oversized files are IMAGE_INVALID", () => {
    const good = encodeGrayPgm(new Uint8Array(64).fill(7), 8, 8);
    assert.equal(decodeImage(good).width, 8);
    for (const [what, bytes] of [
      ["truncated samples", good.subarray(0, good.length - 1)],
      ["no header end", Buffer.from("P5\n8 8")],
      ["zero width", Buffer.from("P5\n0 8\n255\n")],
      ["maxval over 16 bits", Buffer.from("P5\n1 1\n65536\nxx")],
      ["letters for digits", Buffer.from("P5\nab 8\n255\n")],
    ] as const)
      assert.throws(() => decodeImage(bytes), invalid, what);
    assert.throws(() => decodeImage(good, { maxPixels: 63 }), invalid, "pixel limit");
  });
});
