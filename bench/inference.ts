// Inference phase: the worker's own code path (loadBundle + createEngine configured as workers/analysis/src/main.ts
// does, then engine.encode + loop/tasks.ts runTask, exactly the calls the Kafka worker makes) side by side with a
// bare onnxruntime-node session on the same graphs and inputs (bench/lib/bare-ort.ts). Interleaved rounds,
// alternating which side goes first, so that load from other processes hits both alike.
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import type { BenchConfig } from "./config.ts";
import { createBareModel, type BareModel } from "./lib/bare-ort.ts";
import type { BenchImage } from "./lib/inputs.ts";
import { latency, median, percentile as percentileOf, round, spread, sum, type Latency, type Spread } from "./lib/stats.ts";
import { loadBundle, type Bundle } from "../workers/analysis/src/bundle/load.ts";
import { createEngine, type Engine } from "../workers/analysis/src/inference/engine.ts";
import { decodeImage } from "../workers/analysis/src/image/decode.ts";
import type { Preprocessed } from "../workers/analysis/src/image/preprocess.ts";
import { decodeGray8Png } from "../workers/analysis/src/image/fast-png.ts";
import { runTask, type TaskRequest } from "../workers/analysis/src/loop/tasks.ts";

export const TASKS = ["classification", "localization", "report", "vqa"] as const;
export type TaskName = (typeof TASKS)[number];
const REQUEST: Record<TaskName, TaskRequest> = {
  classification: { task: "CLASSIFICATION", question: null },
  localization: { task: "LOCALIZATION", question: null },
  report: { task: "REPORT", question: null },
  vqa: { task: "VQA", question: "Is there a pleural effusion?" },
};
export const QUESTION = REQUEST.vqa.question!;

export interface TaskFigures {
  latency_ms: Latency;
  bare_latency_ms: Latency;
  /** images/s per batch size: worker path (from a decoded image, b requests in flight) and bare ORT (batch b) */
  throughput: Record<string, { worker: number; bare: number }>;
  best_batch: number;
  throughput_images_per_s: number;
}

export interface InferenceResults {
  threads: number;
  images: number;
  rounds: number;
  tasks: Record<TaskName, TaskFigures>;
  /** per image, 4 tasks, from a decoded image: worker time / bare ORT time, one value per round */
  worker_vs_ort: Spread;
  /** the same from the stored PNG bytes (adds PNG decoding on the engine's thread) */
  worker_vs_ort_from_png: Spread;
  /** the same from the preprocessed tensor (the engine's own overhead: threads, copies, result building) */
  worker_vs_ort_from_tensor: Spread;
  per_image_ms: { worker: Spread; worker_from_png: Spread; worker_from_tensor: Spread; bare: Spread };
  /** ms to decode one PNG (pngjs) and to preprocess it (contract resize), main thread */
  decode_ms: number;
  preprocess_ms: number;
  /** the worker's fast path (workers/analysis/src/image/fast-png.ts) on the same PNGs (interleaved): ms, pngjs/fast ratio, identical pixels */
  fast_decode: { ms: number; speedup: Spread; identical: boolean; applicable: number };
  /** one small graph call (classification head) through the worker's session thread vs in-process, µs per call */
  session_call_us: { threaded: number; in_process: number; overhead: number };
  /** the same for one report decoder step with a KV cache of ~30 tokens and beam 3 (feeds cloned to the thread) */
  decoder_step_us: { threaded: number; in_process: number; overhead: number };
  equivalence: { report_ids_equal: boolean; worker_steps: number; bare_steps: number; cls_max_abs_diff: number };
  event_loop_delay_ms: { p50: number; p99: number; max: number; during: string };
  /** concurrent 4-task studies through the worker engine at its configured batch size (PNG bytes in) */
  worker_study_throughput: { batch: number; images_per_s: number; encoder_batches_seen: number };
}

type Log = (line: string) => void;

function questionTensor(engine: Engine, len: number) {
  const q = engine.tokenizer.encode(QUESTION, len);
  return { ids: BigInt64Array.from(q.ids, BigInt), mask: BigInt64Array.from(q.mask, BigInt), length: len };
}

