import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { logSoftmax, StepScores, topK } from "../../workers/analysis/src/inference/decoder.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";
import { splitReport, splitSentences } from "../../workers/analysis/src/inference/report-text.ts";
import { MentionFinder } from "../../workers/analysis/src/inference/mentions.ts";
import { shippedMentionRules } from "./mention-rules-fixture.ts";
import { bundleDir, goldenImage, readGolden } from "./golden-bundle.ts";

describe("report generation with the KV-cached decoder step graph", () => {
  const dir = bundleDir();
  const golden = readGolden(dir);
  let bundle: Bundle;
  let engine: Engine;
  before(async () => {
    bundle = await loadBundle(dir);
    engine = createEngine(bundle);
  });
  after(async () => {
    await engine?.close();
    await bundle?.release();
  });
  const input = (c: number) => {
    const p = golden.preprocess[c]!;
    return { key: `golden:${p.image}`, image: goldenImage(dir, p.image) };
  };

  for (const g of golden.report) {
    it(`greedy decoding of golden case ${g.case} reproduces the Python token ids and text`, async () => {
      const r = await engine.report(input(g.case), { method: "greedy" });
      assert.deepEqual(r.tokenIds, g.greedy_ids);
      assert.equal(r.text, g.greedy_text);
      assert.equal(r.decoding.method, "greedy");
      assert.ok(Number.isFinite(r.logProb) && r.logProb <= 0);
      assert.equal(r.model.bundleHash, bundle.bundleHash);
    });
  }

  it("beam search returns valid sentences scoring at least as well as greedy over the golden cases", async (t) => {
    const d = bundle.manifest.decoding;
    let beamTotal = 0;
    let greedyTotal = 0;
    for (const g of golden.report) {
      const greedy = await engine.report(input(g.case), { method: "greedy" });
      const beam = await engine.report(input(g.case), { method: "beam" });
      assert.equal(beam.decoding.beamSize, d.beam_size);
      assert.ok(beam.tokenIds.length > 0 && beam.tokenIds.length <= d.max_new_tokens, `length ${beam.tokenIds.length}`);
      assert.ok(beam.tokenIds.every((id) => Number.isInteger(id) && id >= 0 && id < bundle.vocab.length && id !== d.eos_id));
      assert.equal(beam.text, engine.tokenizer.decode(beam.tokenIds));
      assert.ok(beam.text.length > 0);
      // Beam search maximises the length-normalised score over a wider search than greedy, but with
      // pruning the greedy path can leave the beam, so one input may lose (case 2 of the 0.2.0
      // bundle: -0.4105 against -0.4041). Over the golden cases together it must not lose.
      beamTotal += beam.score;
      greedyTotal += greedy.score;
      const python = (g as { beam_ids?: number[] }).beam_ids;
      if (python) assert.deepEqual(beam.tokenIds, python, "beam ids equal the Python beam_search ids");
      t.diagnostic(
        `case ${g.case}: greedy score ${greedy.score.toFixed(4)} (logp ${greedy.logProb.toFixed(3)}, ${greedy.tokenIds.length} tokens), beam ${beam.score.toFixed(4)} (logp ${beam.logProb.toFixed(3)}, ${beam.tokenIds.length} tokens)`,
      );
    }
    assert.ok(beamTotal >= greedyTotal - 1e-9, `beam ${beamTotal} < greedy ${greedyTotal} summed over the golden cases`);
  });

  it("links report sentences to regions and carries the bundle on the result", async () => {
    const r = await engine.report(input(0));
    assert.equal(r.task, "report");
    assert.deepEqual(r.model, {
      name: bundle.manifest.name,
      version: bundle.manifest.version,
      bundleHash: bundle.bundleHash,
      trainedOn: bundle.manifest.trained_on,
    });
    for (const s of r.sentences) {
      for (const link of s.regions) {
        assert.ok(bundle.manifest.regions.includes(link.region));
        assert.equal(link.box.length, 4);
      }
    }
  });
});

