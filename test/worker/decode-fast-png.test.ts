// The native-zlib fast path for 8-bit gray PNGs must give exactly the pixels of the general (pngjs) decoder,
// and must step aside for every other PNG.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { PNG } from "pngjs";
import { InferenceError } from "../../workers/analysis/src/bundle/errors.ts";
import { decodePng, decodePngGeneral } from "../../workers/analysis/src/inference/decode.ts";
import { decodeGray8Png } from "../../workers/analysis/src/inference/fast-png.ts";
import type { GrayImage } from "../../workers/analysis/src/inference/preprocess.ts";
import { bundleDir } from "./golden-bundle.ts";

const LIMIT = 50_000_000;

function assertSamePixels(a: GrayImage, b: GrayImage, what: string) {
  assert.equal(a.width, b.width, `${what}: width`);
  assert.equal(a.height, b.height, `${what}: height`);
  assert.equal(a.maxValue, b.maxValue, `${what}: maxValue`);
  assert.equal(a.data.constructor, b.data.constructor, `${what}: sample type`);
  assert.equal(a.data.length, b.data.length, `${what}: length`);
  for (let i = 0; i < a.data.length; i++)
    if (a.data[i] !== b.data[i]) assert.fail(`${what}: pixel ${i} differs (${a.data[i]} vs ${b.data[i]})`);
}

/** A gray PNG written by pngjs with one filter type (0-4) or adaptive (-1), from an RGBA buffer. */
function grayPng(width: number, height: number, filterType: number, bitDepth: 8 | 16 = 8, colorType: 0 | 6 = 0): Buffer {
  const png = new PNG({ width, height, colorType, bitDepth, inputColorType: 6, inputHasAlpha: true, filterType } as ConstructorParameters<
    typeof PNG
  >[0]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      const v = (x * 7 + y * 13 + ((x * y) % 31)) & 0xff;
      png.data[i] = v;
      png.data[i + 1] = colorType === 6 ? (v * 3) & 0xff : v;
      png.data[i + 2] = colorType === 6 ? (255 - v) & 0xff : v;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true, filterType } as Parameters<
    typeof PNG.sync.write
  >[1]);
}

describe("fast 8-bit gray PNG decoding (native zlib) against the general decoder", () => {
  const goldenDir = path.join(bundleDir(), "golden", "images");
  for (const name of readdirSync(goldenDir).filter((f) => f.endsWith(".png"))) {
    it(`golden ${name}: identical pixels through decodePng and pngjs`, () => {
      const bytes = readFileSync(path.join(goldenDir, name));
      const general = decodePngGeneral(bytes);
      assertSamePixels(decodePng(bytes), general, name);
      // the 8-bit golden images take the fast path; the 16-bit one falls back
      assert.equal(decodeGray8Png(bytes, LIMIT) !== null, general.maxValue === 255, `${name}: fast path taken iff 8-bit gray`);
    });
  }

  it("real radiographs from ../shared/data: identical pixels, fast path taken", (t) => {
    const dir = path.resolve("..", "shared", "data", "classification_nih14", "images");
    const files = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith(".png"))
          .slice(0, 3)
      : [];
    if (files.length === 0) return t.skip("no real samples on this machine");
    for (const f of files) {
      const bytes = readFileSync(path.join(dir, f));
      const fast = decodeGray8Png(bytes, LIMIT);
      if (!fast) continue; // not 8-bit gray: covered by the fallback cases
      assertSamePixels(fast, decodePngGeneral(bytes), f);
    }
  });

  for (const filterType of [0, 1, 2, 3, 4, -1]) {
    it(`8-bit gray written with filter ${filterType === -1 ? "adaptive" : filterType}: identical pixels`, () => {
      const bytes = grayPng(37, 23, filterType);
      const fast = decodeGray8Png(bytes, LIMIT);
      assert.ok(fast, "fast path taken");
      assertSamePixels(fast, decodePngGeneral(bytes), `filter ${filterType}`);
    });
  }

  it("RGBA and 16-bit gray PNGs fall back to the general decoder with the same result", () => {
    for (const [what, bytes] of [
      ["rgba 8-bit", grayPng(19, 11, -1, 8, 6)],
      ["gray 16-bit", grayPng(19, 11, -1, 16, 0)],
    ] as const) {
      assert.equal(decodeGray8Png(bytes, LIMIT), null, `${what}: no fast path`);
      assertSamePixels(decodePng(bytes), decodePngGeneral(bytes), what);
    }
  });

  it("a truncated or corrupted 8-bit gray PNG is IMAGE_INVALID, as before", () => {
    const bytes = grayPng(64, 64, 4);
    const truncated = bytes.subarray(0, bytes.length - 40);
    assert.throws(
      () => decodePng(truncated),
      (e: unknown) => e instanceof InferenceError && e.code === "IMAGE_INVALID",
    );
    const corrupted = Buffer.from(bytes);
    for (let i = 60; i < 90; i++) corrupted[i] = 0x55;
    assert.throws(
      () => decodePng(corrupted),
      (e: unknown) => e instanceof InferenceError && e.code === "IMAGE_INVALID",
    );
  });

  it("the pixel limit applies on the fast path too", () => {
    const bytes = grayPng(40, 40, 0);
    assert.throws(
      () => decodePng(bytes, { maxPixels: 100 }),
      (e: unknown) => e instanceof InferenceError && e.code === "IMAGE_INVALID",
    );
  });
});
