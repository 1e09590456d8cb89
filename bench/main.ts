// `npm run bench` (scripts/bench.sh → here): inference (worker path vs bare ORT), PyTorch vs ORT (Python), the
// whole platform (pipeline efficiency, end-to-end latency, RSS), the gateway under load (rps, p95, DB queries per
// request). Writes <workDir>/results.json, PNG plots (bench/plots.py), a Markdown report (docs/benchmarks.md with BENCH_REFRESH_DOCS=1), and prints one JSON
// summary as the LAST line of stdout. A phase that fails is recorded under `errors` and the rest still runs.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadBenchConfig, REPO_ROOT, type BenchConfig } from "./config.ts";
import { runGatewayPhase } from "./gateway-load.ts";
import { openInference, runInferencePhase, type InferenceContext } from "./inference.ts";
import { loadImages } from "./lib/inputs.ts";
import { summarizeProfiles } from "./lib/cpuprofile.ts";
import { describeMachine, loadAverageNow } from "./lib/machine.ts";
import { startPlatform, type Platform } from "./lib/platform.ts";
import { runPipelinePhase } from "./pipeline.ts";
import { writeReport } from "./report.ts";
import { summarize, type BenchResults, type TorchResults } from "./summary.ts";
import { ConfigError } from "../lib/errors/index.ts";

const started = performance.now();
const log = (line: string) => process.stderr.write(`[bench +${((performance.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

/** Runs a child process to completion (inheriting stderr), rejecting on a non-zero exit or after timeoutMs. */
function runChild(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${path.basename(cmd)} ${args[0]} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(cmd)} ${args[0]} exited with ${code}`));
    });
  });
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

