// Calibrated and derived probabilities (docs/contracts/model-bundle.md, "Format version 2"): the Platt
// arithmetic with its clamp, the cardiothoracic ratio of the region head's boxes, and which one wins.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseManifest } from "../../workers/analysis/src/bundle/manifest.ts";
import {
  cardiothoracicRatio,
  finalProbabilities,
  logit,
  P_CLAMP,
  platt,
  sigmoid,
} from "../../workers/analysis/src/inference/calibration.ts";
import { validManifest, validManifestV2 } from "./manifests.ts";

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);
// regions of the hand-made manifests: right lung, left lung, cardiac silhouette (normalized xyxy each)
const boxes = (heart: [number, number], right: [number, number], left: [number, number]) =>
  Float32Array.from([right[0], 0.1, right[1], 0.9, left[0], 0.1, left[1], 0.9, heart[0], 0.4, heart[1], 0.8]);

describe("Platt calibration", () => {
  it("is sigmoid(a * logit(p) + b), and the identity for a = 1, b = 0", () => {
    close(platt(0.3, 0.8, -0.3), 1 / (1 + Math.exp(-(0.8 * Math.log(0.3 / 0.7) - 0.3))));
    for (const p of [0.01, 0.2, 0.5, 0.93]) close(platt(p, 1, 0), p, 1e-12);
    close(sigmoid(0), 0.5);
  });

  it("clamps p to [1e-6, 1 - 1e-6] so a saturated head stays finite", () => {
    close(logit(0), Math.log(P_CLAMP / (1 - P_CLAMP)));
    close(logit(1), -logit(0), 1e-9);
    assert.ok(Number.isFinite(platt(0, 2, 1)) && Number.isFinite(platt(1, 2, 1)));
    close(platt(0, 1, 0), P_CLAMP, 1e-15);
    close(platt(1, 1, 0), 1 - P_CLAMP, 1e-12);
  });
});

describe("cardiothoracic ratio from region boxes", () => {
  const spec = { heart_region: "cardiac silhouette", thorax_regions: ["right lung", "left lung"] };
  const regions = ["right lung", "left lung", "cardiac silhouette"];

  it("is the heart box width over the width of the union of the thorax boxes", () => {
    // thorax spans 0.1..0.9 (0.8 wide), heart 0.3..0.7 (0.4 wide): CTR 0.5
    close(cardiothoracicRatio(boxes([0.3, 0.7], [0.1, 0.45], [0.55, 0.9]), regions, spec)!, 0.5, 1e-6);
    // the union, not the sum: overlapping lung boxes do not widen the thorax
    close(cardiothoracicRatio(boxes([0.3, 0.6], [0.2, 0.7], [0.4, 0.8]), regions, spec)!, 0.5, 1e-6);
  });

  it("gives no ratio for a thorax without width or an unknown region", () => {
    assert.equal(cardiothoracicRatio(boxes([0.3, 0.7], [0.5, 0.5], [0.5, 0.5]), regions, spec), null);
    assert.equal(cardiothoracicRatio(boxes([0.3, 0.7], [0.1, 0.4], [0.6, 0.9]), regions, { ...spec, heart_region: "heart" }), null);
  });
});

describe("final probabilities per label", () => {
  const raw = Float32Array.from([0.6, 0.2, 0.3]); // No Finding, Cardiomegaly, Pleural Effusion

  it("calibrates the labels the manifest calibrates, derives Cardiomegaly from the CTR, leaves the rest as the head gives them", () => {
    const m = parseManifest(validManifestV2());
    const out = finalProbabilities(m, raw, boxes([0.3, 0.7], [0.1, 0.45], [0.55, 0.9]));
    assert.deepEqual(
      out.map((f) => f.source),
      ["head", "derived", "calibrated"],
    );
    close(out[0]!.probability, raw[0]!);
    // derived: sigmoid(25 * 0.5 - 12.5) = 0.5, replacing the head's 0.2 (no calibration on top)
    close(out[1]!.probability, 0.5, 1e-5);
    close(out[1]!.ctr!, 0.5, 1e-6);
    close(out[2]!.probability, platt(raw[2]!, 0.8, -0.3));
    assert.deepEqual(
      out.map((f) => f.raw),
      Array.from(raw),
    );
  });

  it("adds head_weight * logit(head) to the ratio's term when the manifest fitted one on real films", () => {
    const base = validManifestV2();
    const derived = (base.derived as Record<string, Record<string, unknown>>).Cardiomegaly!;
    const m = parseManifest({ ...base, derived: { Cardiomegaly: { ...derived, head_weight: 0.7 } } });
    const out = finalProbabilities(m, raw, boxes([0.3, 0.7], [0.1, 0.45], [0.55, 0.9]));
    close(out[1]!.probability, sigmoid(25 * out[1]!.ctr! - 12.5 + 0.7 * logit(raw[1]!)), 1e-12);
    assert.ok(out[1]!.probability < 0.5, "a head that says 0.2 pulls the ratio's 0.5 down");
    assert.throws(() => parseManifest({ ...base, derived: { Cardiomegaly: { ...derived, head_weight: "x" } } }));
  });

  it("falls back to the head when the anatomy cannot be measured", () => {
    const m = parseManifest(validManifestV2());
    const out = finalProbabilities(m, raw, boxes([0.3, 0.7], [0.5, 0.5], [0.5, 0.5]));
    assert.equal(out[1]!.source, "head");
    close(out[1]!.probability, raw[1]!);
  });

  it("is the head output for a version-1 manifest", () => {
    const out = finalProbabilities(parseManifest(validManifest()), raw, null);
    assert.deepEqual(
      out.map((f) => [f.probability, f.source]),
      Array.from(raw, (p) => [p, "head"]),
    );
  });
});
