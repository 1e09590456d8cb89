// The whole platform for the bench: its own PostgreSQL + Kafka (lib/stack, on the bench's own ports and
// STACK_DIR so that nothing another process runs is reused or disturbed), a fresh database and topic prefix
// per run, the demo tenant, then the gateway and the analysis worker as separate processes started from
// their own entry points. stop() ends all of them.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import type { BenchConfig } from "../config.ts";
import { createDb, createRepositories, seedDemo, type Db } from "../../lib/db/index.ts";
import type { TopicNames } from "../../lib/events/index.ts";
import { freePort, loadStackConfig, startStack, stopStack, type StackHandle } from "../../lib/stack/index.ts";
import { createBenchClient, type BenchClient } from "./client.ts";
import { startService, waitForHttp, type Service } from "./services.ts";

export interface Platform {
  stack: StackHandle;
  db: Db;
  repos: ReturnType<typeof createRepositories>;
  topics: TopicNames;
  tenantId: string;
  client: BenchClient;
  gateway: Service;
  /** the first worker process (null once stopped) */
  worker: Service | null;
  /** every worker process of the group, with its HTTP address */
  workers: { service: Service; url: string }[];
  addWorker(): Promise<void>;
  gatewayUrl: string;
  workerUrl: string;
  storageDir: string;
  timings: Record<string, number>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

type Log = (line: string) => void;

export async function startPlatform(cfg: BenchConfig, baseEnv: Record<string, string>, log: Log): Promise<Platform> {
  const timings: Record<string, number> = {};
  const stackDir = path.join(cfg.workDir, "stack");
  const runId = `b${Date.now().toString(36)}`;
  const stackEnv = {
    STACK_DIR: stackDir,
    PG_PORT: String(cfg.ports.pg),
    KAFKA_PORT: String(cfg.ports.kafka),
    KAFKA_CONTROLLER_PORT: String(cfg.ports.kafkaController),
    PG_DATABASE: `bench_${runId}`,
    KAFKA_TOPIC_PREFIX: `${runId}.`,
    KAFKA_TOPIC_PARTITIONS: "3",
  };
  const stackConfig = loadStackConfig(stackEnv);
  // servers left by an earlier bench run that died are ours (own STACK_DIR): stop them, start clean
  await stopStack(stackConfig).catch(() => undefined);
  rmSync(stackDir, { recursive: true, force: true });
  rmSync(path.join(cfg.workDir, "images"), { recursive: true, force: true });
  rmSync(path.join(cfg.workDir, "profiles"), { recursive: true, force: true });
  const profileDir = (name: string) => (cfg.profile ? path.join(cfg.workDir, "profiles", name) : undefined);
  let t = performance.now();
  // pg_stat_statements counts the statements clients send (top level: not the ones triggers and functions run
  // inside them, e.g. foreign-key checks): the bench's database round trips per study
  const stack = await startStack(stackConfig, {
    migrate: true,
    postgresSettings: { shared_preload_libraries: "pg_stat_statements", "pg_stat_statements.track": "top" },
    log: (l) => log(`stack: ${l}`),
  });
  timings.stack_start_ms = Math.round(performance.now() - t);
  const services: Service[] = [];
  let db: Db | undefined;
  const stopAll = async () => {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    await stack.stop({ all: true }).catch(() => undefined);
  };
  try {
    db = createDb(stack.databaseUrl, { poolMax: 8 });
    const topics = stack.topics;
    const repos = createRepositories(db.prisma, { topics });
    const seed = await seedDemo(repos, { apiKey: `gk_bench_${randomBytes(12).toString("hex")}` });

    const storageDir = path.join(cfg.workDir, "images");
    const common = {
      ...baseEnv,
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers.join(","),
      STORAGE_DIR: storageDir,
      LOG_LEVEL: "warn",
    };
    const gatewayPort = await freePort();
    t = performance.now();
    const gateway = startService(
      "gateway",
      "services/gateway/src/main.ts",
      {
        ...common,
        GATEWAY_HOST: "127.0.0.1",
        GATEWAY_PORT: String(gatewayPort),
        GATEWAY_INSTANCE_ID: `bench-${runId}`,
        KAFKA_TOPIC_PREFIX: stackEnv.KAFKA_TOPIC_PREFIX,
        AUTH_TOKEN_SECRET: randomBytes(24).toString("hex"),
        // the bench measures the gateway's capacity with one caller: per-caller limits would measure the limiter
        GRAPHQL_RATE_BURST: "1000000",
        GRAPHQL_RATE_PER_SECOND: "1000000",
        GRAPHQL_MAX_IN_FLIGHT_PER_CALLER: "1000",
      },
      cfg.workDir,
      profileDir("gateway"),
    );
    services.push(gateway);
    // worker processes of one consumer group; more join with addWorker()
    const workers: { service: Service; url: string }[] = [];
    const startWorker = async () => {
      const port = await freePort();
      const n = workers.length + 1;
      const service = startService(
        n === 1 ? "worker" : `worker${n}`,
        "workers/analysis/src/main.ts",
        {
          ...common,
          MODEL_BUNDLE_DIR: cfg.bundleDir,
          INFERENCE_THREADS: String(cfg.threads),
          PREPROCESS_THREADS: "1",
          WORKER_BATCH_SIZE: String(cfg.workerBatch),
          WORKER_GROUP_ID: `bench-workers-${runId}`,
          TOPIC_ANALYSIS_REQUESTED: topics.requested,
          TOPIC_ANALYSIS_COMPLETED: topics.completed,
          TOPIC_ANALYSIS_DEAD_LETTER: topics.deadLetter,
          WORKER_HTTP_HOST: "127.0.0.1",
          WORKER_HTTP_PORT: String(port),
          WORKER_ID: `bench-worker-${runId}-${n}`,
        },
        cfg.workDir,
        profileDir(n === 1 ? "worker" : `worker${n}`),
      );
      services.push(service);
      workers.push({ service, url: `http://127.0.0.1:${port}` });
      return workers.at(-1)!;
    };
    const first = await startWorker();
    const worker = first.service;
    const line = await gateway.waitForLine(/"graphql"/, 120_000);
    const gatewayUrl = (JSON.parse(line) as { gateway: string }).gateway;
    timings.gateway_ready_ms = Math.round(performance.now() - t);
    const workerUrl = first.url;
    await waitForHttp(`${workerUrl}/readyz`, 180_000, worker);
    timings.worker_ready_ms = Math.round(performance.now() - t);
    log(`platform up: gateway ${gatewayUrl} (pid ${gateway.pid}), worker ${workerUrl} (pid ${worker.pid}), ${JSON.stringify(timings)}`);
    let workerRef: Service | null = worker;
    return {
      stack,
      db,
      repos,
      topics,
      tenantId: seed.tenantId,
      client: createBenchClient(gatewayUrl, seed.apiKey),
      gateway,
      get worker() {
        return workerRef;
      },
      get workers() {
        return workerRef ? workers : [];
      },
      async addWorker() {
        const added = await startWorker();
        await waitForHttp(`${added.url}/readyz`, 180_000, added.service);
        log(`worker ${workers.length} up: ${added.url} (pid ${added.service.pid})`);
      },
      gatewayUrl,
      workerUrl,
      storageDir,
      timings,
      async stopWorker() {
        for (const w of workers) await w.service.stop();
        workerRef = null;
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
