// The benchmark's configuration: the only place the bench reads the environment (bench/main.ts passes
// process.env). Every problem is listed at once (lib/config). Defaults are sized for the shared 2-core machine
// (the whole `npm run bench` in about 10 minutes).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { shippedBundle } from "../lib/bundles/index.ts";
import { env, loadConfig, z, type Env } from "../lib/config/index.ts";
import { ConfigError } from "../lib/errors/index.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const PHASES = ["inference", "torch", "pipeline", "gateway"] as const;
export type Phase = (typeof PHASES)[number];

const schema = z.object({
  /** bundle folder; default: the shipped default bundle (models/DEFAULT, lib/bundles) */
  BENCH_BUNDLE: env.string().optional(),
  /** ONNX Runtime intra-op threads (worker and bare sessions) = torch threads = OMP/OpenBLAS threads */
  BENCH_THREADS: env.int(1, 1),
  /** interleaved rounds per ratio (medians and spread are reported over rounds) */
  BENCH_ROUNDS: env.int(11, 1),
  /** images per round in the inference phase */
  BENCH_IMAGES: env.int(4, 1),
  /** batch sizes tried for throughput */
  BENCH_BATCH_SIZES: z.string().default("1,2,4,8"),
  /** phases to run (comma-separated subset of inference,torch,pipeline,gateway) */
  BENCH_PHASES: z.string().default(PHASES.join(",")),
  /** real radiographs used as inputs (PNG/JPEG); falls back to the bundle's golden images */
  BENCH_IMAGES_DIR: z.string().default(path.resolve(REPO_ROOT, "..", "shared", "data", "classification_nih14", "images")),
  /** checkpoint the bundle was exported from (ort_vs_torch); default: found through manifest.config.training.out */
  BENCH_CHECKPOINT: env.string().optional(),
  BENCH_PYTHON: env.string().optional(),
  /** pipeline rounds: each is short (a few hundred ms) and noisy on a shared machine, so its median takes more */
  BENCH_PIPELINE_ROUNDS: env.int(15, 1),
  /** studies requested together per pipeline round (4 tasks each) */
  BENCH_STUDIES: env.int(6, 1),
  /** the worker process's micro-batch size / concurrent messages (WORKER_BATCH_SIZE) */
  BENCH_WORKER_BATCH: env.int(4, 1),
  /** the pipeline phase runs again with this many worker processes (0: once, with one) */
  BENCH_PIPELINE_SECOND_WORKERS: env.int(2, 0),
  BENCH_GATEWAY_CLIENTS: env.int(8, 1),
  BENCH_GATEWAY_SECONDS: env.number(6),
  BENCH_GATEWAY_MAX_REQUESTS: env.int(400, 10),
  /** filler studies so that a page of 100 is full */
  BENCH_FILLER_STUDIES: env.int(100, 0),
  /** run the gateway and the worker under node --cpu-prof and summarise where their CPU time went */
  BENCH_PROFILE: env.bool(false),
  BENCH_PG_PORT: env.port(54359),
  BENCH_KAFKA_PORT: env.port(19392),
  BENCH_KAFKA_CONTROLLER_PORT: env.port(19393),
  /** scratch: stack data, logs, raw results (git-ignored) */
  BENCH_WORK_DIR: z.string().default(".local/bench"),
  /** rewrite the committed docs/benchmarks.md and docs/bench/*.png; otherwise the report goes under BENCH_WORK_DIR */
  BENCH_REFRESH_DOCS: env.bool(false),
  BENCH_DOC: env.string().optional(),
  BENCH_PLOTS_DIR: env.string().optional(),
});

export interface BenchConfig {
  bundleDir: string;
  threads: number;
  rounds: number;
  pipelineRounds: number;
  images: number;
  batchSizes: number[];
  phases: Set<Phase>;
  imagesDir: string;
  checkpoint?: string;
  python: string;
  studies: number;
  workerBatch: number;
  /** worker processes of the pipeline phase's second run (0: no second run) */
  secondRunWorkers: number;
  gateway: { clients: number; seconds: number; maxRequests: number; fillerStudies: number };
  ports: { pg: number; kafka: number; kafkaController: number };
  profile: boolean;
  workDir: string;
  docPath: string;
  plotsDir: string;
  /** the command line that reproduces this run */
  command: string;
}

