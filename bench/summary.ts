// The bench's results (everything measured, as written to <workDir>/results.json) and the one-line summary
// `npm run bench` prints last, with each target and whether it was met.
import type { BenchConfig } from "./config.ts";
import type { GatewayResults } from "./gateway-load.ts";
import type { InferenceResults, TaskName } from "./inference.ts";
import type { ProfileSummary } from "./lib/cpuprofile.ts";
import type { MachineInfo } from "./lib/machine.ts";
import type { Spread } from "./lib/stats.ts";
import type { PipelineResults } from "./pipeline.ts";

export interface TorchResults {
  threads: number;
  rounds: number;
  images: number;
  weights: { source: "checkpoint" | "random-init"; path: string | null; note?: string; encoder_max_abs_diff?: number };
  torch_version: string;
  onnxruntime_version: string;
  blas: string;
  torch_cpu_capability: string | null;
  greedy_reports_identical: boolean;
  per_image_ms: { torch: Spread; ort: Spread };
  ort_vs_torch: Spread;
  per_graph_ms: Record<string, { torch: number; ort: number; ratio: number }>;
  work: string;
}

export interface BenchResults {
  machine: MachineInfo;
  loadAverageEnd?: number[];
  bundle: { dir: string; name: string; version: string; trainedOn: string; imageSize: number; dim: unknown; sizeBytes: number };
  inputs: { source: string; count: number };
  settings: {
    threads: number;
    rounds: number;
    /** absent in results written before the pipeline had its own count (bench/render.ts may re-render them) */
    pipelineRounds?: number;
    images: number;
    batchSizes: number[];
    workerBatch: number;
    studies: number;
    env: Record<string, string>;
  };
  command: string;
  durationS?: number;
  inference?: InferenceResults;
  torch?: TorchResults;
  pipeline?: PipelineResults;
  /** the pipeline phase again with BENCH_PIPELINE_SECOND_WORKERS worker processes */
  pipelineMoreWorkers?: PipelineResults;
  gateway?: GatewayResults;
  platformTimings?: Record<string, number>;
  /** node --cpu-prof summaries (BENCH_PROFILE=1): main thread first, then worker threads */
  profiles?: { gateway: ProfileSummary[]; worker: ProfileSummary[] };
  errors: Record<string, string>;
  plots: string[];
}

export const TARGETS = {
  worker_vs_ort: { op: "<=", value: 1.1 },
  ort_vs_torch: { op: ">=", value: 2 },
  // issue 13 sets 0.6 for this 2-core machine (the platform's processes share the cores the bare model has to
  // itself); the earlier 0.85 aim is kept in the report as the aim for a machine where the model dominates
  pipeline_efficiency: { op: ">=", value: 0.6 },
  // issue 13 (the analysis path)
  platform_cpu_ratio: { op: "<=", value: 2 },
  db_roundtrips_per_study: { op: "<=", value: 6 },
  max_encoder_batch: { op: ">=", value: 4 },
  result_write_p50_ms: { op: "<=", value: 20 },
  e2e_p95_ms: { op: "<=", value: 1000 },
  gateway_cpu_ms_per_request: { op: "<=", value: 20 },
} as const;

type WorkerStats = { tasks?: Record<string, { writeP50Ms: number | null }>; engine?: { encoder?: { maxBatch?: number } } };

