import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { InferenceError } from "../../workers/analysis/src/bundle/errors.ts";
import { MicroBatcher } from "../../workers/analysis/src/inference/batcher.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";
import { isClosedQuestion } from "../../workers/analysis/src/inference/heads.ts";
import { combined } from "./ensemble-bundle.ts";
import { bundleDir, goldenImage, maxAbsDiff, readGolden } from "./golden-bundle.ts";

const dir = bundleDir();
const golden = readGolden(dir);
const img = (c: number) => goldenImage(dir, golden.preprocess[c]!.image);

describe("engine tasks", () => {
  let bundle: Bundle;
  let engine: Engine;
  before(async () => {
    bundle = await loadBundle(dir);
    engine = createEngine(bundle, { batch: { maxBatch: 4, maxWaitMs: 20 } });
  });
  after(async () => {
    await engine?.close();
    await bundle?.release();
  });

  it("runs the image encoder once per image across all four tasks (plus once per image size for the VQA blank check)", async () => {
    const input = { key: "sha256:case0-all-tasks", image: img(0) };
    const before = engine.stats().encoder.images;
    const blanksBefore = engine.stats().encoder.blankImages;
    const [cls, loc, rep, vqa] = await Promise.all([
      engine.classify(input),
      engine.localize(input),
      engine.report(input, { method: "greedy" }),
      engine.vqa(input, "Is there a pleural effusion?"),
    ]);
    await engine.vqa(input, "Which side is the pleural effusion on?");
    const blanks = engine.stats().encoder.blankImages - blanksBefore;
    assert.ok(blanks <= 1, `the blank image of one size is encoded at most once, not ${blanks} times`);
    assert.equal(engine.stats().encoder.images - before - blanks, 1);
    for (const r of [cls, loc, rep, vqa]) assert.equal(r.model.bundleHash, bundle.bundleHash);
  });

  it("classification: one probability per label with threshold, grounded regions and knowledge sentence", async () => {
    const r = await engine.classify({ key: "sha256:case1", image: img(1) });
    const head1 = golden.graphs.classification_head!.find((c) => c.case === 1)!.outputs.probabilities!.values;
    // an ensemble bundle combines the head with its other members' golden logits of the same image
    const members1 = golden.graphs.classification_members?.find((c) => c.case === 1)?.outputs.member_logits?.values;
    assert.ok(!bundle.manifest.ensemble || members1, "an ensemble bundle has golden member_logits of case 1");
    const golden1 = members1 ? combined(head1, members1) : head1;
    // the classifier's own output; a version-2 bundle reports calibrated/derived ones on top (golden-v2.test.ts)
    assert.ok(
      maxAbsDiff(
        r.findings.map((f) => f.rawProbability),
        golden1,
      ) <= golden.tolerance,
      "end-to-end probabilities match the golden ones",
    );
    assert.deepEqual(
      r.findings.map((f) => f.label),
      bundle.manifest.labels,
    );
    for (const f of r.findings) {
      assert.equal(f.positive, f.probability >= f.threshold);
      assert.equal(f.regions.length, 3);
      assert.ok(f.regions[0]!.weight >= f.regions[1]!.weight && f.regions[1]!.weight >= f.regions[2]!.weight);
      const [x1, y1, x2, y2] = f.regions[0]!.box;
      assert.ok(x1 >= 0 && y1 >= 0 && x2 <= 200 && y2 <= 240 && x1 <= x2 && y1 <= y2, `box inside the 200x240 image: ${f.regions[0]!.box}`);
      assert.equal(f.knowledge, bundle.manifest.knowledge.find((k) => k.label === f.label)?.sentence ?? null);
    }
  });

  it("localization: per-finding heatmap grid and boxes inside the image", async () => {
    const r = await engine.localize({ key: "sha256:case0", image: img(0) }, { findings: ["Cardiomegaly", "Pleural Effusion"] });
    assert.deepEqual(
      r.findings.map((f) => f.label),
      ["Cardiomegaly", "Pleural Effusion"],
    );
    const gridSide = bundle.manifest.graphs.localization_head!.outputs[0]!.shape.at(-1);
    for (const f of r.findings) {
      assert.equal(f.heatmap.grid, gridSide);
      assert.equal(f.heatmap.values.length, f.heatmap.grid ** 2);
      assert.deepEqual(f.heatmap.extent, [0, -20, 300, 280]); // 300x260 letterboxed: 20 px pad on top
      assert.ok(f.boxes.length >= 1, "relative threshold always keeps the peak");
      for (const b of f.boxes) assert.ok(b.box[0] >= 0 && b.box[1] >= 0 && b.box[2] <= 300 && b.box[3] <= 260);
    }
    await assert.rejects(engine.localize({ key: "sha256:case0", image: img(0) }, { findings: ["Dragons"] }), /unknown finding "Dragons"/);
  });

  it("vqa: closed questions answer from the closed answers only; the answer matches the golden argmax", async () => {
    assert.equal(isClosedQuestion("Is there a pleural effusion?"), true);
    assert.equal(isClosedQuestion("Which side is the pleural effusion on?"), false);
    for (const c of golden.graphs.vqa_head!) {
      const r = await engine.vqa({ key: `sha256:case${c.case}`, image: img(c.case!) }, c.question!);
      const closed = isClosedQuestion(c.question!);
      assert.equal(r.questionType, closed ? "closed" : "open");
      if (closed) assert.ok(bundle.manifest.closed_answers.includes(r.answer));
      else assert.equal(r.answer, c.answer, "open question: argmax over all answers = golden");
      assert.ok(r.confidence > 0 && r.confidence <= 1);
      const total = r.alternatives.reduce((a, x) => a + x.probability, 0);
      if (r.alternatives.length === (closed ? bundle.manifest.closed_answers.length : bundle.manifest.answers.length))
        assert.ok(Math.abs(total - 1) < 1e-6);
    }
    await assert.rejects(
      engine.vqa({ key: "sha256:case0", image: img(0) }, "   "),
      (e: unknown) => e instanceof InferenceError && e.code === "INPUT_INVALID",
    );
  });

  it("micro-batches concurrent images into one encoder run, with the same outputs as batch 1", async () => {
    const runsBefore = engine.stats().encoder.runs;
    const encs = await Promise.all([0, 1, 2].map((c) => engine.encode({ key: `sha256:batch-${c}`, image: img(c) })));
    assert.equal(engine.stats().encoder.runs - runsBefore, 1);
    assert.deepEqual(
      encs.map((e) => e.batchSize),
      [3, 3, 3],
    );
    encs.forEach((e, c) => {
      // region_boxes as reported: after a bundle's anatomy_boxes replaced the listed regions
      const measured = golden.anatomy_boxes?.find((g) => g.case === c);
      const want = {
        ...golden.graphs.image_encoder!.find((g) => g.case === c)!.outputs,
        ...(measured && { region_boxes: measured.region_boxes }),
      };
      for (const [name, arr] of Object.entries(want)) {
        assert.ok(maxAbsDiff(e.features[name]!.data, arr.values) <= golden.tolerance, `case ${c} ${name} in a batch of 3`);
      }
    });
  });

  it("keeps the event loop responsive while graphs run (timers fire during inference)", async (t) => {
    const h = monitorEventLoopDelay({ resolution: 5 });
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    h.enable();
    const t0 = performance.now();
    await Promise.all([0, 1, 2].map((c) => engine.report({ key: `sha256:eld-${c}`, image: img(c) }, { method: "beam" })));
    const ms = performance.now() - t0;
    h.disable();
    clearInterval(timer);
    const p99 = h.percentile(99) / 1e6;
    const max = h.max / 1e6;
    t.diagnostic(
      `3 beam reports in ${ms.toFixed(0)} ms; event-loop delay p50 ${(h.percentile(50) / 1e6).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms; ${ticks} timer ticks`,
    );
    // A blocked loop would fire (almost) no 5 ms ticks during the whole decode.
    assert.ok(ticks >= ms / 5 / 4, `only ${ticks} ticks in ${ms.toFixed(0)} ms`);
  });

  it("runs graphs off the main thread: a long encoder run does not stall timers (in-process it does)", async (t) => {
    const pre = engine.preprocess(img(0));
    const stall = async (e: Engine, size: number) => {
      const batch = Array.from({ length: size }, (_, i) => ({ key: `eld-batch-${i}`, pre }));
      await e.encodeImages(batch.slice(0, 2)); // warm up
      let last = performance.now();
      let maxGap = 0;
      const iv = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
      }, 1);
      await new Promise((r) => setTimeout(r, 10));
      maxGap = 0;
      last = performance.now();
      const t0 = performance.now();
      await e.encodeImages(batch);
      const runMs = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 3));
      clearInterval(iv);
      return { runMs, maxGap };
    };
    // Size one encoder run to take >= 80 ms in-process, so that a stall is unmistakable.
    const mainBundle = await loadBundle(dir, { runIn: "main" });
    const mainEngine = createEngine(mainBundle);
    let size = 16;
    let inProcess = await stall(mainEngine, size);
    while (inProcess.runMs < 80 && size < 1024) {
      size *= 2;
      inProcess = await stall(mainEngine, size);
    }
    await mainBundle.release();
    const threaded = await stall(engine, size);
    t.diagnostic(
      `encoder batch of ${size}: session thread ${threaded.runMs.toFixed(0)} ms run, longest timer gap ${threaded.maxGap.toFixed(1)} ms; ` +
        `in-process ${inProcess.runMs.toFixed(0)} ms run, longest timer gap ${inProcess.maxGap.toFixed(1)} ms`,
    );
    // An ensemble's encode is two awaited runs (encoder, then the other members' graph): the loop gets a turn between
    // them, so in-process the longest stall is the longer run, at least half of the whole.
    const runsPerEncode = bundle.manifest.ensemble ? 2 : 1;
    assert.ok(
      inProcess.maxGap >= (0.8 * inProcess.runMs) / runsPerEncode,
      "in-process onnxruntime-node blocks the loop for the whole of each run",
    );
    assert.ok(
      threaded.maxGap < 0.5 * inProcess.maxGap,
      `threaded: gap ${threaded.maxGap.toFixed(1)} ms during a ${threaded.runMs.toFixed(0)} ms run`,
    );
  });

  it("decodes and preprocesses stored bytes on worker threads with the same tensor as inline", async () => {
    const b = await loadBundle(dir);
    const pooled = createEngine(b, { preprocessThreads: 1 });
    try {
      const rel = golden.preprocess[1]!.image; // the 16-bit case
      const bytes = readFileSync(path.join(dir, "golden", rel));
      const enc = await pooled.encode({ bytes });
      assert.equal(enc.key, createHash("sha256").update(bytes).digest("hex"), "bytes are keyed by their sha256");
      const want = golden.graphs.image_encoder!.find((g) => g.case === 1)!.outputs.global_embedding!.values;
      assert.ok(maxAbsDiff(enc.features.global_embedding!.data, want) <= golden.tolerance);
      await assert.rejects(
        pooled.encode({ bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0]) }),
        (e: unknown) => e instanceof InferenceError && e.code === "IMAGE_INVALID",
      );
    } finally {
      await pooled.close();
      await b.release();
    }
  });

  it("refuses work after close", async () => {
    const b = await loadBundle(dir);
    const e = createEngine(b);
    await e.close();
    await assert.rejects(
      e.classify({ key: "x", image: img(0) }),
      (err: unknown) => err instanceof InferenceError && err.code === "ENGINE_CLOSED",
    );
    await b.release();
  });
});

