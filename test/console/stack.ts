// The real stack for the console tests, in this test process: the harness's PostgreSQL database and
// Kafka topics (test/helpers), the demo tenant and users, a gateway serving the freshly built console,
// and an analysis worker (shipped bundle, else the test bundle) on the same image store.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";
import { createTestContext } from "../helpers/index.ts";
import type { Repositories } from "../../lib/db/index.ts";
import { seedDemo, seedDemoOperator, DEMO_OPERATOR, DEMO_USERS } from "../../lib/db/index.ts";
import { createLocalDiskImageStore } from "../../lib/images/index.ts";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";
import { createGateway } from "../../services/gateway/src/gateway.ts";
import { createLogger as createGatewayLogger } from "../../services/gateway/src/logger.ts";
import { shippedBundle } from "../../lib/bundles/index.ts";
import { loadWorkerConfig } from "../../workers/analysis/src/config.ts";
import { loadBundle } from "../../workers/analysis/src/bundle/load.ts";
import { createEngine } from "../../workers/analysis/src/inference/engine.ts";
import { createAnalysisWorker } from "../../workers/analysis/src/worker.ts";
import { createLogger as createWorkerLogger } from "../../workers/analysis/src/logger.ts";
import { bundleDir } from "../worker/golden-bundle.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc, type OrthancHandle } from "../../lib/stack/orthanc.ts";

const consoleDir = fileURLToPath(new URL("../../services/console/dist", import.meta.url));
const SECRET = "console-test-secret-0123456789-abcdefghij";

/**
 * The shipped default bundle (models/DEFAULT) when there is one: its reports name regions, which the
 * sentence-highlight check needs. Otherwise the tests' tiny bundle (GKMVLP_TEST_BUNDLE or .cache/test-bundle).
 */
function modelBundle(): string {
  return shippedBundle().dir ?? bundleDir();
}

type Who = "admin" | "radiologist" | "clinician" | "auditor" | "operator";

export interface ConsoleStack {
  /** http://127.0.0.1:<port>, the console at /console/ */
  baseUrl: string;
  users: Record<Who, { email: string; password: string }>;
  /** server-side log lines (gateway and worker), for failure messages */
  logs: string[];
  /** whether a real Orthanc receives the SRs (installed here); without one SR deliveries fail NOT_CONFIGURED */
  pacs: boolean;
  /** that Orthanc (C-STORE port, credentials), when installed */
  orthanc: OrthancHandle | null;
  /** the test database's repositories and the demo tenant (tests that set up keys or read rows directly) */
  repos: Repositories;
  tenantId: string;
}

export interface ConsoleStackOptions {
  /** the gateway follows the Orthanc's /changes feed (DICOM in), polling every 100 ms */
  pacsIngest?: boolean;
  /** more gateway settings (limits a test wants small) */
  gatewayEnv?: Record<string, string>;
}

/** Starts everything; clean-up is registered on `t` and runs after the test and its subtests. */
export async function startConsoleStack(t: TestContext, options: ConsoleStackOptions = {}): Promise<ConsoleStack> {
  const ctx = await createTestContext(t);
  const storeDir = await mkdtemp(path.join(tmpdir(), "console-store-"));
  ctx.defer(() => rm(storeDir, { recursive: true, force: true }));
  const logs: string[] = [];
  const keep = (line: string) => {
    logs.push(line);
    if (logs.length > 400) logs.shift();
  };
  const demo = await seedDemo(ctx.repos);
  await seedDemoOperator(ctx.repos);
  const users = Object.fromEntries(
    [...DEMO_USERS, DEMO_OPERATOR].map((u) => [u.role.toLowerCase(), { email: u.email, password: u.password }]),
  ) as ConsoleStack["users"];

  // a real PACS for the study page's deliveries and "Send to PACS", when Orthanc is installed
  let pacsEnv: Record<string, string> = {};
  let orthanc: OrthancHandle | null = null;
  if (orthancInstalled()) {
    const orthancDir = await mkdtemp(path.join(tmpdir(), "console-orthanc-"));
    orthanc = await startOrthanc({ dataDir: orthancDir, httpPort: await freePort(), dicomPort: await freePort() });
    ctx.defer(async () => {
      await stopOrthanc(orthancDir);
      await rm(orthancDir, { recursive: true, force: true });
    });
    pacsEnv = {
      ORTHANC_URL: orthanc.url,
      ORTHANC_USERNAME: orthanc.credentials.username,
      ORTHANC_PASSWORD: orthanc.credentials.password,
      DELIVERY_POLL_MS: "200",
      ...(options.pacsIngest ? { PACS_INGEST: "true", PACS_INGEST_POLL_MS: "100" } : {}),
    };
  }
  const gatewayConfig = loadGatewayConfig({
    ...pacsEnv,
    DATABASE_URL: ctx.databaseUrl,
    KAFKA_BROKERS: ctx.brokers.join(","),
    AUTH_TOKEN_SECRET: SECRET,
    GATEWAY_PORT: "0",
    GATEWAY_INSTANCE_ID: `console-test-${process.pid}`,
    KAFKA_TOPIC_PREFIX: ctx.topicPrefix,
    STORAGE_DIR: storeDir,
    CONSOLE_DIR: consoleDir,
    OUTBOX_POLL_MS: "100",
    SHUTDOWN_GRACE_MS: "2000",
    LOG_LEVEL: "info",
    ...options.gatewayEnv,
  });
  const imageStore = createLocalDiskImageStore({ root: storeDir });
  const gateway = createGateway({
    config: gatewayConfig,
    db: ctx.db,
    kafka: ctx.kafka,
    imageStore,
    logger: createGatewayLogger("gateway", "info", keep),
  });
  await gateway.start();
  ctx.defer(() => gateway.stop());

  const workerConfig = loadWorkerConfig({
    DATABASE_URL: ctx.databaseUrl,
    KAFKA_BROKERS: ctx.brokers.join(","),
    WORKER_GROUP_ID: `console-test-workers-${process.pid}`,
    TOPIC_ANALYSIS_REQUESTED: ctx.topics.requested,
    TOPIC_ANALYSIS_COMPLETED: ctx.topics.completed,
    TOPIC_ANALYSIS_DEAD_LETTER: ctx.topics.deadLetter,
    MODEL_BUNDLE_DIR: modelBundle(),
    STORAGE_DIR: storeDir,
    WORKER_HTTP_PORT: "0",
    WORKER_HEARTBEAT_MS: "1000",
    SHUTDOWN_GRACE_MS: "5000",
    LOG_LEVEL: "info",
  });
  const bundle = await loadBundle(workerConfig.bundleDir, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
  ctx.defer(() => bundle.release());
  const engine = createEngine(bundle, { batch: { maxBatch: workerConfig.batch.size, maxWaitMs: workerConfig.batch.windowMs } });
  ctx.defer(() => engine.close());
  const worker = createAnalysisWorker({
    config: workerConfig,
    db: ctx.db,
    kafka: ctx.kafka,
    engine,
    imageStore,
    logger: createWorkerLogger("worker", "info", keep),
  });
  await worker.start();
  ctx.defer(() => worker.stop());

  return { baseUrl: gateway.url, users, logs, pacs: Object.keys(pacsEnv).length > 0, orthanc, repos: ctx.repos, tenantId: demo.tenantId };
}
