// The platform under attack, started the way `npm start` starts it but on its own free ports and its own
// scratch folder: embedded PostgreSQL + Kafka (lib/stack), migrations, then the gateway and an analysis worker
// as separate processes from their own entry points (bench/lib/services.ts). stop() ends all of them.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { createDb, createRepositories, type Db, type Repositories } from "../../lib/db/index.ts";
import { freePort, loadStackConfig, startStack, stopStack } from "../../lib/stack/index.ts";
import { startService, waitForHttp, type Service } from "../../bench/lib/services.ts";
import type { AdversarialConfig } from "./config.ts";

export interface Platform {
  gatewayUrl: string;
  workerUrl: string;
  tokenSecret: string;
  db: Db;
  repos: Repositories;
  /** why the platform is down (a process exited, /healthz failed), or undefined when both are up */
  downReason(): Promise<string | undefined>;
  stop(): Promise<void>;
}

export async function startPlatform(cfg: AdversarialConfig, baseEnv: Record<string, string>, log: (l: string) => void): Promise<Platform> {
  const stackDir = path.join(cfg.workDir, "stack");
  const runId = `adv${Date.now().toString(36)}`;
  const [pg, kafka, controller] = [await freePort(), await freePort(), await freePort()];
  const stackEnv = {
    STACK_DIR: stackDir,
    PG_PORT: String(pg),
    KAFKA_PORT: String(kafka),
    KAFKA_CONTROLLER_PORT: String(controller),
    PG_DATABASE: `adversarial_${runId}`,
    KAFKA_TOPIC_PREFIX: `${runId}.`,
    KAFKA_TOPIC_PARTITIONS: "2",
  };
  const stackConfig = loadStackConfig(stackEnv);
  // servers an earlier run left behind are ours (own STACK_DIR): stop them and start clean
  await stopStack(stackConfig).catch(() => undefined);
  rmSync(cfg.workDir, { recursive: true, force: true });
  const stack = await startStack(stackConfig, { migrate: true, fast: true, log: (l) => log(`stack: ${l}`) });
  const services: Service[] = [];
  let db: Db | undefined;
  const stop = async () => {
    for (const s of [...services].reverse()) await s.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    await stack.stop({ all: true }).catch(() => undefined);
  };
  try {
    db = createDb(stack.databaseUrl, { poolMax: 4 });
    const repos = createRepositories(db.prisma, { topics: stack.topics });
    const tokenSecret = randomBytes(32).toString("hex");
    const common = {
      ...baseEnv,
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers.join(","),
      KAFKA_TOPIC_PREFIX: stackEnv.KAFKA_TOPIC_PREFIX,
      STORAGE_DIR: path.join(cfg.workDir, "images"),
      LOG_LEVEL: "warn",
    };
    const gatewayPort = await freePort();
    const workerPort = await freePort();
    const gateway = startService(
      "gateway",
      "services/gateway/src/main.ts",
      {
        ...common,
        GATEWAY_HOST: "127.0.0.1",
        GATEWAY_PORT: String(gatewayPort),
        GATEWAY_INSTANCE_ID: runId,
        AUTH_TOKEN_SECRET: tokenSecret,
      },
      cfg.workDir,
    );
    services.push(gateway);
    const worker = startService(
      "worker",
      "workers/analysis/src/main.ts",
      {
        ...common,
        MODEL_BUNDLE_DIR: cfg.bundleDir,
        INFERENCE_THREADS: "1",
        PREPROCESS_THREADS: "1",
        WORKER_GROUP_ID: `workers-${runId}`,
        TOPIC_ANALYSIS_REQUESTED: stack.topics.requested,
        TOPIC_ANALYSIS_COMPLETED: stack.topics.completed,
        TOPIC_ANALYSIS_DEAD_LETTER: stack.topics.deadLetter,
        WORKER_HTTP_HOST: "127.0.0.1",
        WORKER_HTTP_PORT: String(workerPort),
      },
      cfg.workDir,
    );
    services.push(worker);
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const workerUrl = `http://127.0.0.1:${workerPort}`;
    await waitForHttp(`${gatewayUrl}/readyz`, 120_000, gateway);
    await waitForHttp(`${workerUrl}/readyz`, 180_000, worker);
    log(`platform up: gateway ${gatewayUrl} (pid ${gateway.pid}), worker ${workerUrl} (pid ${worker.pid}); logs in ${cfg.workDir}`);
    return {
      gatewayUrl,
      workerUrl,
      tokenSecret,
      db,
      repos,
      async downReason() {
        for (const s of services)
          if (s.child.exitCode !== null || s.child.signalCode !== null)
            return `${s.name} exited (${s.child.exitCode ?? s.child.signalCode}); see ${s.logFile}`;
        for (const [name, url] of [
          ["gateway", gatewayUrl],
          ["worker", workerUrl],
        ] as const) {
          try {
            const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
            if (r.status !== 200) return `${name} /healthz answered ${r.status}`;
          } catch (e) {
            return `${name} /healthz: ${(e as Error).message}`;
          }
        }
        return undefined;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