describe("micro-batcher", () => {
  it("flushes at maxBatch immediately and after maxWaitMs otherwise", async () => {
    const sizes: number[] = [];
    const b = new MicroBatcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        return xs.map((x) => x * 2);
      },
      { maxBatch: 3, maxWaitMs: 30 },
    );
    const t0 = performance.now();
    assert.deepEqual(await Promise.all([1, 2, 3].map((x) => b.submit(x))), [2, 4, 6]);
    assert.ok(performance.now() - t0 < 25, "a full batch does not wait");
    assert.equal(await b.submit(5), 10);
    assert.deepEqual(sizes, [3, 1]);
    await b.close();
    await assert.rejects(b.submit(1), /closed/);
  });

  it("queues items that arrive during a run into the next batch and rejects a failed batch", async () => {
    const sizes: number[] = [];
    const b = new MicroBatcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        await new Promise((r) => setTimeout(r, 20));
        if (xs.includes(-1)) throw new Error("boom");
        return xs;
      },
      { maxBatch: 8, maxWaitMs: 0 },
    );
    const first = b.submit(1);
    await new Promise((r) => setTimeout(r, 5));
    const rest = [2, 3, 4].map((x) => b.submit(x));
    assert.deepEqual(await Promise.all([first, ...rest]), [1, 2, 3, 4]);
    assert.deepEqual(sizes, [1, 3]);
    await assert.rejects(b.submit(-1), /boom/);
  });

  it("waits for items still on their way (up to maxHoldMs) so that they share one batch, and not past the hold", async () => {
    const sizes: number[] = [];
    let onTheWay = 3;
    const b = new MicroBatcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        return xs;
      },
      { maxBatch: 4, maxWaitMs: 2, maxHoldMs: 500 },
      () => onTheWay,
    );
    // four images whose preparation ends 30 ms apart (a serial decoder): one batch of four, not four of one
    const done = [b.submit(0)];
    for (let i = 1; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 30));
      onTheWay -= 1;
      done.push(b.submit(i));
    }
    assert.deepEqual(await Promise.all(done), [0, 1, 2, 3]);
    assert.deepEqual(sizes, [4]);

    // an item that never arrives holds the batch for maxHoldMs at most
    const held = new MicroBatcher<number, number>(
      async (xs) => xs,
      { maxBatch: 4, maxWaitMs: 2, maxHoldMs: 40 },
      () => 1,
    );
    const t0 = performance.now();
    assert.equal(await held.submit(7), 7);
    const waited = performance.now() - t0;
    assert.ok(waited >= 35 && waited < 400, `held ${Math.round(waited)} ms`);
  });
});
