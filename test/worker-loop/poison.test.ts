// Poison messages never block a partition: garbage bytes, an event for an analysis that does not exist, an
// analysis whose image cannot be decoded (not retriable) and one whose image file is missing (retriable, retried
// with backoff, then given up) all go to the dead-letter topic; the analyses that exist end FAILED with the
// reason and a FAILED completion; a good request on the same partition afterwards still succeeds.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { decodeEvent, encodeEvent } from "../../lib/events/index.ts";
import { createTestContext } from "../helpers/index.ts";
import type { Engine } from "../../workers/analysis/src/inference/engine.ts";
import { createAnalysisWorker } from "../../workers/analysis/src/worker.ts";
import { collectTopic, goldenImage, resolveBundleDir, seedStudy, tempStore, waitFor, workerConfig, loadBundleForFile } from "./harness.ts";

const bundleDir = resolveBundleDir();
let engine: Engine;

loadBundleForFile(bundleDir, (_, e) => {
  engine = e;
});

test("poison messages are dead-lettered, existing analyses end FAILED with the reason, and the worker keeps consuming", async (t) => {
  const ctx = await createTestContext(t, { partitions: 1 }); // one partition: everything below is in one queue
  const store = tempStore(t);
  const good = await seedStudy(ctx.repos, store, goldenImage(bundleDir), `pg${Date.now()}`);
  const deadLetters = await collectTopic(ctx, ctx.topics.deadLetter);
  const completed = await collectTopic(ctx, ctx.topics.completed);

  // an image whose stored "PNG" is garbage, and one whose file disappeared from the store
  const corrupt = await store.put(Buffer.from("this is not a png at all"), "png");
  const missing = await store.put(Buffer.from("soon gone"), "png");
  const attach = (sha256: string, key: string) =>
    ctx.repos.images.attach({
      tenantId: good.tenantId,
      studyId: good.studyId,
      sha256,
      format: "PNG",
      width: 10,
      height: 10,
      bytes: 10,
      bitDepth: 8,
      storageKey: key,
      derivedPngKey: key,
    });
  const corruptImage = (await attach(corrupt.sha256, corrupt.key)).image;
  const missingImage = (await attach(missing.sha256, missing.key)).image;
  await store.delete(missing.key);

  const producer = await ctx.producer();
  const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0x13, 0x37]);
  await producer.send([{ topic: ctx.topics.requested, key: good.studyId, value: garbage }]);
  const ghostId = randomUUID();
  const ghost = encodeEvent("AnalysisRequested", {
    type: "AnalysisRequested",
    version: 1,
    eventId: randomUUID(),
    tenantId: good.tenantId,
    studyId: good.studyId,
    analysisId: ghostId,
    imageId: good.imageId,
    task: "CLASSIFICATION",
    attempt: 1,
    requestedAt: new Date().toISOString(),
  });
  await producer.send([{ topic: ctx.topics.requested, key: good.studyId, value: ghost }]);

  const request = (imageId: string, key: string, task: "CLASSIFICATION" | "REPORT" = "CLASSIFICATION") =>
    ctx.repos.analyses.requestAnalysis({ tenantId: good.tenantId, studyId: good.studyId, imageId, task, idempotencyKey: key });
  const badImage = (await request(corruptImage.id, "corrupt")).analysis;
  const noFile = (await request(missingImage.id, "missing")).analysis;
  const fine = (await request(good.imageId, "good", "REPORT")).analysis;

  // the worker starts after everything is queued: the good request is behind four poison messages
  const config = workerConfig({
    databaseUrl: ctx.databaseUrl,
    brokers: ctx.brokers,
    topics: ctx.topics,
    bundleDir,
    storageDir: store.root,
  });
  const worker = createAnalysisWorker({ config, db: ctx.db, kafka: ctx.kafka, engine, imageStore: store });
  ctx.defer(() => worker.stop());
  await worker.start();

  await waitFor(
    "the good analysis to succeed",
    async () => (await ctx.repos.analyses.findById(good.tenantId, fine.id))?.status === "SUCCEEDED",
    90_000,
  );
  const letters = await waitFor("four dead letters", async () => deadLetters.messages.length >= 4 && deadLetters.messages, 30_000);
  const byReason = letters.map((l) => decodeEvent("DeadLetter", l.message.value));

  const garbageLetter = byReason.find((l) => l.error.code === "INVALID_EVENT");
  assert.ok(garbageLetter, "garbage bytes are dead-lettered as INVALID_EVENT");
  assert.equal(garbageLetter.original.headers?.["x-value-encoding"], "base64");
  assert.deepEqual(Buffer.from(garbageLetter.original.value!, "base64"), garbage, "the original bytes are kept");
  assert.equal(garbageLetter.original.topic, ctx.topics.requested);

  const ghostLetter = byReason.find((l) => l.original.value?.includes(ghostId));
  assert.ok(ghostLetter);
  assert.equal(ghostLetter.error.code, "NOT_FOUND");
  assert.equal(ghostLetter.original.value, ghost);

  const corruptLetter = byReason.find((l) => l.original.value?.includes(badImage.id));
  assert.ok(corruptLetter);
  assert.equal(corruptLetter.error.code, "VALIDATION");
  assert.equal(corruptLetter.attempts, 1, "not retriable: dead-lettered after one try");
  // messages of a partition are handled concurrently (batch mode): the good one may finish before this one's
  // FAILED (written right after its dead letter) is committed, so wait for the state instead of assuming order
  const failedBad = await waitFor(
    "the corrupt image's analysis FAILED",
    async () => {
      const a = (await ctx.repos.analyses.findById(good.tenantId, badImage.id))!;
      return a.status === "FAILED" && a;
    },
    15_000,
  );
  assert.equal(failedBad.status, "FAILED");
  assert.equal(failedBad.errorCode, "VALIDATION");
  assert.match(failedBad.errorMessage ?? "", /PNG/);

  const missingLetter = byReason.find((l) => l.original.value?.includes(noFile.id));
  assert.ok(missingLetter);
  assert.equal(missingLetter.error.code, "UNAVAILABLE");
  assert.equal(missingLetter.attempts, 3, "retriable: tried maxAttempts times");
  const failedMissing = await waitFor(
    "the missing file's analysis FAILED",
    async () => {
      const a = (await ctx.repos.analyses.findById(good.tenantId, noFile.id))!;
      return a.status === "FAILED" && a;
    },
    15_000,
  );
  assert.equal(failedMissing.status, "FAILED");
  assert.equal(failedMissing.attempts, 3);
  assert.match(failedMissing.errorMessage ?? "", /missing/);

  // FAILED completions for the two analyses that exist, SUCCEEDED for the good one
  const statuses = await waitFor(
    "three completions",
    async () => {
      const mine = completed.messages.map((m) => decodeEvent("AnalysisCompleted", m.message.value));
      return mine.length >= 3 && mine;
    },
    30_000,
  );
  const statusOf = (id: string) => statuses.find((e) => e.analysisId === id);
  assert.equal(statusOf(badImage.id)?.status, "FAILED");
  assert.equal(statusOf(badImage.id)?.error?.code, "VALIDATION");
  assert.equal(statusOf(noFile.id)?.status, "FAILED");
  assert.equal(statusOf(fine.id)?.status, "SUCCEEDED");
  assert.equal(await ctx.db.prisma.analysis.count({ where: { id: ghostId } }), 0, "nothing invented for the unknown analysis");
  assert.equal(await ctx.db.prisma.reportResult.count({ where: { analysisId: fine.id } }), 1);
  assert.deepEqual(worker.stats().counts, { succeeded: 1, skipped: 0, failed: 2, deadLettered: 4, messages: 5 });
});

