import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PNG } from "pngjs";
import { InferenceError } from "../../workers/analysis/src/bundle/errors.ts";
import { parseManifest } from "../../workers/analysis/src/bundle/manifest.ts";
import { decodeImage } from "../../workers/analysis/src/image/decode.ts";
import { areaWeights, computeLetterbox, preprocess, tensorSha256, toImagePixels } from "../../workers/analysis/src/image/preprocess.ts";
import { bundleDir, goldenImage, readGolden } from "./golden-bundle.ts";
import { readFileSync } from "node:fs";
import path from "node:path";

const PARITY = 1e-4;

describe("preprocessing parity with the Python reference (golden vectors)", () => {
  const dir = bundleDir();
  const golden = readGolden(dir);
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")));
  const cfg = manifest.preprocessing;

  it("the golden set covers a non-square, a 16-bit and an off-size image", () => {
    const cases = golden.preprocess.map((p) => ({ p, img: goldenImage(dir, p.image) }));
    assert.ok(
      cases.some(({ p }) => p.width !== p.height),
      "a non-square case",
    );
    assert.ok(
      cases.some(({ img }) => img.maxValue === 65535),
      "a 16-bit case",
    );
    assert.ok(
      cases.some(({ p }) => Math.max(p.width, p.height) !== cfg.image_size),
      "a case not at input size",
    );
  });

  for (const g of golden.preprocess) {
    it(`${g.image}: letterbox, sums and samples within ${PARITY}; sha256 of the float32 bytes identical`, () => {
      const { tensor, letterbox } = preprocess(goldenImage(dir, g.image), cfg);
      assert.equal(letterbox.width, g.width);
      assert.equal(letterbox.height, g.height);
      assert.equal(letterbox.padX, g.pad_x);
      assert.equal(letterbox.padY, g.pad_y);
      assert.ok(Math.abs(letterbox.scale - g.scale) < 1e-12, `scale ${letterbox.scale} vs ${g.scale}`);
      assert.equal(tensor.length, cfg.image_size * cfg.image_size);
      let sum = 0;
      let abs = 0;
      for (const v of tensor) {
        sum += v;
        abs += Math.abs(v);
      }
      assert.ok(Math.abs(sum - g.tensor_sum) <= PARITY * Math.max(1, Math.abs(g.tensor_sum)), `sum ${sum} vs ${g.tensor_sum}`);
      assert.ok(Math.abs(abs - g.tensor_abs_sum) <= PARITY * Math.max(1, g.tensor_abs_sum), `abs sum ${abs} vs ${g.tensor_abs_sum}`);
      g.tensor_sample.indices.forEach((idx, i) => {
        const want = g.tensor_sample.values[i]!;
        assert.ok(Math.abs(tensor[idx]! - want) <= PARITY, `element ${idx}: ${tensor[idx]} vs ${want}`);
      });
      // Same float64 arithmetic, same order: the float32 tensor is expected to be bit-identical.
      assert.equal(tensorSha256(tensor), g.tensor_sha256);
    });
  }
});

