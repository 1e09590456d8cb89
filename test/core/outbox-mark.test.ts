// The leading relay marks a batch sent with its next pass's read (one statement per pass), or on its own after
// markDelayMs. A relay that dies between the Kafka send and that mark leaves the rows unsent: the next leader
// sends them again, with the same event id (at least once; consumers dedupe by it).
import assert from "node:assert/strict";
import { test } from "node:test";
import { createOutboxRelay } from "../../lib/outbox/index.ts";
import { collectMessages, createTestContext, waitFor } from "../helpers/index.ts";

const attemptsOf = async (ctx: Awaited<ReturnType<typeof createTestContext>>) =>
  (await ctx.db.prisma.outboxEvent.findMany({ orderBy: { id: "asc" }, select: { attempts: true } })).map((r) => r.attempts);

test("the next pass's read marks the batch before it: nothing is sent twice and every row ends marked once", async (t) => {
  const ctx = await createTestContext(t);
  const sink = collectMessages();
  await ctx.consumer({ groupId: `${ctx.topicPrefix}reader`, topics: [ctx.topics.completed], fromBeginning: true, handle: sink.handle });
  // no mark of its own during the test: only a following pass (or flush) marks
  const relay = createOutboxRelay({
    outbox: ctx.repos.outbox,
    producer: await ctx.producer(),
    databaseUrl: ctx.databaseUrl,
    pollIntervalMs: 600_000,
    markDelayMs: 600_000,
  });
  await relay.start();
  ctx.defer(() => relay.stop());
  await waitFor("relay listening", () => relay.ready());

  await ctx.repos.outbox.enqueue({ topic: ctx.topics.completed, key: "study-1", payload: { n: 1 } });
  await sink.until(1, 20_000);
  assert.equal(await ctx.repos.outbox.countUnsent(), 1, "sent, its mark waits for the next pass");

  await ctx.repos.outbox.enqueue({ topic: ctx.topics.completed, key: "study-1", payload: { n: 2 } });
  await sink.until(2, 20_000);
  // the second pass marked the first row in the statement that read the second
  await waitFor("first row marked", async () => (await ctx.repos.outbox.countUnsent()) === 1, 5_000);
  assert.deepEqual(await attemptsOf(ctx), [1, 0]);

  assert.equal(await relay.flush(), 0);
  assert.equal(await ctx.repos.outbox.countUnsent(), 0, "flush marks what was sent");
  assert.deepEqual(await attemptsOf(ctx), [1, 1]);
  await new Promise((r) => setTimeout(r, 300)); // would-be duplicates have time to arrive
  assert.deepEqual(
    sink.messages.map((m) => JSON.parse(m.value!.toString()).n),
    [1, 2],
  );
});

test("a leading relay that dies between the send and the mark: the next leader sends the rows again with the same event id", async (t) => {
  const ctx = await createTestContext(t);
  const sink = collectMessages();
  await ctx.consumer({ groupId: `${ctx.topicPrefix}reader`, topics: [ctx.topics.completed], fromBeginning: true, handle: sink.handle });
  const leader = createOutboxRelay({
    outbox: ctx.repos.outbox,
    producer: await ctx.producer(),
    databaseUrl: ctx.databaseUrl,
    pollIntervalMs: 600_000,
    markDelayMs: 600_000,
  });
  await leader.start();
  ctx.defer(() => leader.stop());
  await waitFor("leader listening", () => leader.ready());
  const follower = createOutboxRelay({
    outbox: ctx.repos.outbox,
    producer: await ctx.producer(),
    databaseUrl: ctx.databaseUrl,
    pollIntervalMs: 100,
  });
  await follower.start();
  ctx.defer(() => follower.stop());

  await ctx.repos.outbox.enqueue({ topic: ctx.topics.completed, key: "study-1", payload: { n: 1 } });
  await sink.until(1, 20_000);
  assert.equal(leader.published(), 1);
  assert.equal(await ctx.repos.outbox.countUnsent(), 1);

  // the leader's connection dies (as with a crash): its session lock and its unmarked batch go with it
  await ctx.db.prisma.$queryRaw`
    SELECT pg_terminate_backend(l.pid) FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.objid = 727001 AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

  await sink.until(2, 20_000);
  await waitFor("row marked by the new leader", async () => (await ctx.repos.outbox.countUnsent()) === 0, 10_000);
  assert.equal(leader.published() + follower.published(), 2, "whichever relay leads next sends it again");
  const ids = sink.messages.map((m) => m.headers["event-id"]);
  assert.equal(ids[0], ids[1], "the same event, sent twice");
  assert.deepEqual(await attemptsOf(ctx), [1], "marked once");
});
