/**
 * Inference benchmark of the analysis worker's engine on a bundle's golden images:
 * latency per task, encoder throughput at batch 1 vs micro-batched, and event-loop delay while
 * all four tasks run concurrently. Prints one JSON object per configuration.
 *
 *   node --import tsx bench/worker-inference.ts <bundle-dir> [images=12] [threads=1]
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadBundle } from "../workers/analysis/src/bundle/load.ts";
import { createEngine, type Engine } from "../workers/analysis/src/inference/engine.ts";

const [dir, nArg, thrArg] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node --import tsx bench/worker-inference.ts <bundle-dir> [images=12] [threads=1]");
  process.exit(2);
}
const n = Number(nArg ?? 12);
const threads = Number(thrArg ?? 1);
const imgDir = path.join(dir, "golden", "images");
const files = readdirSync(imgDir)
  .filter((f) => /\.(png|jpe?g)$/i.test(f))
  .map((f) => readFileSync(path.join(imgDir, f)));

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (v: number) => Math.round(v * 10) / 10;

async function run(engine: Engine, label: string): Promise<void> {
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const lat: Record<string, number[]> = { classification: [], localization: [], report: [], vqa: [] };
  const timed = async <T>(task: string, f: () => Promise<T>) => {
    const t0 = performance.now();
    await f();
    lat[task]!.push(performance.now() - t0);
  };
  eld.enable();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) => {
      // distinct cache keys: every request is a "new" image (worst case for the encoder)
      const input = { key: `bench-${label}-${i}`, bytes: files[i % files.length]! };
      return Promise.all([
        timed("classification", () => engine.classify(input)),
        timed("localization", () => engine.localize(input)),
        timed("report", () => engine.report(input)),
        timed("vqa", () => engine.vqa(input, "Is there a pleural effusion?")),
      ]);
    }),
  );
  const wall = performance.now() - t0;
  eld.disable();
  console.log(
    JSON.stringify({
      config: label,
      images: n,
      wall_ms: ms(wall),
      images_per_s: ms((n / wall) * 1000),
      encoder_runs: engine.stats().encoder.runs - 1,
      max_encoder_batch: engine.stats().encoder.maxBatch,
      latency_ms: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, { p50: ms(pct(v, 50)), p95: ms(pct(v, 95)) }])),
      event_loop_delay_ms: { p50: ms(eld.percentile(50) / 1e6), p99: ms(eld.percentile(99) / 1e6), max: ms(eld.max / 1e6) },
    }),
  );
}

const bundle = await loadBundle(dir, { intraOpNumThreads: threads });
for (const [label, opts] of [
  ["batch1-inline", { batch: { maxBatch: 1, maxWaitMs: 0 }, preprocessThreads: 0 }],
  ["batch4-inline", { batch: { maxBatch: 4, maxWaitMs: 5 }, preprocessThreads: 0 }],
  ["batch4-preprocess-thread", { batch: { maxBatch: 4, maxWaitMs: 5 }, preprocessThreads: 1 }],
] as const) {
  const engine = createEngine(bundle, opts);
  // warm-up (thread start, first-run allocations) outside the measurement
  await engine.classify({ key: `warmup-${label}`, bytes: files[0]! });
  await run(engine, label);
  await engine.close();
}
await bundle.release();
