import { test } from "node:test";
import assert from "node:assert/strict";
import { createOutboxRelay } from "../../lib/outbox/index.ts";
import { jobOf, decodeEvent } from "../../lib/events/index.ts";
import type { IncomingMessage } from "../../lib/kafka/index.ts";
import { collectMessages, createTestContext, seedStudy, waitFor } from "../helpers/index.ts";

test("the outbox relay publishes committed requests to Kafka, keyed by study, woken by NOTIFY", async (t) => {
  const ctx = await createTestContext(t);
  const sink = collectMessages();
  await ctx.consumer({ groupId: `${ctx.topicPrefix}reader`, topics: [ctx.topics.requested], fromBeginning: true, handle: sink.handle });
  const producer = await ctx.producer();
  // a poll interval far longer than the test: only LISTEN/NOTIFY can make it publish in time
  const relay = createOutboxRelay({ outbox: ctx.repos.outbox, producer, databaseUrl: ctx.databaseUrl, pollIntervalMs: 600_000 });
  await relay.start();
  ctx.defer(() => relay.stop());
  await waitFor("relay listening", () => relay.ready());

  const studyA = await seedStudy(ctx.repos, "a");
  const studyB = await seedStudy(ctx.repos, "b");
  const requests = [studyA, studyB].flatMap((s) =>
    (["CLASSIFICATION", "LOCALIZATION", "REPORT"] as const).map((task) => ({
      tenantId: s.tenantId,
      studyId: s.studyId,
      imageId: s.imageId,
      task,
      idempotencyKey: `${s.studyId}-${task}`,
    })),
  );
  const started = Date.now();
  const outcomes = await ctx.repos.analyses.requestAnalyses(requests);
  const messages = await sink.until(2, 30_000);
  const latencyMs = Date.now() - started;

  // one job message per requested image (v2, ids only), keyed by study, naming its analyses in request order
  assert.equal(messages.length, 2);
  for (const s of [studyA, studyB]) {
    const message = messages.find((m) => m.key === s.studyId)!;
    const event = decodeEvent("AnalysisRequested", message.value);
    assert.equal(event.version, 2);
    assert.equal(message.headers["event-id"], event.eventId);
    assert.equal(message.headers["event-type"], "AnalysisRequested");
    const mine = outcomes.filter((o) => o.analysis.studyId === s.studyId).map((o) => o.analysis.id);
    assert.deepEqual(jobOf(event).analysisIds, mine);
    assert.equal(jobOf(event).imageId, s.imageId);
  }
  // the mark follows the send: with the next pass's read, or on its own within markDelayMs (250 ms)
  await waitFor("rows marked sent", async () => (await ctx.repos.outbox.countUnsent()) === 0, 5_000);
  assert.equal(relay.published(), 2);
  t.diagnostic(`request commit -> consumer received 2 job messages: ${latencyMs} ms`);
});

test("two relays publish every row exactly once", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  for (let i = 0; i < 25; i++) {
    await ctx.repos.analyses.requestAnalysis({
      tenantId: s.tenantId,
      studyId: s.studyId,
      imageId: s.imageId,
      task: "VQA",
      question: `question ${i}?`,
      idempotencyKey: `q${i}`,
    });
  }
  const sink = collectMessages();
  await ctx.consumer({ groupId: `${ctx.topicPrefix}reader`, topics: [ctx.topics.requested], fromBeginning: true, handle: sink.handle });
  const relays = [await ctx.producer(), await ctx.producer()].map((producer) =>
    createOutboxRelay({ outbox: ctx.repos.outbox, producer, databaseUrl: ctx.databaseUrl, pollIntervalMs: 100, batchSize: 4 }),
  );
  for (const relay of relays) {
    await relay.start();
    ctx.defer(() => relay.stop());
  }
  await sink.until(25, 30_000);
  await waitFor("outbox drained", async () => (await ctx.repos.outbox.countUnsent()) === 0);
  await new Promise((r) => setTimeout(r, 500)); // would-be duplicates have time to arrive
  const ids = sink.messages.map((m) => m.headers["event-id"]);
  assert.equal(ids.length, 25);
  assert.equal(new Set(ids).size, 25);
  assert.equal(relays[0]!.published() + relays[1]!.published(), 25);
  const order = await ctx.db.prisma.analysis.findMany({
    where: { studyId: s.studyId },
    orderBy: { requestedAt: "asc" },
    select: { id: true, question: true },
  });
  const questionOf = new Map(order.map((a) => [a.id, a.question]));
  assert.deepEqual(
    sink.messages.map((m) => questionOf.get(jobOf(decodeEvent("AnalysisRequested", m.value)).analysisIds[0]!)),
    Array.from({ length: 25 }, (_, i) => `question ${i}?`),
    "one study key keeps insertion order across relays",
  );
});

test("a consumer commits an offset only after its handler succeeded, so a failed message comes again", async (t) => {
  const ctx = await createTestContext(t, { partitions: 1 });
  const producer = await ctx.producer();
  await producer.send([1, 2, 3].map((n) => ({ topic: ctx.topics.completed, key: "study-1", value: JSON.stringify({ n }) })));

  const seen: number[] = [];
  const done: IncomingMessage[] = [];
  let failedOnce = false;
  const groupId = `${ctx.topicPrefix}worker`;
  await ctx.consumer({
    groupId,
    topics: [ctx.topics.completed],
    fromBeginning: true,
    async handle(message) {
      const n = JSON.parse(message.value!.toString()).n as number;
      seen.push(n);
      if (n === 2 && !failedOnce) {
        failedOnce = true;
        throw new Error("transient failure while storing the result");
      }
      done.push(message);
    },
  });
  await waitFor("all three handled", () => done.length === 3, 60_000);
  assert.deepEqual(
    done.map((m) => JSON.parse(m.value!.toString()).n),
    [1, 2, 3],
  );
  assert.deepEqual(seen.slice(0, 3), [1, 2, 2], "message 2 was delivered again after the failure");
  const admin = await ctx.kafka.admin();
  ctx.defer(() => admin.disconnect());
  const offsets = await waitFor("offset committed", async () => {
    const o = await admin.groupOffsets(groupId, ctx.topics.completed);
    return o[0]?.offset === "3" ? o : undefined;
  });
  assert.deepEqual(offsets, [{ partition: 0, offset: "3" }]);
});
