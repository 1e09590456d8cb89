// anatomy_boxes through the engine, on the test bundle's real anatomy graph (random init): the lungs' and
// heart's reported boxes are the extents of their masks, recomputed here from the anatomy graph's own
// output; the other regions keep the region head's boxes; without the section nothing changes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { maskGridBox } from "../../workers/analysis/src/inference/anatomy-boxes.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";
import { bundleDir, goldenImage, readGolden } from "./golden-bundle.ts";
import { ANATOMY_BOXES, makeV2Bundle } from "./v2-bundle.ts";

const src = bundleDir();
const golden = readGolden(src);
const hasAnatomy = Boolean((JSON.parse(readFileSync(path.join(src, "manifest.json"), "utf8")) as { anatomy?: unknown }).anatomy);

describe("engine with anatomy_boxes", { skip: !hasAnatomy && `bundle ${src} has no anatomy graph` }, () => {
  let plain: Bundle;
  let measured: Bundle;
  let plainEngine: Engine;
  let engine: Engine;
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    const [a, b] = await Promise.all([makeV2Bundle(src), makeV2Bundle(src, { anatomyBoxes: true })]);
    cleanups.push(a.cleanup, b.cleanup);
    [plain, measured] = await Promise.all([loadBundle(a.dir, { runIn: "main" }), loadBundle(b.dir, { runIn: "main" })]);
    plainEngine = createEngine(plain);
    engine = createEngine(measured, { batch: { maxBatch: 4, maxWaitMs: 10 } });
  });
  after(async () => {
    await Promise.all([plainEngine?.close(), engine?.close()]);
    await Promise.all([plain?.release(), measured?.release()]);
    await Promise.all(cleanups.map((c) => c()));
  });

  it("loads the anatomy graph only when anatomy_boxes asks for it", () => {
    assert.ok(measured.sessions.anatomy_head);
    assert.equal(plain.sessions.anatomy_head, undefined);
  });

  it("reports the listed regions' boxes from their masks and leaves every other region as the head gave it", async () => {
    const m = measured.manifest;
    const g = m.anatomy!.grid;
    let replaced = 0;
    // all golden cases in one batch: each image must read its own masks
    const cases = golden.preprocess.map((p, c) => ({ c, image: goldenImage(src, p.image) }));
    const encs = await Promise.all(cases.map(({ c, image }) => engine.encode({ key: `ab-${c}`, image })));
    for (const [i, { c, image }] of cases.entries()) {
      const head = (await plainEngine.encode({ key: `plain-${c}`, image })).features.region_boxes!.data;
      const enc = encs[i]!;
      const masks = (await measured.sessions.anatomy_head!.run({ patch_tokens: { type: "float32", ...enc.features.patch_tokens! } }))
        .anatomy_masks!.data as Float32Array;
      const got = enc.features.region_boxes!.data;
      m.regions.forEach((region, r) => {
        const a = ANATOMY_BOXES.regions.includes(region) ? m.anatomy!.regions.indexOf(region) : -1;
        const box = a >= 0 ? maskGridBox(masks, a * g * g, g, ANATOMY_BOXES.threshold) : null;
        const expected = box ?? [...head.subarray(r * 4, r * 4 + 4)];
        if (box) replaced += 1;
        const diff = Math.max(...expected.map((v, j) => Math.abs(v - got[r * 4 + j]!)));
        assert.ok(diff <= 1e-6, `case ${c} ${region}: ${[...got.subarray(r * 4, r * 4 + 4)]} != ${expected}`);
      });
    }
    assert.ok(replaced > 0, "at least one mask reached the threshold (else the test proves nothing)");
  });
});