describe("preprocessing rules", () => {
  const cfg = { image_size: 4, mean: 0.5, std: 0.25, pad_value: 0 };

  it("area weights of every output pixel sum to 1 and cover [i*s, (i+1)*s)", () => {
    for (const [side, size] of [
      [300, 128],
      [7, 3],
      [3, 7],
      [128, 128],
    ] as const) {
      for (const tap of areaWeights(side, size)) {
        const total = tap.weights.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(total - 1) < 1e-12, `${side}->${size}: ${total}`);
      }
    }
    // 3 -> 2: s = 1.5; output 0 covers pixel 0 fully and half of pixel 1.
    const [t0, t1] = areaWeights(3, 2);
    assert.deepEqual([t0!.first, ...t0!.weights], [0, 1 / 1.5, 0.5 / 1.5]);
    assert.deepEqual([t1!.first, ...t1!.weights], [1, 0.5 / 1.5, 1 / 1.5]);
  });

  it("letterboxes a wide image with floor(pad/2) black rows on top", () => {
    // 4x2 white image: square side 4, pad_y = 1 → rows 0 and 3 are padding.
    const img = { width: 4, height: 2, data: new Uint8Array(8).fill(255), maxValue: 255 };
    const { tensor, letterbox } = preprocess(img, cfg);
    assert.deepEqual(letterbox, { width: 4, height: 2, size: 4, scale: 1, padX: 0, padY: 1 });
    const rows = [0, 1, 2, 3].map((r) => Array.from(tensor.subarray(r * 4, r * 4 + 4)));
    assert.deepEqual(rows, [
      [-2, -2, -2, -2],
      [2, 2, 2, 2],
      [2, 2, 2, 2],
      [-2, -2, -2, -2],
    ]);
  });

  it("pads an odd amount with the extra column after the image", () => {
    const lb = computeLetterbox(3, 6, 6);
    assert.equal(lb.padX, 1);
    assert.deepEqual(toImagePixels(lb, 1, 0), [0, 0]);
    assert.deepEqual(toImagePixels(lb, 4, 6), [3, 6]);
  });

  it("averages areas when shrinking (a 2x2 checkerboard becomes its mean)", () => {
    const img = {
      width: 8,
      height: 8,
      data: new Uint8Array(64).map((_, i) => (((i % 8) + Math.floor(i / 8)) % 2 ? 255 : 0)),
      maxValue: 255,
    };
    const { tensor } = preprocess(img, cfg);
    for (const v of tensor) assert.ok(Math.abs(v - 0) < 1e-6, `expected (0.5-0.5)/0.25 = 0, got ${v}`);
  });

  it("maps 16-bit samples by /65535", () => {
    const img = { width: 4, height: 4, data: new Uint16Array(16).fill(65535), maxValue: 65535 };
    assert.ok(preprocess(img, cfg).tensor.every((v) => v === 2));
  });

  it("large 8- and 16-bit images (per-value tables, fused row sweeps) give the same bits as per-pixel division", () => {
    const cfgPad = { ...cfg, pad_value: 0.25 };
    for (const [width, height, maxValue, Ctor] of [
      [1100, 700, 255, Uint8Array],
      // tall (padding columns) and an exact multiple of the model size: the fused four-rows-per-sweep pass
      [803, 1030, 255, Uint8Array],
      [1024, 1024, 255, Uint8Array],
      [640, 520, 65535, Uint16Array],
      [700, 1000, 4095, Uint16Array],
    ] as const) {
      let seed = width * 31 + height;
      const data = new Ctor(width * height).map(() => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % (maxValue + 1);
      });
      // Float64 samples of the same values take the per-pixel division path
      const reference = { width, height, data: Float64Array.from(data), maxValue };
      for (const c of [cfg, cfgPad]) {
        const fast = preprocess({ width, height, data, maxValue }, c).tensor;
        assert.equal(
          tensorSha256(fast),
          tensorSha256(preprocess(reference, c).tensor),
          `${width}x${height} /${maxValue} pad ${c.pad_value}`,
        );
      }
    }
  });

  it("refuses an image whose data does not match its size", () => {
    assert.throws(
      () => preprocess({ width: 3, height: 3, data: new Uint8Array(8), maxValue: 255 }, cfg),
      (e: unknown) => e instanceof InferenceError && e.code === "IMAGE_INVALID",
    );
  });

  it("decodes RGB PNGs with 0.299 R + 0.587 G + 0.114 B and refuses unknown formats", () => {
    const png = new PNG({ width: 1, height: 1 });
    png.data.set([200, 100, 50, 255]);
    const img = decodeImage(PNG.sync.write(png));
    assert.ok(Math.abs(img.data[0]! - (0.299 * 200 + 0.587 * 100 + 0.114 * 50)) < 1e-9);
    assert.equal(img.maxValue, 255);
    assert.throws(() => decodeImage(new Uint8Array([1, 2, 3, 4])), /neither PGM, PNG nor JPEG/);
  });
});