export interface InferenceContext {
  bundle: Bundle;
  bare: BareModel;
  engineFor(batch: number): Engine;
  decode: { beamSize: number; maxSteps: number };
  question: ReturnType<typeof questionTensor>;
  close(): Promise<void>;
}

/** The worker's engine (as main.ts builds it) and the bare model, sharing nothing but the bundle files. */
export async function openInference(cfg: BenchConfig): Promise<InferenceContext> {
  const bundle = await loadBundle(cfg.bundleDir, {
    executionProviders: ["cpu"],
    intraOpNumThreads: cfg.threads,
    interOpNumThreads: 1,
    runIn: "thread",
  });
  const bare = await createBareModel(cfg.bundleDir, cfg.threads);
  const engines = new Map<number, Engine>();
  // main.ts: batch { maxBatch: WORKER_BATCH_SIZE, maxWaitMs: WORKER_BATCH_WINDOW_MS = 5 }, PREPROCESS_THREADS = 1
  const engineFor = (batch: number) => {
    let e = engines.get(batch);
    if (!e) engines.set(batch, (e = createEngine(bundle, { batch: { maxBatch: batch, maxWaitMs: 5 }, preprocessThreads: 1 })));
    return e;
  };
  const m = bundle.manifest;
  const maxPosition = m.decoding.max_position ?? (typeof m.config.max_length === "number" ? m.config.max_length : m.tokenizer.max_length);
  const decode = { beamSize: m.decoding.beam_size, maxSteps: Math.min(m.decoding.max_new_tokens, maxPosition - 1) };
  return {
    bundle,
    bare,
    engineFor,
    decode,
    question: questionTensor(engineFor(1), m.tokenizer.question_max_length),
    async close() {
      for (const e of engines.values()) await e.close();
      await bare.release();
      await bundle.release();
    },
  };
}

let keySeq = 0;
const freshKey = (tag: string) => `bench-${process.pid}-${tag}-${++keySeq}`;

/** One task through the worker path on an image the engine has not seen (encoder included). */
type WorkerInput = { image: BenchImage["image"] } | { bytes: Uint8Array } | { preprocessed: Preprocessed };

async function workerTask(engine: Engine, input: WorkerInput, task: TaskName): Promise<void> {
  const enc = await engine.encode({ key: freshKey(task), ...input });
  await runTask(engine, enc, REQUEST[task]);
}

async function workerAllTasks(engine: Engine, input: WorkerInput): Promise<void> {
  const enc = await engine.encode({ key: freshKey("all"), ...input });
  for (const t of TASKS) await runTask(engine, enc, REQUEST[t]);
}

async function bareTask(ctx: InferenceContext, tensor: Float32Array, task: TaskName): Promise<void> {
  const enc = await ctx.bare.encode([tensor]);
  if (task === "classification") await ctx.bare.classify(enc);
  else if (task === "localization") await ctx.bare.localize(enc);
  else if (task === "vqa") await ctx.bare.vqa(enc, ctx.question);
  else await ctx.bare.report(enc, 0, ctx.decode);
}

/** Bare throughput at batch b: encoder on b images at once, heads batched, reports decoded one image at a time. */
async function bareBatch(ctx: InferenceContext, tensors: Float32Array[], task: TaskName): Promise<void> {
  const enc = await ctx.bare.encode(tensors);
  if (task === "classification") await ctx.bare.classify(enc);
  else if (task === "localization") await ctx.bare.localize(enc);
  else if (task === "vqa") await ctx.bare.vqa(enc, ctx.question);
  else for (let i = 0; i < enc.n; i++) await ctx.bare.report(enc, i, ctx.decode);
}

/** Runs `jobs` with at most `concurrency` in flight (the Kafka worker's partitionsConsumedConcurrently). */
async function pool<T>(items: readonly T[], concurrency: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await job(items[next++]!);
    }),
  );
}

const now = () => performance.now();

