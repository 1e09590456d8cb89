// Region boxes from the anatomy masks (inference/anatomy-boxes.ts), on the cases the Python rule is
// tested with (training/tests/test_anatomy_boxes.py): the same grids must give the same boxes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { anatomyBoxPlan, maskGridBox, refineRegionBoxes } from "../../workers/analysis/src/inference/anatomy-boxes.ts";

const grid = (g: number, cells: [number, number, number][]) => {
  const p = new Float32Array(g * g);
  for (const [y, x, v] of cells) p[y * g + x] = v;
  return p;
};

describe("anatomy mask boxes", () => {
  it("a stray blob does not widen the box, and cells touching only at a corner are not connected", () => {
    const cells: [number, number, number][] = [];
    for (let y = 2; y < 6; y++) for (let x = 1; x < 4; x++) cells.push([y, x, 0.9]);
    cells.push([0, 7, 0.8], [6, 4, 0.7]);
    assert.deepEqual(maskGridBox(grid(8, cells), 0, 8, 0.5), [1 / 8, 2 / 8, 4 / 8, 6 / 8]);
    assert.equal(maskGridBox(new Float32Array(16).fill(0.49), 0, 4, 0.5), null);
  });

  it("of two equal components the one met first in row-major order wins", () => {
    const p = grid(4, [
      [3, 0, 1],
      [3, 1, 1],
      [0, 2, 1],
      [0, 3, 1],
    ]);
    assert.deepEqual(maskGridBox(p, 0, 4, 0.5), [0.5, 0, 1, 0.25]);
  });

  it("replaces only the listed regions, reads each image's own masks, and keeps the head's box where a mask is empty", () => {
    const regions = ["right lung", "left lung", "cardiac silhouette", "trachea"];
    const plan = anatomyBoxPlan(
      { regions: ["right lung", "cardiac silhouette"], threshold: 0.5, method: "largest_component_4" },
      ["right lung", "left lung", "cardiac silhouette"],
      regions,
      4,
    );
    const head = [0.1, 0.2, 0.3, 0.4];
    const boxes = Float32Array.from({ length: 2 * regions.length * 4 }, (_, i) => head[i % 4]!);
    const masks = new Float32Array(2 * 3 * 16);
    for (const [y, x] of [
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
    ])
      masks[y! * 4 + x!] = 1; // image 0, right lung
    masks.fill(1, 16, 32); // image 0, left lung: not listed
    for (let i = 0; i < 2; i++) {
      refineRegionBoxes(boxes.subarray(i * 16, (i + 1) * 16), masks, i * 48, plan);
    }
    assert.deepEqual([...boxes.subarray(0, 4)], [0, 0.25, 0.5, 0.75]);
    const close = (a: Float32Array) => [...a].every((v, i) => Math.abs(v - head[i]!) < 1e-6);
    assert.ok(close(boxes.subarray(4, 8)), "left lung is not listed");
    assert.ok(close(boxes.subarray(8, 12)), "empty heart mask keeps the head's box");
    assert.ok(close(boxes.subarray(16, 20)), "image 1 has no masks");
  });
});
