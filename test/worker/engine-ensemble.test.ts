// The engine on an ensemble bundle (docs/contracts/model-bundle.md, "an ensemble of classifiers"), built from the
// test bundle (its own ensemble, if it has one, removed) plus the classification_members stub (ensemble-bundle.ts: M = 3, member_logits[j, k] =
// W[j, k] * mean(pixels) + C[j, k]). Every reported number is recomputed here from the plain engine's head
// probability and the stub's formula, so the combination and everything downstream of it are proven from the
// contract, not from the code under test.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BundleError, InferenceError } from "../../workers/analysis/src/bundle/errors.ts";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { cardiothoracicRatio, finalProbabilities, logit, platt, sigmoid } from "../../workers/analysis/src/inference/calibration.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";
import { combined, MEMBERS, makeEnsembleBundle, makePrimaryBundle, stubMemberLogits } from "./ensemble-bundle.ts";
import { bundleDir, goldenImage, maxAbsDiff, readGolden } from "./golden-bundle.ts";
import { assertReportMarks, makeV2Bundle, V2_SECTIONS } from "./v2-bundle.ts";

const src = bundleDir();
const golden = readGolden(src);
const img = (c: number) => goldenImage(src, golden.preprocess[c]!.image);
const near = (a: number, b: number, what: string, eps = 1e-5) => assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} != ${b}`);
const refusedWith = (code: string, text: RegExp) => (e: unknown) => {
  assert.ok(e instanceof BundleError, `expected BundleError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.match(e.message, text);
  return true;
};
/** head_weight on the derived Cardiomegaly so that the derived value depends on the combined one too */
const HEAD_WEIGHT = 0.7;

describe("engine on an ensemble bundle", () => {
  let plainBundle: Bundle;
  let ensembleBundle: Bundle;
  let fullBundle: Bundle;
  let plain: Engine;
  let engine: Engine;
  let full: Engine;
  const cleanups: (() => Promise<void>)[] = [];
  const engines: Engine[] = [];
  const bundles: Bundle[] = [];
  before(async () => {
    const [primary, ens, v2] = await Promise.all([
      makePrimaryBundle(src),
      makeEnsembleBundle(src),
      makeV2Bundle(src, { vqaPresence: { effusion: "Pleural Effusion", "pleural effusion": "Pleural Effusion" } }),
    ]);
    // calibration, derived findings, reliability and presence questions, with the ensemble on top
    const v2ens = await makeEnsembleBundle(v2.dir, (m) => {
      m.derived.Cardiomegaly.head_weight = HEAD_WEIGHT;
    });
    cleanups.push(v2ens.cleanup, primary.cleanup, ens.cleanup, v2.cleanup);
    // the ensemble on the default (threaded) sessions, as the worker runs it
    [plainBundle, ensembleBundle, fullBundle] = await Promise.all([
      loadBundle(primary.dir, { runIn: "main" }),
      loadBundle(ens.dir),
      loadBundle(v2ens.dir, { runIn: "main" }),
    ]);
    bundles.push(plainBundle, ensembleBundle, fullBundle);
    plain = createEngine(plainBundle);
    engine = createEngine(ensembleBundle, { batch: { maxBatch: 1, maxWaitMs: 0 } });
    full = createEngine(fullBundle);
    engines.push(plain, engine, full);
  });
  after(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(bundles.map((b) => b.release()));
    for (const c of cleanups) await c();
  });

  /** The contract's combined probability of golden case `c`: the plain head's, and the stub's logits of the pixels. */
  const expectedRaw = async (c: number) => {
    const head = (await plain.classify({ key: `plain-${c}`, image: img(c) })).findings.map((f) => f.rawProbability);
    return { head, raw: combined(head, stubMemberLogits(plain.preprocess(img(c)).tensor)) };
  };

  it("loads the members graph only for a bundle with an ensemble", () => {
    assert.deepEqual(ensembleBundle.sessions.classification_members?.outputNames, ["member_logits"]);
    assert.equal(plainBundle.sessions.classification_members, undefined);
  });

  it("reports as raw probability of each golden image the mean of the head's and the members' logits", async () => {
    for (let c = 0; c < golden.preprocess.length; c++) {
      const { head, raw } = await expectedRaw(c);
      assert.ok(maxAbsDiff(head, raw) > 1e-2, `case ${c}: the members move the probabilities (else the test proves nothing)`);
      const input = { key: `ens-${c}`, image: img(c) };
      const [cls, enc] = await Promise.all([engine.classify(input), engine.encode(input)]);
      const members = enc.features.member_logits!;
      assert.deepEqual(members.dims, [1, MEMBERS - 1, head.length]);
      assert.ok(maxAbsDiff(members.data, stubMemberLogits(engine.preprocess(img(c)).tensor)) <= 1e-5, `case ${c}: member_logits`);
      for (const [k, f] of cls.findings.entries()) near(f.rawProbability, raw[k]!, `case ${c} ${f.label} raw`);
      // whatever the test bundle calibrates applies to the combined value
      const boxes = ensembleBundle.manifest.derived ? enc.features.region_boxes!.data : null;
      const finals = finalProbabilities(ensembleBundle.manifest, raw, boxes);
      for (const [k, f] of cls.findings.entries()) near(f.probability, finals[k]!.probability, `case ${c} ${f.label} reported`);
    }
  });

  it("gives concurrent images batched together the values each gets alone", async () => {
    const batched = createEngine(ensembleBundle, { batch: { maxBatch: 4, maxWaitMs: 20 } });
    engines.push(batched);
    const cases = golden.preprocess.map((_, c) => c);
    const together = await Promise.all(cases.map((c) => batched.classify({ key: `together-${c}`, image: img(c) })));
    assert.equal(batched.stats().encoder.maxBatch, cases.length, "one encoder (and members) run for all images");
    for (const c of cases) {
      const alone = await engine.classify({ key: `alone-${c}`, image: img(c) });
      const raw = (r: typeof alone) => r.findings.map((f) => f.rawProbability);
      assert.ok(maxAbsDiff(raw(together[c]!), raw(alone)) <= 1e-6, `case ${c}: ${maxAbsDiff(raw(together[c]!), raw(alone))}`);
    }
    assert.equal(engine.stats().encoder.maxBatch, 1);
  });

  it("calibrates, derives, thresholds, localizes, answers presence questions and marks reports from the combined value", async () => {
    const m = fullBundle.manifest;
    const input = { key: "full-case0", image: img(0) };
    const [cls, enc, { raw }] = await Promise.all([full.classify(input), full.encode(input), expectedRaw(0)]);
    const calibration = V2_SECTIONS.calibration.labels as Record<string, { a: number; b: number }>;
    const ctr = cardiothoracicRatio(enc.features.region_boxes!.data, m.regions, V2_SECTIONS.derived.Cardiomegaly)!;
    cls.findings.forEach((f, k) => {
      const p = raw[k]!;
      near(f.rawProbability, p, `${f.label} raw`);
      const c = calibration[f.label];
      const expected = f.label === "Cardiomegaly" ? sigmoid(25 * ctr - 12.5 + HEAD_WEIGHT * logit(p)) : c ? platt(p, c.a, c.b) : p;
      near(f.probability, expected, `${f.label} (${f.probabilitySource})`);
      assert.equal(f.positive, f.probability >= m.thresholds[f.label]!);
    });
    const reported = new Map(cls.findings.map((f) => [f.label, f]));
    const loc = await full.localize(input);
    for (const f of loc.findings) near(f.probability!, reported.get(f.label)!.probability, `localized ${f.label}`, 1e-12);
    const vqa = await full.vqa(input, "Is there a pleural effusion?");
    assert.equal(vqa.basis.kind, "finding");
    const effusion = reported.get("Pleural Effusion")!;
    if (vqa.basis.kind === "finding") near(vqa.basis.probability, effusion.probability, "presence answer's probability", 1e-12);
    assert.equal(vqa.answer, effusion.positive ? "yes" : "no");
    const rep = await full.report(input, { method: "greedy", maxNewTokens: 40 });
    assertReportMarks(rep, cls);
  });

  it("fails an image whose members graph returns another member count than the manifest says", async () => {
    // symbolic dims pass the load-time size check; the run-time count check is what stops shifted labels
    const made = await makeEnsembleBundle(src, (m) => {
      m.ensemble.members = 4;
      m.graphs.classification_members.outputs[0].shape = ["batch", "others", "labels"];
    });
    cleanups.push(made.cleanup);
    const b = await loadBundle(made.dir, { runIn: "main" });
    bundles.push(b);
    const e = createEngine(b);
    engines.push(e);
    await assert.rejects(
      e.classify({ key: "wrong-count", image: img(0) }),
      (err: unknown) =>
        err instanceof InferenceError && err.code === "INFERENCE_FAILED" && /classification_members returned 28 values/.test(err.message),
    );
  });
});

