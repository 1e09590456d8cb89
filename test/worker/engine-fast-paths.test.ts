// The engine's performance shortcuts must not change a result: the report search run on the session thread
// (one message per report) equals the in-process one, and the cached classification probabilities that
// localization reuses are the classification head's own, and the VQA blank check answers as a fresh engine does.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";
import { bundleDir, goldenImage, readGolden } from "./golden-bundle.ts";

const dir = bundleDir();
const golden = readGolden(dir);

describe("engine fast paths give the same results", () => {
  let threadedBundle: Bundle;
  let mainBundle: Bundle;
  let threaded: Engine;
  let inline: Engine;
  before(async () => {
    threadedBundle = await loadBundle(dir, { runIn: "thread" });
    mainBundle = await loadBundle(dir, { runIn: "main" });
    threaded = createEngine(threadedBundle);
    inline = createEngine(mainBundle);
  });
  after(async () => {
    await threaded.close();
    await inline.close();
    await threadedBundle.release();
    await mainBundle.release();
  });

  it("the threaded decoder session runs whole searches on its thread", () => {
    assert.equal(typeof threadedBundle.sessions.report_decoder_step?.decode, "function");
    assert.equal(mainBundle.sessions.report_decoder_step?.decode, undefined, "in-process sessions step from the engine");
  });

  for (const method of ["beam", "greedy"] as const) {
    it(`${method} search on the session thread = in-process, token for token`, async () => {
      for (const g of golden.preprocess) {
        const image = goldenImage(dir, g.image);
        const a = await threaded.report({ image }, { method });
        const b = await inline.report({ image }, { method });
        assert.deepEqual(a.tokenIds, b.tokenIds, `${g.image}: same tokens`);
        assert.equal(a.text, b.text);
        assert.ok(Math.abs(a.score - b.score) < 1e-9 && Math.abs(a.logProb - b.logProb) < 1e-9, `${g.image}: same score`);
        assert.deepEqual(a.decoding, b.decoding);
      }
    });
  }

  it("localization reuses the classification probabilities of the same image, equal to a fresh engine run", async () => {
    const image = goldenImage(dir, golden.preprocess[0]!.image);
    const enc = await threaded.encode({ key: "fast-path-probabilities", image });
    const cls = await threaded.classify(enc);
    const loc = await threaded.localize(enc);
    const fresh = await inline.localize({ image }); // another engine: no cache shared
    for (const f of loc.findings) {
      const c = cls.findings.find((x) => x.label === f.label)!;
      assert.equal(f.probability, c.probability, `${f.label}: the classification head's probability`);
      const other = fresh.findings.find((x) => x.label === f.label)!;
      assert.ok(Math.abs(f.probability! - other.probability!) < 1e-6, `${f.label}: same as without the cache`);
      assert.equal(f.positive, other.positive);
    }
  });

  it("the blank image's VQA answer is computed once per image size and question, equal to a fresh engine's", async () => {
    const vqa = threadedBundle.sessions.vqa_head!;
    const run = vqa.run.bind(vqa);
    let runs = 0;
    // counts the head's graph runs (the real session still runs them)
    vqa.run = (feeds) => {
      runs += 1;
      return run(feeds);
    };
    try {
      const image = goldenImage(dir, golden.preprocess[0]!.image);
      // questions for the head itself: a bundle with vqa_presence answers plain presence questions from the findings
      const q = "Is there a left pleural effusion?";
      const first = await threaded.vqa({ key: "blank-cache-1", image }, q);
      const before = runs;
      const again = await threaded.vqa({ key: "blank-cache-2", image }, q);
      assert.equal(runs - before, 1, "the second image of the same size runs the head for itself only");
      assert.equal(again.blankAnswer, first.blankAnswer);
      const other = await threaded.vqa({ key: "blank-cache-3", image }, "Is there a large pneumothorax?");
      assert.equal(runs - before, 3, "a new question asks the blank image again");
      const fresh = await inline.vqa({ image }, q); // another engine: no cache shared
      assert.equal(first.blankAnswer, fresh.blankAnswer);
      assert.equal(first.imageBased, fresh.imageBased);
      assert.equal(other.blankAnswer, (await inline.vqa({ image }, "Is there a large pneumothorax?")).blankAnswer);
    } finally {
      vqa.run = run;
    }
  });
});
