import { test } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import { decodeImage, DEFAULT_IMAGE_LIMITS, ImageError } from "../../lib/images/index.ts";
import { fixture, findChunk, ihdr, makePng, pngChunk, PNG_SIGNATURE } from "./helpers.ts";

const require = createRequire(import.meta.url);
const jpeg = require("jpeg-js") as typeof import("jpeg-js");
const limits = DEFAULT_IMAGE_LIMITS;

function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ImageError, `expected ImageError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

test("8-bit grayscale PNG (real NIH chest film) keeps its samples exactly", () => {
  const bytes = fixture("nih_00000075_000_gray_256.png");
  const img = decodeImage(bytes, { limits });
  assert.equal(img.format, "PNG");
  assert.equal(img.width, 256);
  assert.equal(img.height, 256);
  assert.equal(img.bitsStored, 8);
  assert.equal(img.photometric, "MONOCHROME2");
  // Compare with an independent decode of the raw scanlines (all rows use some filter: use pngjs's RGBA output).
  const { PNG } = require("pngjs") as typeof import("pngjs");
  const ref = PNG.sync.read(bytes);
  for (let i = 0; i < 256 * 256; i += 97) assert.equal(img.pixels[i], ref.data[i * 4]);
});

test("16-bit grayscale PNG gives the full-range plane and an 8-bit display by v*255/65535", () => {
  const samples = [0, 257, 4095, 32768, 65535, 1000];
  const img = decodeImage(makePng({ width: 3, height: 2, bitDepth: 16, colorType: 0, samples }), { limits });
  assert.equal(img.bitsStored, 16);
  assert.deepEqual([...img.pixels16!], samples);
  assert.deepEqual(
    [...img.pixels],
    samples.map((v) => Math.round((v * 255) / 65535)),
  );
});

test("RGB, RGBA, palette and gray+alpha PNGs become 0.299R+0.587G+0.114B gray", () => {
  const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
  const luma = (r: number, g: number, b: number): number => Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  const expected = [luma(255, 0, 0), luma(0, 255, 0), luma(0, 0, 255), luma(10, 20, 30)];
  const a = decodeImage(makePng({ width: 2, height: 2, bitDepth: 8, colorType: 2, samples: rgb }), { limits });
  assert.equal(a.photometric, "RGB");
  assert.deepEqual([...a.pixels], expected);
  const rgba = rgb.flatMap((v, i) => (i % 3 === 2 ? [v, 128] : [v]));
  const b = decodeImage(makePng({ width: 2, height: 2, bitDepth: 8, colorType: 6, samples: rgba }), { limits });
  assert.deepEqual([...b.pixels], expected);
  assert.ok(b.warnings.includes("alpha channel ignored"));
  const palette = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [10, 20, 30],
  ];
  const c = decodeImage(makePng({ width: 2, height: 2, bitDepth: 8, colorType: 3, samples: [0, 1, 2, 3], palette }), { limits });
  assert.equal(c.photometric, "PALETTE COLOR");
  assert.deepEqual([...c.pixels], expected);
  const d = decodeImage(makePng({ width: 2, height: 1, bitDepth: 8, colorType: 4, samples: [7, 255, 200, 0] }), { limits });
  assert.deepEqual([...d.pixels], [7, 200]);
  const e = decodeImage(makePng({ width: 1, height: 1, bitDepth: 16, colorType: 2, samples: [65535, 0, 0] }), { limits });
  assert.deepEqual([...e.pixels16!], [Math.round(0.299 * 65535)]);
});

test("real RGBA NIH PNG decodes to the same gray as its channels", () => {
  const img = decodeImage(fixture("nih_00005224_000_rgba_256.png"), { limits });
  assert.equal(img.photometric, "RGB");
  const { PNG } = require("pngjs") as typeof import("pngjs");
  const ref = PNG.sync.read(fixture("nih_00005224_000_rgba_256.png"));
  for (let i = 0; i < 256 * 256; i += 101) {
    const [r, g, b] = [ref.data[i * 4]!, ref.data[i * 4 + 1]!, ref.data[i * 4 + 2]!];
    assert.equal(img.pixels[i], Math.round(0.299 * r + 0.587 * g + 0.114 * b));
  }
});

test("grayscale and colour baseline JPEGs decode to gray close to the source", () => {
  const src = decodeImage(fixture("nih_00000075_000_gray_256.png"), { limits }).pixels;
  const rgba = Buffer.alloc(256 * 256 * 4);
  for (let i = 0; i < src.length; i++) rgba.fill(src[i]!, i * 4, i * 4 + 3), (rgba[i * 4 + 3] = 255);
  const encoded = jpeg.encode({ width: 256, height: 256, data: rgba }, 95).data;
  const img = decodeImage(encoded, { limits });
  assert.equal(img.format, "JPEG");
  assert.equal(img.width, 256);
  assert.equal(img.bitsStored, 8);
  let err = 0;
  for (let i = 0; i < src.length; i++) err += Math.abs(img.pixels[i]! - src[i]!);
  assert.ok(err / src.length < 3, `mean abs error ${err / src.length}`);
});

test("a PNG whose IDAT bytes were flipped is CORRUPT_IMAGE (CRC), and so is one with a valid CRC but broken zlib", () => {
  const png = fixture("nih_00000075_000_gray_256.png");
  const at = findChunk(png, "IDAT");
  const flipped = Buffer.from(png);
  for (let i = at + 8 + 100; i < at + 8 + 140; i++) flipped[i] = flipped[i]! ^ 0xff;
  expectCode(() => decodeImage(flipped, { limits }), "CORRUPT_IMAGE", /CRC mismatch in the IDAT/);

  // Same damage with the chunk CRC recomputed: now zlib must notice.
  const len = png.readUInt32BE(at);
  const data = Buffer.from(flipped.subarray(at + 8, at + 8 + len));
  const rebuilt = Buffer.concat([png.subarray(0, at), pngChunk("IDAT", data), png.subarray(at + 12 + len)]);
  expectCode(() => decodeImage(rebuilt, { limits }), "CORRUPT_IMAGE", /compressed image data is invalid|inflates to/);
});

test("a truncated PNG is CORRUPT_IMAGE", () => {
  const png = fixture("nih_00000075_000_gray_256.png");
  expectCode(() => decodeImage(png.subarray(0, png.length - 5000), { limits }), "CORRUPT_IMAGE", /truncated/);
  expectCode(() => decodeImage(png.subarray(0, 20), { limits }), "CORRUPT_IMAGE");
});

test("a tiny PNG whose IHDR claims 100000x100000 (valid CRC) is refused from the header, fast", () => {
  const bomb = Buffer.concat([
    PNG_SIGNATURE,
    ihdr(100000, 100000, 8, 0),
    pngChunk("IDAT", zlib.deflateSync(Buffer.alloc(1000))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
  assert.ok(bomb.length < 200);
  const t0 = performance.now();
  expectCode(() => decodeImage(bomb, { limits }), "DIMENSIONS_TOO_LARGE", /100000×100000/);
  assert.ok(performance.now() - t0 < 50, "refused without decoding");
  // Within the side limits but over the pixel-count limit
  expectCode(
    () => decodeImage(Buffer.concat([PNG_SIGNATURE, ihdr(8000, 8000, 8, 0), pngChunk("IEND", Buffer.alloc(0))]), { limits }),
    "DIMENSIONS_TOO_LARGE",
  );
});

test("a PNG whose data inflates to more than its IHDR declares is refused", () => {
  // Declares 16x16 gray (272 filtered bytes) but carries 10 MB of zeros.
  const bomb = Buffer.concat([
    PNG_SIGNATURE,
    ihdr(16, 16, 8, 0),
    pngChunk("IDAT", zlib.deflateSync(Buffer.alloc(10_000_000))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
  expectCode(() => decodeImage(bomb, { limits }), "CORRUPT_IMAGE", /more than/);
});

test("zero dimensions are INVALID_DIMENSIONS", () => {
  const zero = Buffer.concat([PNG_SIGNATURE, ihdr(0, 10, 8, 0), pngChunk("IEND", Buffer.alloc(0))]);
  expectCode(() => decodeImage(zero, { limits }), "INVALID_DIMENSIONS");
});

test("a truncated JPEG and a lossless (SOF3) JPEG are refused with their reasons", () => {
  const rgba = Buffer.alloc(64 * 64 * 4, 128);
  const encoded = jpeg.encode({ width: 64, height: 64, data: rgba }, 90).data;
  expectCode(() => decodeImage(encoded.subarray(0, encoded.length - 200), { limits }), "CORRUPT_IMAGE", /truncated/);
  const sof3 = Buffer.from(encoded);
  const at = sof3.indexOf(Buffer.from([0xff, 0xc0]));
  sof3[at + 1] = 0xc3;
  expectCode(() => decodeImage(sof3, { limits }), "UNSUPPORTED_PIXEL_FORMAT", /lossless/);
});

test("a JPEG whose SOF declares 60000x60000 is refused before decoding", () => {
  const encoded = Buffer.from(jpeg.encode({ width: 8, height: 8, data: Buffer.alloc(256, 0) }, 90).data);
  const at = encoded.indexOf(Buffer.from([0xff, 0xc0]));
  encoded.writeUInt16BE(60000, at + 5);
  encoded.writeUInt16BE(60000, at + 7);
  expectCode(() => decodeImage(encoded, { limits }), "DIMENSIONS_TOO_LARGE");
});

test("a tRNS colour key does not change gray values (alpha is ignored)", () => {
  const plain = makePng({ width: 3, height: 1, bitDepth: 8, colorType: 0, samples: [10, 50, 90] });
  const idat = findChunk(plain, "IDAT");
  // tRNS sits before IDAT; gray value 50 is the transparent key.
  const ordered = Buffer.concat([plain.subarray(0, idat), pngChunk("tRNS", Buffer.from([0, 50])), plain.subarray(idat)]);
  const img = decodeImage(ordered, { limits });
  assert.deepEqual([...img.pixels], [10, 50, 90]);
  assert.ok(img.warnings.includes("alpha channel ignored"));
});
