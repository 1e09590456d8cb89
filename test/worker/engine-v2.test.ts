// The engine on a version-2 bundle (calibration, derived Cardiomegaly, the input_check graph), built from
// the test bundle plus the input_check stub (v2-bundle.ts): every reported number is recomputed here from
// the version-1 engine's raw outputs and the manifest, so calibration is proven applied from the manifest.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { cardiothoracicRatio, platt, sigmoid } from "../../workers/analysis/src/inference/calibration.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";
import { assessReliability } from "../../workers/analysis/src/inference/reliability.ts";
import { blankImage } from "../../workers/analysis/src/inference/trust.ts";
import { bundleDir, goldenImage, readGolden } from "./golden-bundle.ts";
import { assertReportMarks, makeV1Bundle, makeV2Bundle, stubFrontal, stubOod, V2_SECTIONS } from "./v2-bundle.ts";

const src = bundleDir();
const golden = readGolden(src);
const img = (c: number) => goldenImage(src, golden.preprocess[c]!.image);
const near = (a: number, b: number, what: string, eps = 1e-5) => assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} != ${b}`);

describe("engine on a version-2 bundle", () => {
  let v1: Bundle;
  let v2: Bundle;
  let plain: Engine;
  let engine: Engine;
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    // both derived from the test bundle, so the test holds whichever format version that bundle is
    const [old, made] = await Promise.all([makeV1Bundle(src), makeV2Bundle(src)]);
    cleanups.push(old.cleanup, made.cleanup);
    [v1, v2] = await Promise.all([loadBundle(old.dir, { runIn: "main" }), loadBundle(made.dir)]);
    plain = createEngine(v1);
    engine = createEngine(v2, { batch: { maxBatch: 4, maxWaitMs: 10 } });
  });
  after(async () => {
    await Promise.all([plain?.close(), engine?.close()]);
    await Promise.all([v1?.release(), v2?.release()]);
    await Promise.all(cleanups.map((c) => c()));
  });

  it("loads the input_check graph and checks it like the other graphs", () => {
    assert.ok(v2.sessions.input_check, "an input_check session");
    assert.deepEqual([...v2.sessions.input_check!.outputNames].sort(), ["frontal_cxr_probability", "ood_distance"]);
    assert.equal(v1.sessions.input_check, undefined);
  });

  it("applies the manifest calibration, derives Cardiomegaly from the region boxes, and thresholds the result", async () => {
    const input = { key: "v2-case0", image: img(0) };
    const [raw, cls, enc] = await Promise.all([
      plain.classify({ key: "v1-case0", image: img(0) }),
      engine.classify(input),
      engine.encode(input),
    ]);
    const m = v2.manifest;
    const calibrated = V2_SECTIONS.calibration.labels as Record<string, { a: number; b: number }>;
    const ctr = cardiothoracicRatio(enc.features.region_boxes!.data, m.regions, V2_SECTIONS.derived.Cardiomegaly)!;
    cls.findings.forEach((f, k) => {
      const head = raw.findings[k]!.probability;
      near(f.rawProbability, head, `${f.label} raw probability is the head's`);
      const c = calibrated[f.label];
      const expected = f.label === "Cardiomegaly" ? sigmoid(25 * ctr - 12.5) : c ? platt(head, c.a, c.b) : head;
      near(f.probability, expected, `${f.label} (${f.probabilitySource})`);
      assert.equal(f.probabilitySource, f.label === "Cardiomegaly" ? "derived" : c ? "calibrated" : "head");
      assert.equal(f.positive, f.probability >= m.thresholds[f.label]!);
      assert.equal(f.validatedOnRealData, V2_SECTIONS.reliability.validated_on_real.includes(f.label));
    });
    assert.ok(
      raw.findings.every((f) => f.rawProbability === f.probability && f.probabilitySource === "head" && !f.validatedOnRealData),
      "version 1: the head as it is, nothing validated",
    );
    // localization reports the same probabilities as classification
    const loc = await engine.localize(input);
    for (const f of loc.findings)
      near(f.probability!, cls.findings.find((c) => c.label === f.label)!.probability, `localized ${f.label}`, 1e-12);
  });

  it("assesses reliability once per image from the input_check outputs, and abstains on a blank image", async () => {
    const input = { key: "v2-case1", image: img(1) };
    const pre = engine.preprocess(img(1));
    const [cls, enc] = await Promise.all([engine.classify(input), engine.encode(input)]);
    near(cls.reliability.frontalProbability!, stubFrontal(pre.tensor), "frontal probability from the graph", 1e-4);
    near(cls.reliability.oodDistance!, stubOod(enc.features.global_embedding!.data), "ood distance from the graph", 1e-4);
    assert.deepEqual(cls.reliability, assessReliability(v2.manifest, enc.input));
    assert.equal(cls.reliability.level, "OK");
    const vqa = await engine.vqa(input, "Is there a pleural effusion?");
    assert.strictEqual(vqa.reliability, cls.reliability, "one assessment shared by the tasks of an image");

    const blank = await engine.classify({
      key: "v2-black",
      image: { width: 90, height: 70, data: new Uint8Array(90 * 70), maxValue: 255 },
    });
    assert.equal(blank.reliability.level, "ABSTAIN");
    assert.deepEqual(
      blank.reliability.reasons.map((r) => r.code),
      ["BLANK_IMAGE"],
    );
    const v1Blank = await plain.classify({
      key: "v1-black",
      image: { width: 90, height: 70, data: new Uint8Array(90 * 70), maxValue: 255 },
    });
    assert.deepEqual(
      v1Blank.reliability.reasons.map((r) => r.code).slice(0, 1),
      ["NO_RELIABILITY_MODEL"],
      "a version-1 bundle cannot vouch for its input",
    );
    assert.equal(v1Blank.reliability.level, "CAUTION");
  });

  it("marks report sentences against the reported probabilities and VQA answers against a blank image", async () => {
    const input = { key: "v2-case0", image: img(0) };
    const [rep, cls] = await Promise.all([engine.report(input, { method: "greedy", maxNewTokens: 40 }), engine.classify(input)]);
    assertReportMarks(rep, cls);
    const q = "Is there a pleural effusion?";
    const vqa = await engine.vqa(input, q);
    const { width, height } = (await engine.encode(input)).letterbox;
    const onBlank = await engine.vqa({ key: "blank-by-hand", image: blankImage(width, height) }, q);
    assert.equal(vqa.blankAnswer, onBlank.answer);
    assert.equal(vqa.imageBased, vqa.answer !== onBlank.answer);
  });
});
