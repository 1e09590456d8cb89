// A worker process killed with SIGKILL in the middle of an analysis: the offset was not committed, so the
// message is redelivered to the next worker of the group, which finishes the analysis with exactly one result.
//
// "In the middle" is made deterministic without any test hook in the worker: the test holds an EXCLUSIVE lock
// on the ReportResult table, so the first worker claims the analysis (RUNNING), runs the model, and then
// blocks inside its result transaction. The test sees both, kills it, and releases the lock.
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { decodeEvent } from "../../lib/events/index.ts";
import { createTestContext, type TestCtx } from "../helpers/index.ts";
import { collectTopic, goldenImage, resolveBundleDir, seedStudy, startWorkerProcess, tempStore, waitFor, workerEnv } from "./harness.ts";

const bundleDir = resolveBundleDir();

/** Backends of the test database waiting for a heavyweight lock (the worker's result transaction). */
async function lockWaiters(ctx: TestCtx): Promise<number> {
  const rows = await ctx.db.prisma.$queryRaw<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
  return rows[0]!.n;
}

test("a worker killed with SIGKILL mid-analysis: another worker completes it with exactly one result", async (t) => {
  const ctx = await createTestContext(t);
  const store = tempStore(t);
  const seeded = await seedStudy(ctx.repos, store, goldenImage(bundleDir), `kill${Date.now()}`);
  const completed = await collectTopic(ctx, ctx.topics.completed);
  const groupId = `wl-kill-${ctx.topicPrefix}`;
  const env = workerEnv({
    databaseUrl: ctx.databaseUrl,
    brokers: ctx.brokers,
    topics: ctx.topics,
    bundleDir,
    storageDir: store.root,
    groupId,
  });

  const blocker = new pg.Client({ connectionString: ctx.databaseUrl });
  await blocker.connect();
  ctx.defer(() => blocker.end());
  await blocker.query("BEGIN");
  await blocker.query('LOCK TABLE "ReportResult" IN EXCLUSIVE MODE');

  const { analysis } = await ctx.repos.analyses.requestAnalysis({
    tenantId: seeded.tenantId,
    studyId: seeded.studyId,
    imageId: seeded.imageId,
    task: "REPORT",
    idempotencyKey: "kill-1",
  });
  const first = startWorkerProcess(ctx, { ...env, WORKER_ID: "victim" });
  try {
    await waitFor(
      "the first worker to claim the analysis",
      async () => (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))?.status === "RUNNING",
      120_000,
      20,
    );
    // and to be inside its result transaction, waiting for the table lock
    await waitFor(
      "the first worker to block in its result write",
      async () => {
        // not on the blocker's connection: inside its transaction pg_stat_activity is a frozen snapshot
        return (await lockWaiters(ctx)) > 0;
      },
      30_000,
      20,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nfirst worker output:\n${first.output()}`);
  }
  const code = await first.kill("SIGKILL");
  assert.equal(first.child.signalCode, "SIGKILL", `killed, not exited (${code})`);
  // The result write is one statement, which would commit once the lock is free even with its client gone;
  // PostgreSQL cancels it when its client check (every second, lib/db/client.ts) finds the client dead.
  await waitFor("the dead worker's statement to be cancelled", async () => (await lockWaiters(ctx)) === 0, 10_000, 50);
  await blocker.query("ROLLBACK");

  const mid = (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))!;
  assert.equal(mid.status, "RUNNING", "left RUNNING by the killed worker");
  assert.equal(mid.attempts, 1);
  assert.equal(
    await ctx.db.prisma.reportResult.count({ where: { analysisId: analysis.id } }),
    0,
    "the killed worker's transaction never committed",
  );

  const second = startWorkerProcess(ctx, { ...env, WORKER_ID: "survivor" });
  try {
    await waitFor(
      "the second worker to finish the analysis",
      async () => (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))?.status === "SUCCEEDED",
      120_000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nsecond worker output:\n${second.output()}`);
  }
  const done = (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))!;
  assert.equal(done.attempts, 2, "one attempt per worker");
  assert.equal(await ctx.db.prisma.reportResult.count({ where: { analysisId: analysis.id } }), 1, "exactly one result");
  assert.equal(await ctx.db.prisma.processedMessage.count(), 1);
  const event = await waitFor("AnalysisCompleted", async () => completed.messages.find((m) => m.json?.analysisId === analysis.id), 30_000);
  assert.equal(decodeEvent("AnalysisCompleted", event.message.value).status, "SUCCEEDED");
  const beats = await ctx.repos.heartbeats.list();
  assert.deepEqual(new Set(beats.map((b) => b.workerId)), new Set(["victim", "survivor"]));

  // SIGTERM: a graceful stop (drain, commit, disconnect, close) exits 0 and says so in its heartbeat
  const exitCode = await second.kill("SIGTERM");
  assert.equal(exitCode, 0, second.output());
  assert.equal((await ctx.repos.heartbeats.findById("survivor"))?.status, "STOPPED");
  assert.equal((await ctx.repos.heartbeats.findById("victim"))?.status !== "STOPPED", true, "a killed worker cannot say goodbye");
});

