// The analysis worker's configuration: the only place the worker reads the environment (main.ts passes
// process.env). Every problem is listed at once (lib/config). Keys are documented in workers/analysis/src/README.md.
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { shippedBundle } from "../../../lib/bundles/index.ts";
import { env, loadConfig, z, type Env } from "../../../lib/config/index.ts";
import { ConfigError } from "../../../lib/errors/index.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** http(s) only: a PACS URL must not point the worker at file:, data: or other schemes */
const httpUrl = () =>
  z
    .string()
    .url()
    .regex(/^https?:\/\//, "an http(s) URL");

const schema = z.object({
  DATABASE_URL: env.postgresUrl(),
  KAFKA_BROKERS: env.list(),
  KAFKA_CLIENT_ID: env.string().default("analysis-worker"),
  /** all workers share this consumer group: each partition is processed by one of them */
  WORKER_GROUP_ID: env.string().default("analysis-workers"),
  TOPIC_ANALYSIS_REQUESTED: env.string().default("analysis.requested"),
  TOPIC_ANALYSIS_COMPLETED: env.string().default("analysis.completed"),
  TOPIC_ANALYSIS_DEAD_LETTER: env.string().default("analysis.dead-letter"),
  /** kafkajs consumer session timeout; a retry's backoff never sleeps past a third of it without a heartbeat */
  KAFKA_SESSION_TIMEOUT_MS: env.int(30_000, 6_000),
  /** a consumer whose partitions lag without moving this long, with no job in hand, is replaced (lib/kafka stall-watchdog) */
  KAFKA_STALL_AFTER_MS: env.int(30_000, 1_000),
  /** model bundle folder; default: the one models/DEFAULT names (lib/bundles) */
  MODEL_BUNDLE_DIR: env.string().optional(),
  EXECUTION_PROVIDER: env.enumOf(["cpu", "cuda"] as const, "cpu"),
  /** ONNX Runtime intra-op threads per graph */
  INFERENCE_THREADS: env.int(1, 1),
  /** threads that decode + preprocess images off the event loop (0: on the main thread) */
  PREPROCESS_THREADS: env.int(1, 0),
  /** the encoder's micro-batch size; twice as many jobs are in flight (lib/kafka pipelined mode) */
  WORKER_BATCH_SIZE: env.int(4, 1),
  /** how long the encoder's micro-batcher waits for more images */
  WORKER_BATCH_WINDOW_MS: env.int(5, 0),
  /** how long it may wait for images of jobs in hand that are still being decoded (0: never) */
  WORKER_BATCH_HOLD_MS: env.int(150, 0),
  /** tries per message for retriable failures (1 = no retry) before dead-lettering */
  WORKER_MAX_ATTEMPTS: env.int(3, 1),
  WORKER_BACKOFF_MS: env.int(500, 0),
  WORKER_BACKOFF_MAX_MS: env.int(8_000, 0),
  WORKER_HEARTBEAT_MS: env.int(3_000, 100),
  /** root of the content-addressed image store (shared with the gateway) */
  STORAGE_DIR: env.string().default(".local/images"),
  /** where display images are read: the local disk (STORAGE_DIR), or the PACS the gateway stores them in */
  IMAGE_STORE: env.enumOf(["disk", "pacs"] as const, "disk"),
  /** the PACS: Orthanc's root URL (DICOMweb at /dicom-web) or any DICOMweb base URL (wins) */
  ORTHANC_URL: httpUrl().optional(),
  ORTHANC_USERNAME: env.string().optional(),
  ORTHANC_PASSWORD: env.string().optional(),
  PACS_DICOMWEB_URL: httpUrl().optional(),
  WORKER_ID: env.string().optional(),
  WORKER_HTTP_HOST: env.string().default("127.0.0.1"),
  /** /healthz and /readyz; 0 picks a free port */
  WORKER_HTTP_PORT: env.port(4100),
  SHUTDOWN_GRACE_MS: env.int(30_000, 0),
  LOG_LEVEL: env.enumOf(["debug", "info", "warn", "error"] as const, "info"),
});

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface WorkerConfig {
  databaseUrl: string;
  kafka: { brokers: string[]; clientId: string; groupId: string; sessionTimeoutMs: number; stallAfterMs: number };
  topics: { requested: string; completed: string; deadLetter: string };
  bundleDir: string;
  inference: { executionProvider: "cpu" | "cuda"; threads: number; preprocessThreads: number };
  batch: { size: number; windowMs: number; holdMs: number };
  retry: { maxAttempts: number; backoffMs: number; backoffMaxMs: number };
  heartbeatMs: number;
  storageDir: string;
  imageStore: "disk" | "pacs";
  /** DICOMweb of the PACS; null when none is configured (IMAGE_STORE=pacs refuses that) */
  pacs: { dicomWebUrl: string; credentials: { username: string; password: string } | null } | null;
  /** Orthanc's REST API (ORTHANC_URL): films ingested from the PACS are read there by their Orthanc id */
  orthanc?: { url: string; credentials: { username: string; password: string } | null } | null;
  workerId: string;
  http: { host: string; port: number };
  shutdownGraceMs: number;
  logLevel: LogLevel;
}

function bundleIssue(dir: string | undefined): { dir?: string; issue?: string } {
  if (dir === undefined) {
    const shipped = shippedBundle();
    return shipped.dir ? { dir: shipped.dir } : { issue: `MODEL_BUNDLE_DIR: not set, and ${shipped.issue}` };
  }
  return existsSync(path.join(dir, "manifest.json")) ? { dir } : { issue: `MODEL_BUNDLE_DIR: ${dir} has no manifest.json` };
}

export function loadWorkerConfig(source: Env): WorkerConfig {
  // the bundle folder is checked here too, so that one start lists it with every other problem
  const bundle = bundleIssue(source.MODEL_BUNDLE_DIR || undefined);
  let c: z.infer<typeof schema>;
  try {
    c = loadConfig("analysis worker", schema, source);
  } catch (error) {
    if (error instanceof ConfigError && bundle.issue) throw new ConfigError("analysis worker", [...error.issues, bundle.issue]);
    throw error;
  }
  if (bundle.issue || bundle.dir === undefined) throw new ConfigError("analysis worker", [bundle.issue ?? "MODEL_BUNDLE_DIR: no bundle"]);
  const pacsUrl = c.PACS_DICOMWEB_URL ?? (c.ORTHANC_URL ? `${c.ORTHANC_URL.replace(/\/+$/, "")}/dicom-web` : null);
  if (c.IMAGE_STORE === "pacs" && !pacsUrl)
    throw new ConfigError("analysis worker", ["IMAGE_STORE: pacs needs ORTHANC_URL or PACS_DICOMWEB_URL"]);
  const credentials = c.ORTHANC_USERNAME && c.ORTHANC_PASSWORD ? { username: c.ORTHANC_USERNAME, password: c.ORTHANC_PASSWORD } : null;
  return {
    databaseUrl: c.DATABASE_URL,
    kafka: {
      brokers: c.KAFKA_BROKERS,
      clientId: c.KAFKA_CLIENT_ID,
      groupId: c.WORKER_GROUP_ID,
      sessionTimeoutMs: c.KAFKA_SESSION_TIMEOUT_MS,
      stallAfterMs: c.KAFKA_STALL_AFTER_MS,
    },
    topics: { requested: c.TOPIC_ANALYSIS_REQUESTED, completed: c.TOPIC_ANALYSIS_COMPLETED, deadLetter: c.TOPIC_ANALYSIS_DEAD_LETTER },
    bundleDir: path.resolve(bundle.dir),
    inference: { executionProvider: c.EXECUTION_PROVIDER, threads: c.INFERENCE_THREADS, preprocessThreads: c.PREPROCESS_THREADS },
    batch: { size: c.WORKER_BATCH_SIZE, windowMs: c.WORKER_BATCH_WINDOW_MS, holdMs: c.WORKER_BATCH_HOLD_MS },
    retry: { maxAttempts: c.WORKER_MAX_ATTEMPTS, backoffMs: c.WORKER_BACKOFF_MS, backoffMaxMs: c.WORKER_BACKOFF_MAX_MS },
    heartbeatMs: c.WORKER_HEARTBEAT_MS,
    storageDir: path.resolve(c.STORAGE_DIR),
    imageStore: c.IMAGE_STORE,
    pacs: pacsUrl ? { dicomWebUrl: pacsUrl.replace(/\/+$/, ""), credentials } : null,
    orthanc: c.ORTHANC_URL ? { url: c.ORTHANC_URL, credentials } : null,
    workerId: c.WORKER_ID ?? `analysis-${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`,
    http: { host: c.WORKER_HTTP_HOST, port: c.WORKER_HTTP_PORT },
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    logLevel: c.LOG_LEVEL,
  };
}
