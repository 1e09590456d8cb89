// The outbox relay publishes at least once: a relay that died between the Kafka send and its mark leaves the next
// leader to send the batch again. Both copies of the job can then reach one worker's batch; the second waits for
// the first, finds the message processed, and is skipped, so the republish costs no try of the crash-loop guard.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toKafkaMessage } from "../../lib/outbox/index.ts";
import type { OutboxRow } from "../../lib/db/repositories/outbox.ts";
import { createTestContext } from "../helpers/index.ts";
import type { Engine } from "../../workers/analysis/src/inference/engine.ts";
import { createAnalysisWorker } from "../../workers/analysis/src/worker.ts";
import { goldenImage, resolveBundleDir, seedStudy, tempStore, waitFor, workerConfig, loadBundleForFile } from "./harness.ts";

const bundleDir = resolveBundleDir();
let engine: Engine;

loadBundleForFile(bundleDir, (_, e) => {
  engine = e;
});

test("a job message published twice reaches the worker: one try, one result, one completion", async (t) => {
  const ctx = await createTestContext(t, { partitions: 1 });
  const store = tempStore(t);
  const seeded = await seedStudy(ctx.repos, store, goldenImage(bundleDir), `rp${Date.now()}`);
  const { analysis } = await ctx.repos.analyses.requestAnalysis({
    tenantId: seeded.tenantId,
    studyId: seeded.studyId,
    imageId: seeded.imageId,
    task: "CLASSIFICATION",
    idempotencyKey: "republished",
  });
  // the relay's work done twice by hand: the same outbox row sent twice, then marked
  const [row] = await ctx.db.prisma.outboxEvent.findMany({ where: { topic: ctx.topics.requested, sentAt: null } });
  assert.ok(row);
  const producer = await ctx.producer();
  const message = toKafkaMessage(row as unknown as OutboxRow);
  await producer.send([message]);
  await producer.send([message]);
  await ctx.db.prisma.outboxEvent.update({ where: { id: row.id }, data: { sentAt: new Date(), attempts: 1 } });

  const worker = createAnalysisWorker({
    config: workerConfig({ databaseUrl: ctx.databaseUrl, brokers: ctx.brokers, topics: ctx.topics, bundleDir, storageDir: store.root }),
    db: ctx.db,
    kafka: ctx.kafka,
    engine,
    imageStore: store,
  });
  ctx.defer(() => worker.stop());
  await worker.start();

  await waitFor(
    "the analysis to succeed",
    async () => (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))?.status === "SUCCEEDED",
    90_000,
  );
  await new Promise((r) => setTimeout(r, 2000)); // the second copy's turn
  const done = (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))!;
  assert.equal(done.attempts, 1, "the copy cost no try");
  assert.equal(
    await ctx.db.prisma.findingResult.groupBy({ by: ["label"], where: { analysisId: analysis.id } }).then((g) => g.length > 0),
    true,
  );
  assert.equal(await ctx.db.prisma.processedMessage.count(), 1);
  const completions = await ctx.db.prisma.outboxEvent.findMany({ where: { topic: ctx.topics.completed } });
  assert.equal(completions.filter((e) => (e.payload as { analysisId?: string }).analysisId === analysis.id).length, 1);
});
