import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connectedComponents, extentBox, heatmapToBoxes } from "../../workers/analysis/src/inference/heatmap.ts";
import { computeLetterbox } from "../../workers/analysis/src/inference/preprocess.ts";

/** A grid from rows of digits: '0'..'9' → 0.0..0.9. */
const grid = (...rows: string[]) =>
  rows
    .join("")
    .split("")
    .map((c) => Number(c) / 10);

describe("heatmap → boxes", () => {
  // 4x4 grid on a 64 px model square (16 px cells) for a 64x64 image: identity mapping.
  const square = computeLetterbox(64, 64, 64);

  it("finds one box per 8-connected component, best score first", () => {
    const h = grid(
      "9000",
      "0600", // diagonal neighbour of (0,0): same component
      "0000",
      "0007",
    );
    const boxes = heatmapToBoxes(h, 4, square, { threshold: 0.5, minAreaFrac: 0 });
    assert.equal(boxes.length, 2);
    assert.deepEqual(boxes[0]!.box, [0, 0, 32, 32]);
    assert.deepEqual(boxes[0]!.cells, [0, 0, 2, 2]);
    assert.ok(Math.abs(boxes[0]!.score - 0.9) < 1e-12);
    assert.ok(Math.abs(boxes[0]!.meanScore - 0.75) < 1e-12);
    assert.deepEqual(boxes[1]!.box, [48, 48, 64, 64]);
    assert.ok(Math.abs(boxes[1]!.areaFrac - 1 / 16) < 1e-12);
  });

  it("returns no box when nothing reaches the threshold, and includes cells equal to it", () => {
    assert.deepEqual(heatmapToBoxes(grid("1111", "1111", "1111", "1114"), 4, square, { threshold: 0.5, minAreaFrac: 0 }), []);
    assert.equal(heatmapToBoxes(grid("5000", "0000", "0000", "0000"), 4, square, { threshold: 0.5, minAreaFrac: 0 }).length, 1);
  });

  it("drops boxes below the minimum area fraction and caps the count", () => {
    const h = grid("9090", "0000", "9999", "9999");
    assert.equal(heatmapToBoxes(h, 4, square, { threshold: 0.5, minAreaFrac: 0.1 }).length, 1); // single cells are 1/16 < 0.1
    assert.equal(heatmapToBoxes(h, 4, square, { threshold: 0.5, minAreaFrac: 0, maxBoxes: 2 }).length, 2);
  });

  it("maps cells back through the letterbox into original pixels, clipped to the image", () => {
    // 200 wide x 100 high → square side 200, pad_y = 50, scale 64/200.
    const lb = computeLetterbox(200, 100, 64);
    // Top row of cells is entirely padding: its box has no area in the image and is dropped.
    assert.deepEqual(heatmapToBoxes(grid("9999", "0000", "0000", "0000"), 4, lb, { threshold: 0.5, minAreaFrac: 0 }), []);
    // Row 1 covers model y 16..32 → square y 50..100 → image y 0..50; col 3 covers x 150..200.
    const [b] = heatmapToBoxes(grid("0000", "0009", "0000", "0000"), 4, lb, { threshold: 0.5, minAreaFrac: 0 });
    assert.deepEqual(b!.box, [150, 0, 200, 50]);
    assert.ok(Math.abs(b!.areaFrac - (50 * 50) / (200 * 100)) < 1e-12);
    // A cell straddling the image edge is clipped (row 3: square y 150..200 → image y 100..150 → off the image).
    const [c] = heatmapToBoxes(grid("0000", "0000", "9000", "9000"), 4, lb, { threshold: 0.5, minAreaFrac: 0 });
    assert.deepEqual(c!.box, [0, 50, 50, 100]);
  });

  it("the extent box surrounds every cell over the threshold (the rule the metrics use)", () => {
    const h = grid("9000", "0000", "0000", "0007");
    assert.deepEqual(extentBox(h, 4, square, 0.5), [0, 0, 64, 64]);
    assert.equal(extentBox(h, 4, square, 0.95), null);
  });

  it("labels components without recursion on a large grid", () => {
    const n = 200;
    const comps = connectedComponents(new Float32Array(n * n).fill(1), n, 0.5);
    assert.equal(comps.length, 1);
    assert.equal(comps[0]!.length, n * n);
  });
});