test("SIGTERM in the middle of an analysis drains it: the result is stored, the offset committed, the process exits 0", async (t) => {
  const ctx = await createTestContext(t, { partitions: 1 });
  const store = tempStore(t);
  const seeded = await seedStudy(ctx.repos, store, goldenImage(bundleDir), `term${Date.now()}`);
  const groupId = `wl-term-${ctx.topicPrefix}`;
  const env = workerEnv({
    databaseUrl: ctx.databaseUrl,
    brokers: ctx.brokers,
    topics: ctx.topics,
    bundleDir,
    storageDir: store.root,
    groupId,
  });

  const blocker = new pg.Client({ connectionString: ctx.databaseUrl });
  await blocker.connect();
  ctx.defer(() => blocker.end());
  await blocker.query("BEGIN");
  await blocker.query('LOCK TABLE "VqaAnswer" IN EXCLUSIVE MODE');
  const { analysis } = await ctx.repos.analyses.requestAnalysis({
    tenantId: seeded.tenantId,
    studyId: seeded.studyId,
    imageId: seeded.imageId,
    task: "VQA",
    question: "Is there a pleural effusion?",
    idempotencyKey: "term-1",
  });
  const worker = startWorkerProcess(ctx, { ...env, WORKER_ID: "draining" });
  try {
    await waitFor(
      "the worker to block in its result write",
      async () => {
        // not on the blocker's connection: inside its transaction pg_stat_activity is a frozen snapshot
        return (await lockWaiters(ctx)) > 0;
      },
      120_000,
      20,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nworker output:\n${worker.output()}`);
  }
  worker.child.kill("SIGTERM");
  await waitFor(
    "the heartbeat to say STOPPING",
    async () => (await ctx.repos.heartbeats.findById("draining"))?.status === "STOPPING",
    10_000,
  );
  assert.equal(worker.child.exitCode, null, "still draining while its write waits");
  await blocker.query("ROLLBACK");

  assert.equal(await worker.exited, 0, worker.output());
  const done = (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))!;
  assert.equal(done.status, "SUCCEEDED", "the in-flight analysis was finished, not abandoned");
  assert.equal(await ctx.db.prisma.vqaAnswer.count({ where: { analysisId: analysis.id } }), 1);
  const admin = await ctx.kafka.admin();
  ctx.defer(() => admin.disconnect());
  const [high] = await admin.topicOffsets(ctx.topics.requested);
  const [committed] = await admin.groupOffsets(groupId, ctx.topics.requested);
  assert.equal(committed?.offset, high?.high, "its offset was committed before the consumer left");
  assert.equal((await ctx.repos.heartbeats.findById("draining"))?.status, "STOPPED");
});
