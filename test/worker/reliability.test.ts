// The reliability assessment of one image (docs/contracts/model-bundle.md, "Format version 2"):
// level, score and reasons from the input_check outputs and the blank check, and version-1 bundles.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseManifest } from "../../workers/analysis/src/bundle/manifest.ts";
import { assessReliability, pixelStd, UNKNOWN_SCORE } from "../../workers/analysis/src/inference/reliability.ts";
import { validManifest, validManifestV2 } from "./manifests.ts";

const v2 = parseManifest(validManifestV2()); // frontal 0.5, ood caution 1.6 / abstain 3.0, blank 0.02
const measure = (frontal: number, ood: number, std = 0.2) =>
  assessReliability(v2, { pixelStd: std, frontalProbability: frontal, oodDistance: ood });
const codes = (r: { reasons: { code: string }[] }) => r.reasons.map((x) => x.code);

describe("reliability level, score and reasons", () => {
  it("OK for a frontal film in distribution, scored by the frontal probability", () => {
    const r = measure(0.97, 1.2);
    assert.equal(r.level, "OK");
    assert.deepEqual(r.reasons, []);
    assert.equal(r.score, 0.97);
    assert.equal(r.frontalProbability, 0.97);
    assert.equal(r.oodDistance, 1.2);
  });

  it("CAUTION from the caution distance on, with the score lowered by exp(-(distance - caution))", () => {
    const r = measure(0.9, 2.1);
    assert.equal(r.level, "CAUTION");
    assert.deepEqual(codes(r), ["OUT_OF_DISTRIBUTION"]);
    assert.ok(Math.abs(r.score - 0.9 * Math.exp(-0.5)) < 1e-12);
    assert.match(r.reasons[0]!.message, /distance 2\.10/);
    assert.equal(measure(0.9, 1.6).level, "CAUTION", "the caution threshold itself is caution");
  });

  it("ABSTAIN from the abstain distance on, below the frontal threshold, and for a blank image", () => {
    assert.deepEqual([measure(0.9, 3.0).level, codes(measure(0.9, 3.0))], ["ABSTAIN", ["OUT_OF_DISTRIBUTION"]]);
    assert.deepEqual([measure(0.2, 1.0).level, codes(measure(0.2, 1.0))], ["ABSTAIN", ["NOT_FRONTAL_CXR"]]);
    const blank = measure(0.9, 1.0, 0.001);
    assert.deepEqual([blank.level, codes(blank)], ["ABSTAIN", ["BLANK_IMAGE"]]);
    assert.match(blank.reasons[0]!.message, /blank/);
  });

  it("lists every reason that applies, the worst deciding the level", () => {
    const r = measure(0.1, 2.0, 0.0);
    assert.equal(r.level, "ABSTAIN");
    assert.deepEqual(codes(r), ["BLANK_IMAGE", "NOT_FRONTAL_CXR", "OUT_OF_DISTRIBUTION"]);
    assert.ok(r.score >= 0 && r.score <= 1);
  });

  it("a version-1 bundle is CAUTION with NO_RELIABILITY_MODEL, plus SYNTHETIC_ONLY_MODEL when trained on synthetic images", () => {
    const synthetic = assessReliability(parseManifest(validManifest()), { pixelStd: 0.2, frontalProbability: null, oodDistance: null });
    assert.equal(synthetic.level, "CAUTION");
    assert.deepEqual(codes(synthetic), ["NO_RELIABILITY_MODEL", "SYNTHETIC_ONLY_MODEL"]);
    assert.equal(synthetic.score, UNKNOWN_SCORE);
    assert.equal(synthetic.frontalProbability, null);
    const real = validManifest();
    real.trained_on = "real";
    assert.deepEqual(codes(assessReliability(parseManifest(real), { pixelStd: 0.2, frontalProbability: null, oodDistance: null })), [
      "NO_RELIABILITY_MODEL",
    ]);
  });

  it("a version-2 model trained on synthetic images still says so", () => {
    const m = validManifestV2();
    m.trained_on = "synthetic";
    const r = assessReliability(parseManifest(m), { pixelStd: 0.2, frontalProbability: 0.95, oodDistance: 0.5 });
    assert.deepEqual([r.level, codes(r)], ["CAUTION", ["SYNTHETIC_ONLY_MODEL"]]);
  });
});

describe("blank check", () => {
  it("is the population std of the model input in [0,1] pixel units (normalisation undone)", () => {
    // normalised values -2, 2 with std 0.25: pixels 0 and 1 around mean 0.5, std 0.5
    assert.equal(pixelStd(Float32Array.from([-2, 2, -2, 2]), 0.25), 0.5);
    assert.equal(pixelStd(new Float32Array(16).fill(1.3), 0.25), 0);
  });
});
