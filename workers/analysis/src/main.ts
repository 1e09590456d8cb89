// Entry point of the analysis worker process: config from the environment, bundle + engine, database, Kafka,
// image store → createAnalysisWorker. SIGINT/SIGTERM stop it gracefully; a second signal exits at once.
//   node --import tsx workers/analysis/src/main.ts
import { createDb } from "../../../lib/db/client.ts";
import { isAppError } from "../../../lib/errors/index.ts";
import { createConfiguredImageStore } from "../../../lib/images/pacs-store.ts";
import { createKafka } from "../../../lib/kafka/index.ts";
import { loadBundle } from "./bundle/load.ts";
import { loadWorkerConfig } from "./config.ts";
import { createEngine } from "./inference/engine.ts";
import { createLogger } from "./logger.ts";
import { createAnalysisWorker } from "./worker.ts";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadWorkerConfig>;
  try {
    config = loadWorkerConfig(process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger("analysis-worker", config.logLevel);
  const started = performance.now();
  const bundle = await loadBundle(config.bundleDir, {
    executionProviders: config.inference.executionProvider === "cuda" ? ["cuda", "cpu"] : ["cpu"],
    intraOpNumThreads: config.inference.threads,
  });
  const engine = createEngine(bundle, {
    batch: { maxBatch: config.batch.size, maxWaitMs: config.batch.windowMs, maxHoldMs: config.batch.holdMs },
    preprocessThreads: config.inference.preprocessThreads,
  });
  logger.info("bundle loaded", { dir: config.bundleDir, model: engine.model, ms: Math.round(performance.now() - started) });

  // connection errors (PostgreSQL restarting) are logged and survived; /readyz says 503 until a query works again
  const db = createDb(config.databaseUrl, {
    poolMax: config.batch.size + 4,
    name: "analysis-worker",
    onError: (event) => logger.warn("database connection error", { ...event }),
  });
  const kafka = createKafka({
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    log: (level, message, extra) =>
      logger[level === "debug" ? "debug" : level === "info" ? "info" : level === "warn" ? "warn" : "error"](message, extra),
  });
  const imageStore = createConfiguredImageStore({
    kind: config.imageStore,
    storageDir: config.storageDir,
    pacs: config.pacs,
    orthanc: config.orthanc ?? null,
  });
  const worker = createAnalysisWorker({ config, db, kafka, engine, imageStore, logger });

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      logger.warn("second signal: exiting now", { signal });
      process.exit(130);
    }
    shuttingDown = true;
    logger.info("stopping", { signal });
    let code = 0;
    try {
      await worker.stop();
    } catch (error) {
      logger.error("stop failed", { error });
      code = 1;
    }
    await engine.close().catch(() => undefined);
    await bundle.release().catch(() => undefined);
    await db.close().catch(() => undefined);
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  try {
    await worker.start();
  } catch (error) {
    logger.error("start failed", { error, code: isAppError(error) ? error.code : undefined });
    await worker.stop().catch(() => undefined);
    await engine.close().catch(() => undefined);
    await bundle.release().catch(() => undefined);
    await db.close().catch(() => undefined);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`analysis worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