test("an analysis left RUNNING by workers that died maxAttempts times is failed instead of crash-looping", async (t) => {
  const ctx = await createTestContext(t, { partitions: 1 });
  const store = tempStore(t);
  const seeded = await seedStudy(ctx.repos, store, goldenImage(bundleDir), `cl${Date.now()}`);
  const deadLetters = await collectTopic(ctx, ctx.topics.deadLetter);
  const { analysis } = await ctx.repos.analyses.requestAnalysis({
    tenantId: seeded.tenantId,
    studyId: seeded.studyId,
    imageId: seeded.imageId,
    task: "VQA",
    question: "is there a pneumothorax?",
    idempotencyKey: "cl",
  });
  // three earlier deliveries claimed it and never finished (what SIGKILL/OOM mid-analysis leaves behind)
  for (let i = 0; i < 3; i++) assert.ok(await ctx.repos.analyses.startAttempt(analysis.id));

  const config = workerConfig({
    databaseUrl: ctx.databaseUrl,
    brokers: ctx.brokers,
    topics: ctx.topics,
    bundleDir,
    storageDir: store.root,
  });
  const worker = createAnalysisWorker({ config, db: ctx.db, kafka: ctx.kafka, engine, imageStore: store });
  ctx.defer(() => worker.stop());
  await worker.start();

  const failed = await waitFor(
    "FAILED",
    async () => {
      const a = await ctx.repos.analyses.findById(seeded.tenantId, analysis.id);
      return a?.status === "FAILED" && a;
    },
    60_000,
  );
  assert.equal(failed.errorCode, "WORKER_CRASHED");
  assert.equal(failed.attempts, 3, "no fourth attempt");
  const letter = await waitFor("a dead letter", async () => deadLetters.messages[0]);
  assert.equal(decodeEvent("DeadLetter", letter.message.value).error.code, "WORKER_CRASHED");
});
