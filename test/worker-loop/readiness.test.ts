// Issue 14, finding 4: a worker process rides through its database becoming unreachable. While PostgreSQL
// refuses it (every backend terminated, as a restart does, and new connections refused until it is back), its
// /readyz says 503 with `database: false`; the process does not exit; once the database takes connections again
// /readyz is 200 and the worker analyses again.
//
// "Unreachable" is made for this test's database only (ALTER DATABASE … ALLOW_CONNECTIONS false + terminating
// its backends), so the shared test PostgreSQL keeps serving the other tests.
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { freePort } from "../../lib/stack/processes.ts";
import { createTestContext } from "../helpers/index.ts";
import { getTestStack } from "../helpers/test-stack.ts";
import { goldenImage, resolveBundleDir, seedStudy, startWorkerProcess, tempStore, waitFor, workerEnv } from "./harness.ts";

const bundleDir = resolveBundleDir();

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const stack = await getTestStack();
  const client = new pg.Client({ connectionString: stack.serverUrl("postgres") });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function readyz(port: number): Promise<{ status: number; body: { ready?: boolean; checks?: Record<string, boolean> } } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: (await response.json()) as { ready?: boolean; checks?: Record<string, boolean> } };
  } catch {
    return undefined;
  }
}

test(
  "worker /readyz is 503 while its database is unreachable, 200 again after, and the process survives",
  { timeout: 240_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    const database = new URL(ctx.databaseUrl).pathname.slice(1);
    const store = tempStore(t);
    const seeded = await seedStudy(ctx.repos, store, goldenImage(bundleDir), `ready${Date.now()}`);
    const port = await freePort();
    const env = workerEnv(
      {
        databaseUrl: ctx.databaseUrl,
        brokers: ctx.brokers,
        topics: ctx.topics,
        bundleDir,
        storageDir: store.root,
        groupId: `wl-ready-${ctx.topicPrefix}`,
      },
      { WORKER_HTTP_PORT: String(port) },
    );
    const worker = startWorkerProcess(ctx, env);
    const explain = (e: unknown) => new Error(`${(e as Error).message}\nworker output:\n${worker.output().slice(-4000)}`);
    // the database must take connections again before the context drops it, also when an assertion fails
    ctx.defer(() => admin((c) => c.query(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS true`)).then(() => undefined));

    try {
      await waitFor("the worker to be ready", async () => (await readyz(port))?.status === 200, 180_000, 200);

      // PostgreSQL goes away for this database
      await admin(async (c) => {
        await c.query(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS false`);
        await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database]);
      });
      const down = await waitFor(
        "/readyz to say not ready",
        async () => {
          const r = await readyz(port);
          return r && r.status === 503 ? r : undefined;
        },
        30_000,
        200,
      );
      assert.equal(down.body.ready, false);
      assert.equal(down.body.checks?.database, false, JSON.stringify(down.body));
      // a few seconds of outage: heartbeats, the outbox relay's LISTEN connection and readiness probes all fail
      await new Promise((r) => setTimeout(r, 4000));
      assert.equal(worker.child.exitCode, null, "the worker is still running");
      assert.equal(worker.child.signalCode, null);
      assert.equal((await readyz(port))?.status, 503, "still not ready while the database is away");

      // back
      await admin((c) => c.query(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS true`));
      const up = await waitFor(
        "/readyz to say ready again",
        async () => {
          const r = await readyz(port);
          return r && r.status === 200 ? r : undefined;
        },
        60_000,
        200,
      );
      assert.equal(up.body.ready, true);
      assert.equal(worker.child.exitCode, null);
    } catch (error) {
      throw explain(error);
    }

    // and it works: a request made after the outage is analysed (through the outbox relay and Kafka)
    const { analysis } = await ctx.repos.analyses.requestAnalysis({
      tenantId: seeded.tenantId,
      studyId: seeded.studyId,
      imageId: seeded.imageId,
      task: "CLASSIFICATION",
      idempotencyKey: "after-outage",
    });
    try {
      await waitFor(
        "the analysis after the outage",
        async () => (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))?.status === "SUCCEEDED",
        120_000,
        200,
      );
    } catch (error) {
      throw explain(error);
    }
    assert.equal(worker.child.exitCode, null);
  },
);
