// Issue 14, finding 4: a worker process rides through a Kafka broker restart. The test runs its own single
// broker (the shared test broker keeps serving the other tests), starts a worker on it, stops the broker: the
// worker's /readyz turns 503 (`kafka: false`) and the process stays up; the broker comes back on the same ports
// and data: /readyz is 200 again and a request made after the restart is analysed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createKafka } from "../../lib/kafka/index.ts";
import { startKafka, stopKafka } from "../../lib/stack/kafka.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { createTestContext } from "../helpers/index.ts";
import { goldenImage, REPO_ROOT, resolveBundleDir, seedStudy, startWorkerProcess, tempStore, waitFor, workerEnv } from "./harness.ts";

const bundleDir = resolveBundleDir();

async function readyz(port: number): Promise<{ status: number; body: { ready?: boolean; checks?: Record<string, boolean> } } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(8000) });
    return { status: response.status, body: (await response.json()) as { ready?: boolean; checks?: Record<string, boolean> } };
  } catch {
    return undefined;
  }
}

test(
  "worker /readyz is 503 while its Kafka broker is down, 200 after it restarted, and the process survives",
  { timeout: 420_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    const dataDir = mkdtempSync(path.join(tmpdir(), "kafka-restart-"));
    const [port, controllerPort, httpPort] = [await freePort(), await freePort(), await freePort()];
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
    await createKafka({ brokers: first.brokers, clientId: "kafka-restart-test", logLevel: "nothing" }).waitUntilReady(120_000);

    const store = tempStore(t);
    const seeded = await seedStudy(ctx.repos, store, goldenImage(bundleDir), `kr${Date.now()}`);
    const env = workerEnv(
      {
        databaseUrl: ctx.databaseUrl,
        brokers: first.brokers,
        topics: ctx.topics,
        bundleDir,
        storageDir: store.root,
        groupId: `wl-kr-${ctx.topicPrefix}`,
      },
      { WORKER_HTTP_PORT: String(httpPort) },
    );
    const worker = startWorkerProcess(ctx, env);
    const explain = (e: unknown) => new Error(`${(e as Error).message}\nworker output:\n${worker.output().slice(-6000)}`);
    try {
      await waitFor("the worker to be ready", async () => (await readyz(httpPort))?.status === 200, 180_000, 250);

      await stopKafka(dataDir);
      const down = await waitFor(
        "/readyz to say not ready",
        async () => {
          const r = await readyz(httpPort);
          return r && r.status === 503 ? r : undefined;
        },
        60_000,
        250,
      );
      assert.equal(down.body.ready, false);
      assert.equal(down.body.checks?.kafka, false, JSON.stringify(down.body));
      // the broker stays away a while: the consumer's retries run out meanwhile
      await new Promise((r) => setTimeout(r, 10_000));
      assert.equal(worker.child.exitCode, null, "the worker is still running");
      assert.equal(worker.child.signalCode, null);

      await broker();
      await waitFor("/readyz to say ready again", async () => (await readyz(httpPort))?.status === 200, 180_000, 250);
      assert.equal(worker.child.exitCode, null);
      const crashes = worker
        .output()
        .split("\n")
        .filter((l) => /consumer crashed|consumer restart scheduled|Consumer: Crash/.test(l));
      t.diagnostic(
        `consumer crash/restart lines during the outage: ${crashes.length}; ${crashes.map((l) => /"msg":"([^"]*)"/.exec(l)?.[1]).join(" | ")}`,
      );
    } catch (error) {
      throw explain(error);
    }

    const { analysis } = await ctx.repos.analyses.requestAnalysis({
      tenantId: seeded.tenantId,
      studyId: seeded.studyId,
      imageId: seeded.imageId,
      task: "CLASSIFICATION",
      idempotencyKey: "after-broker-restart",
    });
    try {
      await waitFor(
        "the analysis after the broker restart",
        async () => (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))?.status === "SUCCEEDED",
        180_000,
        250,
      );
    } catch (error) {
      throw explain(error);
    }
    assert.equal(worker.child.exitCode, null);
  },
);