/** n images cycling through the files from `offset`: distinct cache keys come from freshKey(), not content. */
const cycle = (base: BenchImage[], n: number, offset: number) => Array.from({ length: n }, (_, i) => base[(offset + i) % base.length]!);

export async function runInferencePhase(cfg: BenchConfig, base: BenchImage[], ctx: InferenceContext, log: Log): Promise<InferenceResults> {
  const images = cycle(base, cfg.images, 0);
  const engine1 = ctx.engineFor(1);
  const prepared = images.map((im) => engine1.preprocess(im.image));
  const tensors = prepared.map((p) => p.tensor);

  // decode / preprocess cost on this machine (main thread, for the breakdown), once per image per round
  const dec: number[] = [];
  const pre: number[] = [];
  const fast: number[] = [];
  const fastRatio: number[] = [];
  let identical = true;
  let applicable = 0;
  const measureDecode = (round: number) => {
    let a = 0;
    let b = 0;
    for (const im of images) {
      let t = now();
      const g = decodeImage(im.bytes);
      const ta = now() - t;
      t = now();
      const q = decodeGray8Png(im.bytes, Number.MAX_SAFE_INTEGER);
      const tb = now() - t;
      if (q) {
        applicable++;
        identical &&= q.width === g.width && q.height === g.height && q.data.every((v, k) => v === Number(g.data[k]) * (255 / g.maxValue));
        fast.push(tb);
        a += ta;
        b += tb;
      }
      dec.push(ta);
      t = now();
      engine1.preprocess(g);
      pre.push(now() - t);
    }
    if (b > 0 && round >= 0) fastRatio.push(a / b);
  };
  measureDecode(-1); // warm-up of both decoders

  // warm-up both paths (thread start, first-run allocations), then check they compute the same thing
  await workerAllTasks(engine1, { image: images[0]!.image });
  await workerAllTasks(engine1, { bytes: images[0]!.bytes });
  await ctx.bare.allTasks([tensors[0]!], ctx.question, ctx.decode);
  const encW = await engine1.encode({ key: freshKey("eq"), image: images[0]!.image });
  const repW = await engine1.report(encW);
  const clsW = await engine1.classify(encW);
  const encB = await ctx.bare.encode([tensors[0]!]);
  const repB = await ctx.bare.report(encB, 0, ctx.decode);
  const clsB = await ctx.bare.classify(encB);
  const equivalence = {
    report_ids_equal: JSON.stringify(repW.tokenIds) === JSON.stringify(repB.ids),
    worker_steps: repW.decoding.steps,
    bare_steps: repB.steps,
    cls_max_abs_diff: Math.max(...clsW.findings.map((f, k) => Math.abs(f.probability - clsB[k]!))),
  };
  log(`equivalence worker vs bare: ${JSON.stringify(equivalence)}`);

  // per-call cost of the session thread (structured clone of feeds and outputs + two postMessage hops)
  const callCost = async (
    graph: "classification_head" | "report_decoder_step",
    feeds: Record<string, { type: string; data: any; dims: number[] }>,
    reps: number,
  ) => {
    const threaded = ctx.bundle.sessions[graph]!;
    const local = ctx.bare.session(graph);
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.type as "float32", v.data, v.dims)]));
    const tt: number[] = [];
    const tl: number[] = [];
    for (let i = 0; i < reps; i++) {
      let t0 = now();
      await threaded.run(feeds);
      tt.push(now() - t0);
      t0 = now();
      await local.run(ortFeeds);
      tl.push(now() - t0);
    }
    const a = median(tt) * 1000;
    const b = median(tl) * 1000;
    return { threaded: round(a, 0), in_process: round(b, 0), overhead: round(a - b, 0) };
  };
  const encOut = encB.out;
  const clsFeeds = { global_embedding: encOut.global_embedding!, knowledge_tokens: encOut.knowledge_tokens! } as never;
  const session_call_us = await callCost("classification_head", clsFeeds, 60);
  let decoder_step_us: InferenceResults["decoder_step_us"];
  {
    const d = ctx.bundle.manifest.decoding;
    const past = 30;
    const beams = d.beam_size;
    const M = encOut.region_tokens!.dims[1]! + encOut.knowledge_tokens!.dims[1]!;
    const D = encOut.region_tokens!.dims[2]!;
    const kv = () => ({
      type: "float32",
      data: new Float32Array(d.num_layers * beams * d.num_heads * past * d.head_dim).fill(0.01),
      dims: [d.num_layers, beams, d.num_heads, past, d.head_dim],
    });
    decoder_step_us = await callCost(
      "report_decoder_step",
      {
        token_ids: { type: "int64", data: new BigInt64Array(beams).fill(5n), dims: [beams, 1] },
        position: { type: "int64", data: new BigInt64Array(beams).fill(BigInt(past)), dims: [beams] },
        memory: { type: "float32", data: new Float32Array(beams * M * D).fill(0.01), dims: [beams, M, D] },
        past_keys: kv(),
        past_values: kv(),
      },
      40,
    );
  }
  log(`session call cost (µs): classification head ${JSON.stringify(session_call_us)}, decoder step ${JSON.stringify(decoder_step_us)}`);

  // latency at batch 1 (per task, encoder included) and time per image (4 tasks), interleaved rounds
  const lat: Record<TaskName, { worker: number[]; bare: number[] }> = Object.fromEntries(
    TASKS.map((t) => [t, { worker: [], bare: [] }]),
  ) as never;
  const perImage = { worker: [] as number[], worker_from_png: [] as number[], worker_from_tensor: [] as number[], bare: [] as number[] };
  const ratio: number[] = [];
  const ratioPng: number[] = [];
  const ratioTensor: number[] = [];
  for (let r = 0; r < cfg.rounds; r++) {
    let w = 0;
    let wp = 0;
    let wt = 0;
    let b = 0;
    const workerSide = async () => {
      for (const [i, im] of images.entries()) {
        for (const t of TASKS) {
          const t0 = now();
          await workerTask(engine1, { image: im.image }, t);
          lat[t].worker.push(now() - t0);
        }
        let t0 = now();
        await workerAllTasks(engine1, { image: im.image });
        w += now() - t0;
        t0 = now();
        await workerAllTasks(engine1, { bytes: im.bytes });
        wp += now() - t0;
        t0 = now();
        await workerAllTasks(engine1, { preprocessed: prepared[i]! });
        wt += now() - t0;
      }
    };
    const bareSide = async () => {
      for (const x of tensors) {
        for (const t of TASKS) {
          const t0 = now();
          await bareTask(ctx, x, t);
          lat[t].bare.push(now() - t0);
        }
        const t0 = now();
        await ctx.bare.allTasks([x], ctx.question, ctx.decode);
        b += now() - t0;
      }
    };
    if (r % 2 === 0) {
      await workerSide();
      await bareSide();
    } else {
      await bareSide();
      await workerSide();
    }
    const n = images.length;
    perImage.worker.push(w / n);
    perImage.worker_from_png.push(wp / n);
    perImage.worker_from_tensor.push(wt / n);
    perImage.bare.push(b / n);
    ratio.push(w / b);
    ratioPng.push(wp / b);
    ratioTensor.push(wt / b);
    measureDecode(r);
    log(
      `round ${r + 1}/${cfg.rounds}: per image worker ${round(w / n)} ms (from PNG ${round(wp / n)}, from tensor ${round(wt / n)}), bare ${round(b / n)} ms → ${round(w / b, 3)}`,
    );
  }

  // throughput per task and batch size: b requests in flight (the Kafka worker's concurrency), engine batch b
  const thr: Record<TaskName, Record<string, { worker: number[]; bare: number[] }>> = Object.fromEntries(
    TASKS.map((t) => [t, {}]),
  ) as never;
  const thrRounds = Math.max(1, Math.min(2, cfg.rounds));
  let offset = cfg.images;
  for (let r = 0; r < thrRounds; r++) {
    for (const bs of cfg.batchSizes) {
      const engine = ctx.engineFor(bs);
      for (const t of TASKS) {
        // enough images for ~1 s of bare work (at least 2 batches, at most 8), a multiple of the batch size
        const perImageMs = Math.max(1, percentileOf(lat[t].bare, 50));
        const n = bs * Math.min(8, Math.max(2, Math.ceil(1000 / perImageMs / bs)));
        const set = cycle(base, n, offset);
        offset += n;
        const setTensors = set.map((im) => engine1.preprocess(im.image).tensor);
        const slot = (thr[t][String(bs)] ??= { worker: [], bare: [] });
        const worker = async () => {
          const t0 = now();
          await pool(set, bs, (im) => workerTask(engine, { image: im.image }, t));
          slot.worker.push((n / (now() - t0)) * 1000);
        };
        const bare = async () => {
          const t0 = now();
          for (let i = 0; i < n; i += bs) await bareBatch(ctx, setTensors.slice(i, i + bs), t);
          slot.bare.push((n / (now() - t0)) * 1000);
        };
        if ((r + bs) % 2 === 0) {
          await worker();
          await bare();
        } else {
          await bare();
          await worker();
        }
      }
      log(
        `throughput round ${r + 1}/${thrRounds} batch ${bs}: ${TASKS.map((t) => `${t} ${round(thr[t][String(bs)]!.worker.at(-1)!)}/${round(thr[t][String(bs)]!.bare.at(-1)!)}`).join(", ")} img/s (worker/bare)`,
      );
    }
  }

  // the worker's real flow at its batch size: studies of 4 tasks, PNG bytes in, event-loop delay watched
  const wb = cfg.workerBatch;
  const studyEngine = ctx.engineFor(wb);
  const studySet = cycle(base, Math.max(8, 2 * wb), offset);
  const _batchesBefore = studyEngine.stats().encoder;
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const t0 = now();
  await pool(studySet, wb, async (im) => {
    const enc = await studyEngine.encode({ key: freshKey("study"), bytes: im.bytes });
    await Promise.all(TASKS.map((t) => runTask(studyEngine, enc, REQUEST[t])));
  });
  const studyMs = now() - t0;
  eld.disable();
  const after = studyEngine.stats().encoder;

  const tasks = {} as Record<TaskName, TaskFigures>;
  for (const t of TASKS) {
    const throughput: TaskFigures["throughput"] = {};
    for (const [bs, v] of Object.entries(thr[t])) throughput[bs] = { worker: round(median(v.worker), 2), bare: round(median(v.bare), 2) };
    const best = Object.entries(throughput).sort((a, b) => b[1].worker - a[1].worker)[0]!;
    tasks[t] = {
      latency_ms: latency(lat[t].worker),
      bare_latency_ms: latency(lat[t].bare),
      throughput,
      best_batch: Number(best[0]),
      throughput_images_per_s: best[1].worker,
    };
  }
  return {
    threads: cfg.threads,
    images: images.length,
    rounds: cfg.rounds,
    tasks,
    worker_vs_ort: spread(ratio),
    worker_vs_ort_from_png: spread(ratioPng),
    worker_vs_ort_from_tensor: spread(ratioTensor),
    per_image_ms: {
      worker: spread(perImage.worker),
      worker_from_png: spread(perImage.worker_from_png),
      worker_from_tensor: spread(perImage.worker_from_tensor),
      bare: spread(perImage.bare),
    },
    decode_ms: round(median(dec), 2),
    fast_decode: { ms: round(median(fast), 2), speedup: spread(fastRatio), identical, applicable },
    preprocess_ms: round(median(pre), 2),
    session_call_us,
    decoder_step_us,
    equivalence,
    event_loop_delay_ms: {
      p50: round(eld.percentile(50) / 1e6, 2),
      p99: round(eld.percentile(99) / 1e6, 2),
      max: round(eld.max / 1e6, 2),
      during: `${studySet.length} studies (4 tasks each) through the worker engine, ${wb} in flight, PNG bytes in`,
    },
    worker_study_throughput: {
      batch: wb,
      images_per_s: round((studySet.length / studyMs) * 1000, 2),
      encoder_batches_seen: after.maxBatch,
    },
  };
}

export const totalMs = (xs: number[]) => sum(xs);
