// The viewer's pure maths: letterboxed heatmap placement, zoom about the cursor, window/level LUT.
import { test } from "node:test";
import assert from "node:assert/strict";
import { heatmapPixels, heatmapRect, viewTransform, windowLut, zoomAround } from "../../services/console/src/viewer/geometry.ts";

test("a heatmap covers the centred square whose side is the long side of a portrait image", () => {
  assert.deepEqual(heatmapRect(600, 1000), { x: -200, y: 0, size: 1000 });
});

test("a heatmap covers the centred square whose side is the long side of a landscape image", () => {
  assert.deepEqual(heatmapRect(1200, 900), { x: 0, y: -150, size: 1200 });
});

test("a square image needs no letterbox offset", () => {
  assert.deepEqual(heatmapRect(512, 512), { x: 0, y: 0, size: 512 });
});

test("the view transform fits the image and centres it", () => {
  const t = viewTransform(800, 400, 1000, 1000, 1, 0, 0);
  assert.equal(t.scale, 0.4);
  assert.equal(t.tx, 200);
  assert.equal(t.ty, 0);
});

test("zooming keeps the image point under the cursor in place", () => {
  const before = viewTransform(800, 600, 1000, 800, 1, 10, -5);
  const mx = 300,
    my = 250;
  const ix = (mx - before.tx) / before.scale,
    iy = (my - before.ty) / before.scale;
  const pan = zoomAround(800, 600, 1000, 800, 1, 10, -5, 2.5, mx, my);
  const after = viewTransform(800, 600, 1000, 800, 2.5, pan.panX, pan.panY);
  assert.ok(Math.abs(ix * after.scale + after.tx - mx) < 1e-9);
  assert.ok(Math.abs(iy * after.scale + after.ty - my) < 1e-9);
});

test("the default window (level 128, width 256) leaves display values unchanged", () => {
  const lut = windowLut(128, 256);
  for (const v of [0, 1, 64, 128, 200, 255]) assert.equal(lut[v], v);
});

test("a narrow window saturates values outside it", () => {
  const lut = windowLut(100, 20);
  assert.equal(lut[80], 0);
  assert.equal(lut[89], 0);
  assert.equal(lut[110], 255);
  assert.equal(lut[255], 255);
  assert.ok((lut[100] as number) > 100 && (lut[100] as number) < 155);
});

test("heatmap pixels are most opaque and reddest where the probability is high", () => {
  const { data, max } = heatmapPixels([0, 0.2, 0.95, 0.4], 2, 2);
  assert.equal(max, 0.95);
  assert.ok((data[2 * 4 + 3] as number) > (data[1 * 4 + 3] as number));
  assert.ok((data[2 * 4] as number) > (data[2 * 4 + 2] as number), "a high probability is red, not blue");
});

test("a flat low heatmap stays blue and faint instead of being stretched to red", () => {
  const { data } = heatmapPixels([0.13, 0.13, 0.12, 0.13], 2, 2);
  for (let i = 0; i < 4; i++) {
    assert.ok((data[i * 4 + 2] as number) > (data[i * 4] as number), "blue dominates");
    assert.ok((data[i * 4 + 3] as number) < 80, "mostly transparent");
  }
});

test("a heatmap whose size does not match its grid is refused", () => {
  assert.throws(() => heatmapPixels([0, 1, 2], 2, 2), /3 values for a 2×2 grid/);
});