describe("decoding helpers", () => {
  it("log-softmax is normalised and topK orders largest first, lower index on ties", () => {
    const lp = logSoftmax([1, 2, 3, 3]);
    assert.ok(Math.abs(lp.reduce((a, v) => a + Math.exp(v), 0) - 1) < 1e-12);
    assert.deepEqual(topK([1, 3, 2, 3, 0], 3), [1, 3, 2]);
    assert.deepEqual(topK([5], 3), [0]);
  });

  it("step scores read lazily are logSoftmax's values bit for bit, and their top k is topK's (ties included)", () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const vocab of [1, 5, 500, 4000]) {
      // coarse values make ties common
      const logits = Float32Array.from({ length: vocab }, () => Math.round(rand() * 40 - 20) / 4);
      const ref = logSoftmax(logits);
      const s = new StepScores(logits);
      for (let i = 0; i < vocab; i++) assert.ok(Object.is(s.at(i), ref[i]), `vocab ${vocab}, token ${i}`);
      for (const k of [1, 3, 8]) assert.deepEqual(s.top(k), topK(ref, k), `vocab ${vocab}, k ${k}`);
    }
  });
});

describe("report text: sections, sentences and links", () => {
  it("splits headers into FINDINGS / IMPRESSION and sentences into their sections", () => {
    const r = splitReport("findings: the heart is enlarged. small left pleural effusion. impression: cardiomegaly.");
    assert.equal(r.findings, "the heart is enlarged. small left pleural effusion.");
    assert.equal(r.impression, "cardiomegaly.");
    assert.deepEqual(
      r.sentences.map((s) => [s.section, s.text]),
      [
        ["findings", "the heart is enlarged."],
        ["findings", "small left pleural effusion."],
        ["impression", "cardiomegaly."],
      ],
    );
  });

  it("leaves a report without headers unsectioned", () => {
    const r = splitReport("no pneumothorax. lungs are clear");
    assert.equal(r.findings, null);
    assert.deepEqual(
      r.sentences.map((s) => s.section),
      [null, null],
    );
    assert.deepEqual(splitSentences(" . . "), []);
  });

  it("finds labels with the Python labeller's status rules and the most specific region names", () => {
    const f = new MentionFinder(
      ["Cardiomegaly", "Pleural Effusion", "Pneumothorax", "Lung Lesion"],
      ["right lung", "right lower lung zone", "left costophrenic angle", "cardiac silhouette"],
      shippedMentionRules(),
    );
    const text = "Small effusion in the right lower lung zone, no pneumothorax.";
    const m = f.find(text);
    assert.deepEqual(
      m.map((x) => [x.kind, x.name, x.status]),
      [
        ["label", "Pleural Effusion", "positive"],
        ["region", "right lower lung zone", undefined],
        ["label", "Pneumothorax", "negative"],
      ],
    );
    // a repeated text is served from the finder's cache: the same mentions, and callers own their copy
    m[0]!.status = "negative";
    assert.deepEqual(
      f.find(text).map((x) => [x.kind, x.name, x.status, x.start, x.end]),
      [
        ["label", "Pleural Effusion", "positive", 6, 14],
        ["region", "right lower lung zone", undefined, 22, 43],
        ["label", "Pneumothorax", "negative", 48, 60],
      ],
    );
    const status = (t: string) => Object.fromEntries(MentionFinder.combine(f.find(t)));
    assert.deepEqual(status("The heart is mildly enlarged."), { Cardiomegaly: "positive" });
    assert.deepEqual(status("The heart is not enlarged."), { Cardiomegaly: "negative" });
    assert.deepEqual(status("Blunting of the left costophrenic angle consistent with a small pleural effusion."), {
      "Pleural Effusion": "positive",
    });
    assert.deepEqual(status("No pleural effusion or pneumothorax."), { "Pleural Effusion": "negative", Pneumothorax: "negative" });
    assert.deepEqual(status("Pneumothorax cannot be excluded."), { Pneumothorax: "uncertain" });
    assert.deepEqual(status("A lytic bone lesion."), {}, "a bone lesion is not a lung lesion");
    // mention + negation elsewhere in the sentence: positive wins (label_report's rule)
    assert.deepEqual(status("No effusion on the right, but a small left effusion."), { "Pleural Effusion": "positive" });
    // synthetic report wording for lung zones
    assert.deepEqual(
      f
        .find("Nodule at the right base.")
        .filter((x) => x.kind === "region")
        .map((x) => x.name),
      ["right lower lung zone"],
    );
  });
});
