// One job per requested image, spread over the partitions: two workers of one consumer group share the studies,
// and each study's analyses are claimed together and written by one transaction. Real PostgreSQL, Kafka and
// ONNX Runtime.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createOutboxRelay } from "../../lib/outbox/index.ts";
import { createTestContext } from "../helpers/index.ts";
import type { Engine } from "../../workers/analysis/src/inference/engine.ts";
import { createAnalysisWorker } from "../../workers/analysis/src/worker.ts";
import { collectTopic, goldenImage, resolveBundleDir, seedStudy, tempStore, waitFor, workerConfig, loadBundleForFile } from "./harness.ts";

const bundleDir = resolveBundleDir();
let engine: Engine;

loadBundleForFile(bundleDir, (_, e) => {
  engine = e;
});

const STUDIES = 16;

test("two workers of one group share the studies' jobs, and each study's analyses finish in one transaction", async (t) => {
  const ctx = await createTestContext(t, { partitions: 6 });
  const store = tempStore(t);
  const requested = await collectTopic(ctx, ctx.topics.requested);
  const base = { databaseUrl: ctx.databaseUrl, brokers: ctx.brokers, topics: ctx.topics, bundleDir, storageDir: store.root };
  const workers: ReturnType<typeof createAnalysisWorker>[] = [];
  for (let i = 0; i < 2; i++) {
    // one engine for both (one process here); each worker has its own consumer, relay and heartbeat
    const worker = createAnalysisWorker({ config: workerConfig(base), db: ctx.db, kafka: ctx.kafka, engine, imageStore: store });
    ctx.defer(() => worker.stop());
    await worker.start();
    workers.push(worker);
  }
  const relay = createOutboxRelay({
    outbox: ctx.repos.outbox,
    producer: await ctx.producer(),
    databaseUrl: ctx.databaseUrl,
    log: () => undefined,
  });
  ctx.defer(() => relay.stop());
  await relay.start();

  const seeded: Awaited<ReturnType<typeof seedStudy>>[] = [];
  for (let i = 0; i < STUDIES; i++) seeded.push(await seedStudy(ctx.repos, store, goldenImage(bundleDir, i % 2), `jobs${i}-${Date.now()}`));
  const outcomes = (
    await Promise.all(
      seeded.map((s) =>
        ctx.repos.analyses.requestAnalyses(
          (["CLASSIFICATION", "LOCALIZATION"] as const).map((task) => ({
            tenantId: s.tenantId,
            studyId: s.studyId,
            imageId: s.imageId,
            task,
            idempotencyKey: `${s.studyId}-${task}`,
          })),
        ),
      ),
    )
  ).flat();
  const ids = outcomes.map((o) => o.analysis.id);

  await waitFor(
    `all ${ids.length} analyses SUCCEEDED`,
    async () => (await ctx.db.prisma.analysis.count({ where: { id: { in: ids }, status: "SUCCEEDED" } })) === ids.length,
    240_000,
    200,
  );

  const jobMessages = requested.messages.filter((m) => seeded.some((s) => s.studyId === m.message.key));
  assert.equal(jobMessages.length, STUDIES, "one job message per study image");
  for (const s of seeded) {
    const rows = await ctx.db.prisma.analysis.findMany({ where: { studyId: s.studyId } });
    assert.equal(rows.length, 2);
    assert.equal(new Set(rows.map((a) => a.finishedAt!.getTime())).size, 1, `study ${s.studyId}: one transaction`);
    assert.ok(rows.every((a) => a.attempts === 1));
  }
  const perWorker = workers.map((w) => w.stats().counts);
  t.diagnostic(
    `job messages per worker: ${perWorker.map((c) => c.messages).join(" / ")}; analyses: ${perWorker.map((c) => c.succeeded).join(" / ")}`,
  );
  assert.equal(
    perWorker.reduce((n, c) => n + c.succeeded, 0),
    ids.length,
    "every analysis written once",
  );
  for (const counts of perWorker) assert.ok(counts.messages > 0, "each worker of the group took a share of the studies");
  assert.equal(await ctx.db.prisma.processedMessage.count(), STUDIES);
});
