// Issue 14, finding 4: the gateway rides through a Kafka broker restart, as the worker does
// (test/worker-loop/kafka-restart.test.ts). The gateway runs on a broker of its own (the shared test broker keeps
// serving the other tests): while it is down /readyz is 503 with `kafka: false` and answers within a probe's time;
// once it is back /readyz is 200 again and a request made after the restart is published by the gateway's relay.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../../lib/db/migrate.ts";
import { createLocalDiskImageStore } from "../../lib/images/index.ts";
import { createKafka } from "../../lib/kafka/index.ts";
import { startKafka, stopKafka } from "../../lib/stack/kafka.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { loadGatewayConfig } from "../../services/gateway/src/config.ts";
import { createGateway } from "../../services/gateway/src/gateway.ts";
import { createLogger } from "../../services/gateway/src/logger.ts";
import { createTestContext, seedStudy, waitFor } from "../helpers/index.ts";
import { SECRET } from "./fixture.ts";

async function readyz(url: string) {
  const started = Date.now();
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(15_000) });
    const body = (await response.json()) as { ready: boolean; checks: Record<string, boolean> };
    return { status: response.status, body, ms: Date.now() - started };
  } catch {
    return undefined;
  }
}

test(
  "gateway /readyz is 503 while its Kafka broker is down, 200 after it restarted, and its relay publishes again",
  { timeout: 420_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    const dataDir = mkdtempSync(path.join(tmpdir(), "gw-kafka-restart-"));
    const [port, controllerPort] = [await freePort(), await freePort()];
    const broker = () =>
      startKafka({
        dataDir,
        port,
        controllerPort,
        libsDir: path.join(REPO_ROOT, ".local/kafka/libs"),
        repoRoot: REPO_ROOT,
        heapMb: 384,
        numPartitions: 3,
      });
    const first = await broker();
    ctx.defer(async () => {
      await stopKafka(dataDir, 5000).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    });
    const kafka = createKafka({ brokers: first.brokers, clientId: "gw-kafka-restart", logLevel: "nothing" });
    await kafka.waitUntilReady(120_000);
    // as the gateway's main.ts does before it starts the gateway
    const admin = await kafka.admin();
    await admin.ensureTopics([ctx.topics.requested, ctx.topics.completed, ctx.topics.deadLetter]);
    await admin.disconnect();

    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on("uncaughtException", onUncaught);
    t.after(() => process.off("uncaughtException", onUncaught));

    const storeDir = await mkdtemp(path.join(tmpdir(), "gw-store-"));
    ctx.defer(() => rm(storeDir, { recursive: true, force: true }));
    const config = loadGatewayConfig({
      DATABASE_URL: ctx.databaseUrl,
      KAFKA_BROKERS: first.brokers.join(","),
      AUTH_TOKEN_SECRET: SECRET,
      GATEWAY_PORT: "0",
      GATEWAY_INSTANCE_ID: `kr-${process.pid}`,
      KAFKA_TOPIC_PREFIX: ctx.topicPrefix,
      STORAGE_DIR: storeDir,
      OUTBOX_POLL_MS: "100",
      SHUTDOWN_GRACE_MS: "2000",
    });
    const gateway = createGateway({
      config,
      db: ctx.db,
      kafka,
      imageStore: createLocalDiskImageStore({ root: storeDir }),
      logger: createLogger("gateway-kafka-restart", "error", () => undefined),
    });
    await gateway.start();
    ctx.defer(() => gateway.stop());

    const before = await waitFor("ready", async () => ((await readyz(gateway.url))?.status === 200 ? true : undefined), 60_000);
    assert.ok(before);

    await stopKafka(dataDir);
    const down = await waitFor(
      "not ready",
      async () => {
        const r = await readyz(gateway.url);
        return r?.status === 503 ? r : undefined;
      },
      60_000,
    );
    assert.equal(down.body.checks.kafka, false, JSON.stringify(down.body));
    assert.equal(down.body.checks.database, true, "the database is still fine");
    assert.ok(down.ms < 5000, `a probe answers within a few seconds (${down.ms} ms)`);
    // requests made while the broker is down wait in the outbox
    const seeded = await seedStudy(ctx.repos, "kr");
    await ctx.repos.analyses.requestAnalyses([
      {
        tenantId: seeded.tenantId,
        studyId: seeded.studyId,
        imageId: seeded.imageId,
        task: "CLASSIFICATION",
        idempotencyKey: `kr-${seeded.studyId}`,
      },
    ]);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok((await ctx.repos.outbox.countUnsent()) > 0, "nothing can be published while the broker is down");

    await broker();
    await waitFor("ready again", async () => ((await readyz(gateway.url))?.status === 200 ? true : undefined), 180_000);
    await waitFor(
      "the outbox drained by the gateway's relay",
      async () => ((await ctx.repos.outbox.countUnsent()) === 0 ? true : undefined),
      120_000,
    );
    assert.deepEqual(uncaught, [], "no error escaped as an uncaught exception");
  },
);