describe("loading an ensemble bundle", () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });
  const load = async (edit: (m: Record<string, any>) => void) => {
    const made = await makeEnsembleBundle(src, edit);
    cleanups.push(made.cleanup);
    const b = await loadBundle(made.dir, { runIn: "main" });
    await b.release();
  };

  it("refuses an ensemble section without its graph", async () => {
    await assert.rejects(
      load((m) => {
        delete m.graphs.classification_members;
      }),
      refusedWith("MANIFEST_INVALID", /graphs\.classification_members: missing graph \(required by ensemble\)/),
    );
  });

  it("refuses an ensemble on a bundle whose tasks lack classification", async () => {
    await assert.rejects(
      load((m) => {
        m.tasks = m.tasks.filter((t: string) => t !== "classification");
      }),
      refusedWith("MANIFEST_INVALID", /ensemble: needs the "classification" task/),
    );
  });

  it("refuses members and labels that do not match the graph's declared member_logits shape", async () => {
    await assert.rejects(
      load((m) => {
        m.ensemble.members = 4;
        m.graphs.classification_members.outputs[0].shape = ["batch", 2, 13];
      }),
      refusedWith(
        "GRAPH_MISMATCH",
        /member_logits\.shape\[1\] is 2, but ensemble\.members - 1 is 3.*member_logits\.shape\[2\] is 13, but the number of labels is 14/s,
      ),
    );
  });

  it("refuses a members graph without the member_logits output", async () => {
    await assert.rejects(
      load((m) => {
        // a real graph with the right input and the wrong outputs: the image encoder
        m.graphs.classification_members.file = m.graphs.image_encoder.file;
      }),
      refusedWith("GRAPH_MISMATCH", /graph classification_members .*engine needs "member_logits"/s),
    );
  });
});
