/**
 * Shared setup of the worker-loop tests: the real bundle, a study with an ingested image, worker configs,
 * Kafka topic collectors, polling, and worker child processes that are always killed at the end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { after, before, type TestContext } from "node:test";
import type { Repositories } from "../../lib/db/index.ts";
import { ingestImage, createLocalDiskImageStore, type LocalDiskImageStore } from "../../lib/images/index.ts";
import type { IncomingMessage, KafkaConsumer } from "../../lib/kafka/index.ts";
import type { TestCtx } from "../helpers/index.ts";
import type { TopicNames } from "../../lib/events/index.ts";
import type { WorkerConfig } from "../../workers/analysis/src/config.ts";
import { shippedBundle } from "../../lib/bundles/index.ts";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** GKMVLP_BUNDLE, else the shipped default bundle (models/DEFAULT, lib/bundles); a clear failure if none. */
export function resolveBundleDir(): string {
  // test-only location override: tests may read the environment, entry points read it through lib/config
  const fromEnv = process.env.GKMVLP_BUNDLE;
  if (fromEnv) {
    if (!existsSync(path.join(fromEnv, "manifest.json"))) throw new Error(`GKMVLP_BUNDLE=${fromEnv} has no manifest.json`);
    return path.resolve(fromEnv);
  }
  const found = shippedBundle().dir;
  if (!found) {
    throw new Error(
      "no GK-MVLP bundle for the worker-loop tests: set GKMVLP_BUNDLE to a bundle folder, or ship one under models/<name>/ " +
        "(or training/runs/<run>/bundle) with `python3 -m gkmvlp.cli.export` (see training/README).",
    );
  }
  return found;
}

/** One bundle and engine for the tests of a file: loaded before the first, released after the last. */
export function loadBundleForFile(bundleDir: string, set: (bundle: Bundle, engine: Engine) => void): void {
  let loaded: { bundle: Bundle; engine: Engine } | undefined;
  before(async () => {
    const bundle = await loadBundle(bundleDir);
    loaded = { bundle, engine: createEngine(bundle) };
    set(loaded.bundle, loaded.engine);
  });
  after(async () => {
    await loaded?.engine.close();
    await loaded?.bundle.release();
  });
}

export interface SeededStudy {
  tenantId: string;
  studyId: string;
  imageId: string;
  /** sha256 of the display PNG the worker reads (the engine's cache key) */
  displaySha256: string;
}

/** A tenant, patient and study with one image ingested exactly as the gateway does (original + display PNG). */
export async function seedStudy(
  repos: Repositories,
  store: LocalDiskImageStore,
  imageBytes: Uint8Array,
  tag: string,
): Promise<SeededStudy> {
  const tenant = await repos.tenants.upsert({ slug: `wl-${tag}`, name: `worker loop ${tag}` });
  const patient = await repos.patients.upsertByMrn({ tenantId: tenant.id, mrn: `mrn-${tag}` });
  const study = await repos.studies.create({ tenantId: tenant.id, patientId: patient.id, accession: `acc-${tag}-${Date.now()}` });
  const record = await ingestImage(imageBytes, store);
  const { image } = await repos.images.attach({
    tenantId: tenant.id,
    studyId: study.id,
    sha256: record.sha256,
    format: record.format,
    width: record.width,
    height: record.height,
    bytes: record.bytes,
    bitDepth: record.bitsStored,
    photometric: record.photometric,
    storageKey: record.originalKey,
    derivedPngKey: record.displayKey,
    analysisKey: record.analysisKey,
  });
  return { tenantId: tenant.id, studyId: study.id, imageId: image.id, displaySha256: record.displaySha256 };
}

/** The bundle's first golden image (a real exported test case, not at the model's input size). */
export function goldenImage(bundleDir: string, index = 0): Buffer {
  return readFileSync(path.join(bundleDir, "golden", "images", `case_${String(index).padStart(3, "0")}.png`));
}

export function tempStore(t: TestContext): LocalDiskImageStore {
  const root = mkdtempSync(path.join(tmpdir(), "wl-store-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return createLocalDiskImageStore({ root });
}

export function workerConfig(
  base: { databaseUrl: string; brokers: string[]; topics: TopicNames; bundleDir: string; storageDir: string },
  over: Partial<WorkerConfig> = {},
): WorkerConfig {
  return {
    databaseUrl: base.databaseUrl,
    kafka: {
      brokers: base.brokers,
      clientId: "wl-test",
      groupId: `wl-group-${base.topics.requested}`,
      sessionTimeoutMs: 10_000,
      stallAfterMs: 30_000,
    },
    topics: base.topics,
    bundleDir: base.bundleDir,
    inference: { executionProvider: "cpu", threads: 1, preprocessThreads: 0 },
    batch: { size: 4, windowMs: 5, holdMs: 50 },
    retry: { maxAttempts: 3, backoffMs: 50, backoffMaxMs: 200 },
    heartbeatMs: 500,
    storageDir: base.storageDir,
    imageStore: "disk",
    pacs: null,
    workerId: `wl-worker-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    http: { host: "127.0.0.1", port: 0 },
    shutdownGraceMs: 15_000,
    logLevel: "warn",
    ...over,
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Collected {
  message: IncomingMessage;
  json: Record<string, unknown> | null;
  receivedAt: number;
}

/** Reads a topic from the beginning in its own group; stopped after the test. */
export async function collectTopic(ctx: TestCtx, topic: string): Promise<{ messages: Collected[]; consumer: KafkaConsumer }> {
  const messages: Collected[] = [];
  const consumer = await ctx.consumer({
    groupId: `wl-collect-${topic}-${Math.random().toString(36).slice(2, 8)}`,
    topics: [topic],
    fromBeginning: true,
    sessionTimeoutMs: 10_000,
    async handle(message) {
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(message.value?.toString("utf8") ?? "null");
      } catch {
        json = null;
      }
      messages.push({ message, json, receivedAt: Date.now() });
    },
  });
  return { messages, consumer };
}

/** A worker as its own OS process (`node --import tsx workers/analysis/src/main.ts`), killed after the test. */
export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export function startWorkerProcess(ctx: TestCtx, env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", path.join("workers", "analysis", "src", "main.ts")], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  // never leave a worker behind, also when the test fails (runs before the test database is dropped)
  ctx.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return { child, output: () => output, exited, kill };
}

/** Environment for a worker child process (the variables documented in workers/analysis/README.md). */
export function workerEnv(
  base: { databaseUrl: string; brokers: string[]; topics: TopicNames; bundleDir: string; storageDir: string; groupId: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: base.databaseUrl,
    KAFKA_BROKERS: base.brokers.join(","),
    WORKER_GROUP_ID: base.groupId,
    TOPIC_ANALYSIS_REQUESTED: base.topics.requested,
    TOPIC_ANALYSIS_COMPLETED: base.topics.completed,
    TOPIC_ANALYSIS_DEAD_LETTER: base.topics.deadLetter,
    MODEL_BUNDLE_DIR: base.bundleDir,
    STORAGE_DIR: base.storageDir,
    // the broker's minimum: a SIGKILLed member is evicted after 6 s, not 30
    KAFKA_SESSION_TIMEOUT_MS: "6000",
    WORKER_HTTP_PORT: "0",
    WORKER_HEARTBEAT_MS: "500",
    LOG_LEVEL: "info",
    ...extra,
  };
}