const abs = (p: string) => (path.isAbsolute(p) ? p : path.resolve(REPO_ROOT, p));

export function loadBenchConfig(source: Env): BenchConfig {
  const c = loadConfig("bench", schema, source);
  const issues: string[] = [];
  const shipped = shippedBundle();
  const bundleDir = c.BENCH_BUNDLE ? abs(c.BENCH_BUNDLE) : shipped.dir;
  if (!bundleDir) issues.push(`BENCH_BUNDLE: not set, and ${shipped.issue}`);
  else if (!existsSync(path.join(bundleDir, "manifest.json"))) issues.push(`BENCH_BUNDLE: ${bundleDir} has no manifest.json`);
  const batchSizes = c.BENCH_BATCH_SIZES.split(",").map((s) => Number(s.trim()));
  if (batchSizes.some((b) => !Number.isInteger(b) || b < 1 || b > 64))
    issues.push(`BENCH_BATCH_SIZES: integers 1..64, got "${c.BENCH_BATCH_SIZES}"`);
  const phases = c.BENCH_PHASES.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of phases)
    if (!(PHASES as readonly string[]).includes(p)) issues.push(`BENCH_PHASES: unknown phase "${p}" (known: ${PHASES.join(", ")})`);
  const python =
    c.BENCH_PYTHON ??
    (existsSync(path.join(REPO_ROOT, ".venv", "bin", "python")) ? path.join(REPO_ROOT, ".venv", "bin", "python") : "/usr/bin/python3");
  if (c.BENCH_CHECKPOINT && !existsSync(abs(c.BENCH_CHECKPOINT))) issues.push(`BENCH_CHECKPOINT: ${c.BENCH_CHECKPOINT} does not exist`);
  if (issues.length) throw new ConfigError("bench", issues);
  const knobs = Object.entries(source)
    .filter(([k, v]) => k.startsWith("BENCH_") && v)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  return {
    bundleDir: bundleDir!,
    threads: c.BENCH_THREADS,
    rounds: c.BENCH_ROUNDS,
    pipelineRounds: c.BENCH_PIPELINE_ROUNDS,
    images: c.BENCH_IMAGES,
    batchSizes,
    phases: new Set(phases as Phase[]),
    imagesDir: abs(c.BENCH_IMAGES_DIR),
    checkpoint: c.BENCH_CHECKPOINT ? abs(c.BENCH_CHECKPOINT) : undefined,
    python,
    studies: c.BENCH_STUDIES,
    workerBatch: c.BENCH_WORKER_BATCH,
    secondRunWorkers: c.BENCH_PIPELINE_SECOND_WORKERS,
    gateway: {
      clients: c.BENCH_GATEWAY_CLIENTS,
      seconds: c.BENCH_GATEWAY_SECONDS,
      maxRequests: c.BENCH_GATEWAY_MAX_REQUESTS,
      fillerStudies: c.BENCH_FILLER_STUDIES,
    },
    profile: c.BENCH_PROFILE,
    ports: { pg: c.BENCH_PG_PORT, kafka: c.BENCH_KAFKA_PORT, kafkaController: c.BENCH_KAFKA_CONTROLLER_PORT },
    workDir: abs(c.BENCH_WORK_DIR),
    // a plain run leaves the work tree clean: the committed report changes only when asked to
    docPath: abs(c.BENCH_DOC ?? (c.BENCH_REFRESH_DOCS ? "docs/benchmarks.md" : path.join(c.BENCH_WORK_DIR, "benchmarks.md"))),
    plotsDir: abs(c.BENCH_PLOTS_DIR ?? (c.BENCH_REFRESH_DOCS ? "docs/bench" : path.join(c.BENCH_WORK_DIR, "plots"))),
    command: [...knobs, "npm run bench"].join(" "),
  };
}