async function phase<T>(name: string, results: BenchResults, fn: () => Promise<T>): Promise<T | undefined> {
  log(`— ${name} —`);
  const t0 = performance.now();
  try {
    const v = await fn();
    log(`${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return v;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    log(`${name} FAILED: ${e instanceof Error ? (e.stack ?? msg) : msg}`);
    results.errors[name] = msg.slice(0, 500);
    return undefined;
  }
}

async function main(): Promise<void> {
  let cfg: BenchConfig;
  try {
    cfg = loadBenchConfig(process.env);
  } catch (e) {
    process.stderr.write(`${e instanceof ConfigError ? e.message : String(e)}\n`);
    process.exit(2);
  }
  // children (gateway, worker, Python) get a small, explicit environment: thread counts pinned
  const threadEnv = {
    OMP_NUM_THREADS: String(cfg.threads),
    OPENBLAS_NUM_THREADS: String(cfg.threads),
    MKL_NUM_THREADS: String(cfg.threads),
  };
  const baseEnv: Record<string, string> = { ...threadEnv };
  for (const k of ["PATH", "HOME", "LANG", "TMPDIR", "TZ"]) if (process.env[k]) baseEnv[k] = process.env[k]!;

  mkdirSync(cfg.workDir, { recursive: true });
  rmSync(path.join(cfg.workDir, "pids"), { force: true });
  const ortVersion = (
    JSON.parse(readFileSync(path.join(REPO_ROOT, "node_modules", "onnxruntime-node", "package.json"), "utf8")) as { version: string }
  ).version;
  const machine = describeMachine(ortVersion);
  log(
    `machine: ${machine.cpuModel}, ${machine.availableParallelism} cpus, load ${machine.loadAverage.join(" ")}, bundle ${cfg.bundleDir}, threads ${cfg.threads}`,
  );
  const manifest = JSON.parse(readFileSync(path.join(cfg.bundleDir, "manifest.json"), "utf8"));
  const { images, source } = loadImages(cfg.imagesDir, cfg.bundleDir, 50);
  const results: BenchResults = {
    machine,
    bundle: {
      dir: cfg.bundleDir.startsWith(`${REPO_ROOT}/`) ? path.relative(REPO_ROOT, cfg.bundleDir) : cfg.bundleDir,
      name: manifest.name,
      version: manifest.version,
      trainedOn: manifest.trained_on,
      imageSize: manifest.preprocessing.image_size,
      dim: manifest.config?.dim ?? null,
      sizeBytes: dirBytes(cfg.bundleDir),
    },
    inputs: { source: path.relative(REPO_ROOT, source) || source, count: images.length },
    settings: {
      threads: cfg.threads,
      rounds: cfg.rounds,
      pipelineRounds: cfg.pipelineRounds,
      images: cfg.images,
      batchSizes: cfg.batchSizes,
      workerBatch: cfg.workerBatch,
      studies: cfg.studies,
      env: threadEnv,
    },
    command: cfg.command,
    errors: {},
    plots: [],
  };

  let ctx: InferenceContext | undefined;
  let platform: Platform | undefined;
  const cleanup = async () => {
    if (!platform) return;
    await platform.stop().catch(() => undefined);
    platform = undefined;
    // everything recorded there is stopped now; scripts/bench.sh must not signal those pids later
    rmSync(path.join(cfg.workDir, "pids"), { force: true });
  };
  process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
  process.on("SIGTERM", () => void cleanup().then(() => process.exit(143)));
  try {
    ctx = await openInference(cfg);
    if (cfg.phases.has("inference")) results.inference = await phase("inference", results, () => runInferencePhase(cfg, images, ctx!, log));
    if (cfg.phases.has("torch")) {
      results.torch = await phase("torch", results, async () => {
        const out = path.join(cfg.workDir, "torch.json");
        rmSync(out, { force: true });
        const files = images
          .filter((im) => im.file)
          .slice(0, Math.min(cfg.images, 4))
          .map((im) => im.file!);
        const args = [
          "bench/torch_vs_ort.py",
          "--bundle",
          cfg.bundleDir,
          "--images",
          ...files,
          "--threads",
          String(cfg.threads),
          "--rounds",
          String(cfg.rounds),
          "--budget-s",
          "100",
          "--out",
          out,
        ];
        if (cfg.checkpoint) args.push("--checkpoint", cfg.checkpoint);
        await runChild(cfg.python, args, { ...baseEnv, PYTHONUNBUFFERED: "1" }, 300_000);
        return JSON.parse(readFileSync(out, "utf8")) as TorchResults;
      });
    }
    if (cfg.phases.has("pipeline") || cfg.phases.has("gateway")) {
      platform = await phase("platform start", results, () => startPlatform(cfg, baseEnv, log));
      if (platform) {
        results.platformTimings = platform.timings;
        if (cfg.phases.has("pipeline")) {
          results.pipeline = await phase("pipeline", results, () => runPipelinePhase(cfg, platform!, ctx!, images, log));
          // the same rounds again with more worker processes in the group (the throughput they add on this machine)
          if (cfg.secondRunWorkers > 1) {
            const more = cfg.secondRunWorkers;
            results.pipelineMoreWorkers = await phase(`pipeline, ${more} workers`, results, async () => {
              while (platform!.workers.length < more) await platform!.addWorker();
              return runPipelinePhase(cfg, platform!, ctx!, images, log, 1 + 3 + cfg.studies * cfg.pipelineRounds);
            });
          }
        }
        if (cfg.phases.has("gateway"))
          results.gateway = await phase("gateway", results, () => runGatewayPhase(cfg, platform!, ctx!, images[0]!, log));
      }
    }
  } finally {
    await phase("platform stop", results, cleanup);
    await ctx?.close().catch(() => undefined);
  }
  if (cfg.profile) {
    const dir = path.join(cfg.workDir, "profiles");
    results.profiles = {
      gateway: summarizeProfiles(path.join(dir, "gateway")).slice(0, 1),
      worker: summarizeProfiles(path.join(dir, "worker")).slice(0, 3),
    };
  }

  results.loadAverageEnd = loadAverageNow();
  results.durationS = Math.round((performance.now() - started) / 1000);
  const resultsFile = path.join(cfg.workDir, "results.json");
  writeFileSync(resultsFile, JSON.stringify(results, null, 2));
  mkdirSync(cfg.plotsDir, { recursive: true });
  await phase("plots", results, () =>
    runChild(cfg.python, ["bench/plots.py", resultsFile, cfg.plotsDir], { ...baseEnv, MPLBACKEND: "Agg" }, 120_000),
  );
  results.plots = readdirSync(cfg.plotsDir)
    .filter((f) => f.endsWith(".png"))
    .sort();
  writeFileSync(resultsFile, JSON.stringify(results, null, 2));
  const summary = summarize(cfg, results);
  writeReport(cfg, results, summary);
  log(
    `wrote ${path.relative(REPO_ROOT, cfg.docPath)}, ${results.plots.length} plots, raw results ${path.relative(REPO_ROOT, resultsFile)}`,
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
