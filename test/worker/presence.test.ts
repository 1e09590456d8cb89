// Presence questions answered from the reported findings (inference/presence.ts): the contract's shared
// cases read the same labels as in Python, and through the engine a covered question's answer is the
// classification's own positive call while every other question still goes to the VQA head.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";
import { presenceLabel } from "../../workers/analysis/src/inference/presence.ts";
import { bundleDir, goldenImage, readGolden } from "./golden-bundle.ts";
import { makeV2Bundle } from "./v2-bundle.ts";

const contract = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "..", "..", "docs", "contracts", "vqa-presence-cases.json"), "utf8"),
) as { cases: { question: string; label: string | null }[] };
// the phrases the Python exporter writes (training/gkmvlp/text/presence.py), as far as the cases use them
const PHRASES: Record<string, string> = {
  cardiomegaly: "Cardiomegaly",
  "enlarged heart": "Cardiomegaly",
  effusion: "Pleural Effusion",
  "pleural effusion": "Pleural Effusion",
  "support devices": "Support Devices",
  mass: "Lung Lesion",
  infiltration: "Lung Opacity",
  "pleural thickening": "Pleural Other",
  pneumothorax: "Pneumothorax",
  "pulmonary edema": "Edema",
};

describe("presence questions", () => {
  it("reads the contract's cases as the Python rule does", () => {
    for (const c of contract.cases) assert.equal(presenceLabel(c.question, PHRASES), c.label, JSON.stringify(c.question));
  });

  it("ignores inherited object keys and overlong questions", () => {
    assert.equal(presenceLabel("Is there constructor?", PHRASES), null);
    assert.equal(presenceLabel(`Is there ${"a ".repeat(200)}effusion?`, PHRASES), null);
  });

  describe("through the engine", () => {
    const src = bundleDir();
    const golden = readGolden(src);
    let bundle: Bundle;
    let engine: Engine;
    let cleanup: () => Promise<void>;
    before(async () => {
      const made = await makeV2Bundle(src, { vqaPresence: PHRASES });
      cleanup = made.cleanup;
      bundle = await loadBundle(made.dir, { runIn: "main" });
      engine = createEngine(bundle);
    });
    after(async () => {
      await engine?.close();
      await bundle?.release();
      await cleanup?.();
    });

    it("answers yes exactly when the finding is reported positive, and leaves other questions to the head", async () => {
      for (const [c, p] of golden.preprocess.entries()) {
        const input = { key: `presence-${c}`, image: goldenImage(src, p.image) };
        const cls = await engine.classify(input);
        for (const [question, label] of [
          ["Is there cardiomegaly in this chest X-ray?", "Cardiomegaly"],
          ["Is there a pleural effusion?", "Pleural Effusion"],
          ["Is this chest X-ray normal?", "No Finding"],
        ] as const) {
          const f = cls.findings.find((x) => x.label === label)!;
          const v = await engine.vqa(input, question);
          assert.equal(v.answer, f.positive ? "yes" : "no", `case ${c}: ${question}`);
          assert.deepEqual(v.basis, { kind: "finding", label, probability: f.probability, threshold: bundle.manifest.thresholds[label] });
          assert.ok(Math.abs(v.confidence - (f.positive ? f.probability : 1 - f.probability)) < 1e-12);
          assert.equal(v.questionType, "closed");
        }
        const other = await engine.vqa(input, "Is there a left pleural effusion?");
        assert.deepEqual(other.basis, { kind: "vqa_head" });
      }
    });
  });
});