const met = (k: keyof typeof TARGETS, v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? null : TARGETS[k].op === "<=" ? v <= TARGETS[k].value : v >= TARGETS[k].value;

export function summarize(cfg: BenchConfig, r: BenchResults) {
  const inf = r.inference;
  const tasks = inf
    ? Object.fromEntries(
        (Object.keys(inf.tasks) as TaskName[]).map((t) => {
          const f = inf.tasks[t];
          return [
            t,
            {
              p50_ms: f.latency_ms.p50,
              p95_ms: f.latency_ms.p95,
              throughput_images_per_s: f.throughput_images_per_s,
              best_batch: f.best_batch,
            },
          ];
        }),
      )
    : null;
  const wvo = inf?.worker_vs_ort.median ?? null;
  const ovt = r.torch?.ort_vs_torch.median ?? null;
  const eff = r.pipeline?.pipeline_efficiency.median ?? null;
  const dbq = r.gateway?.db_queries_per_request ?? null;
  const range = (s: Spread | undefined) => (s ? [s.min, s.max] : null);
  const cpu = r.pipeline?.cpu_ms_per_study;
  const platformCpu = cpu?.["platform total (gateway + worker + postgres + kafka)"];
  const cpuRatio = platformCpu && cpu?.["bare model"] ? Math.round((platformCpu / cpu["bare model"]) * 100) / 100 : null;
  const ws = (r.pipeline?.worker_stats ?? null) as WorkerStats | null;
  // one job per study image: the worker's write of a job is the write of a study's four results
  const writeP50 = ws?.tasks?.CLASSIFICATION?.writeP50Ms ?? null;
  const maxBatch = ws?.engine?.encoder?.maxBatch ?? null;
  const more = r.pipelineMoreWorkers;
  const roundTrips = r.pipeline?.db_roundtrips_per_study ?? null;
  const e2eP95 = r.pipeline?.e2e_ms.p95 ?? null;
  const gatewayCpu = r.gateway?.cpu_ms_per_request.gateway ?? null;
  return {
    tasks,
    worker_vs_ort: wvo,
    worker_vs_ort_range: range(inf?.worker_vs_ort),
    worker_vs_ort_from_png: inf?.worker_vs_ort_from_png.median ?? null,
    ort_vs_torch: ovt,
    ort_vs_torch_range: range(r.torch?.ort_vs_torch),
    torch_weights: r.torch?.weights.source ?? null,
    pipeline_efficiency: eff,
    pipeline_efficiency_range: range(r.pipeline?.pipeline_efficiency),
    pipeline_workers: r.pipeline?.worker_processes ?? null,
    pipeline_efficiency_more_workers: more?.pipeline_efficiency.median ?? null,
    pipeline_efficiency_more_workers_range: range(more?.pipeline_efficiency),
    pipeline_more_workers: more?.worker_processes ?? null,
    platform_studies_per_s: r.pipeline?.platform_studies_per_s.median ?? null,
    bare_studies_per_s: r.pipeline?.bare_studies_per_s.median ?? null,
    e2e_p50_ms: r.pipeline?.e2e_ms.p50 ?? null,
    e2e_p95_ms: e2eP95,
    platform_cpu_ratio: cpuRatio,
    db_roundtrips_per_study: roundTrips,
    max_encoder_batch: maxBatch,
    result_write_p50_ms: writeP50,
    gateway_rps: r.gateway?.gateway_rps ?? null,
    gateway_p95_ms: r.gateway?.latency_ms.p95 ?? null,
    gateway_cpu_ms_per_request: gatewayCpu,
    db_queries_per_request: dbq,
    no_n_plus_1: dbq ? dbq["10"] === dbq["100"] : null,
    rss_mb: { gateway: r.gateway?.rss_mb.gateway ?? r.pipeline?.rss_mb.gateway ?? null, worker: r.pipeline?.rss_mb.worker ?? null },
    event_loop_delay_p99_ms: inf?.event_loop_delay_ms.p99 ?? null,
    targets: {
      worker_vs_ort: { target: "<= 1.10", met: met("worker_vs_ort", wvo) },
      ort_vs_torch: { target: ">= 2", met: met("ort_vs_torch", ovt) },
      pipeline_efficiency: { target: ">= 0.6", met: met("pipeline_efficiency", eff) },
      no_n_plus_1: { target: "page 10 == page 100", met: dbq ? dbq["10"] === dbq["100"] : null },
      platform_cpu_ratio: { target: "<= 2.0", met: met("platform_cpu_ratio", cpuRatio) },
      db_roundtrips_per_study: { target: "<= 6", met: met("db_roundtrips_per_study", roundTrips) },
      max_encoder_batch: { target: ">= 4", met: met("max_encoder_batch", maxBatch) },
      result_write_p50_ms: { target: "<= 20", met: met("result_write_p50_ms", writeP50) },
      e2e_p95_ms: { target: "<= 1000", met: met("e2e_p95_ms", e2eP95) },
      gateway_cpu_ms_per_request: { target: "<= 20", met: met("gateway_cpu_ms_per_request", gatewayCpu) },
    },
    threads: cfg.threads,
    rounds: cfg.rounds,
    bundle: `${r.bundle.name}@${r.bundle.version} (${r.bundle.trainedOn})`,
    machine: `${r.machine.cpuModel}, ${r.machine.availableParallelism} cpus, load ${r.machine.loadAverage.join("/")}`,
    errors: Object.keys(r.errors).length ? r.errors : undefined,
    doc: cfg.docPath.replace(`${process.cwd()}/`, ""),
    duration_s: r.durationS,
  };
}
