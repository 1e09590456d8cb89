// The relay with a LISTEN connection leads: it holds the relay lock on that connection while it runs. When it stops
// (or its connection dies) the lock goes with it, and a follower takes over at its next try.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createOutboxRelay } from "../../lib/outbox/index.ts";
import { collectMessages, createTestContext, seedStudy, waitFor } from "../helpers/index.ts";

test("when the leading relay stops, a follower takes over and publishes what is committed after", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  const sink = collectMessages();
  await ctx.consumer({ groupId: `${ctx.topicPrefix}reader`, topics: [ctx.topics.requested], fromBeginning: true, handle: sink.handle });
  const options = { outbox: ctx.repos.outbox, databaseUrl: ctx.databaseUrl, pollIntervalMs: 100 };
  const leader = createOutboxRelay({ ...options, producer: await ctx.producer() });
  await leader.start();
  ctx.defer(() => leader.stop());
  const follower = createOutboxRelay({ ...options, producer: await ctx.producer() });
  await follower.start();
  ctx.defer(() => follower.stop());
  const ask = (i: number) =>
    ctx.repos.analyses.requestAnalysis({
      tenantId: s.tenantId,
      studyId: s.studyId,
      imageId: s.imageId,
      task: "CLASSIFICATION",
      idempotencyKey: `k${i}`,
    });

  await ask(1);
  await sink.until(1, 30_000);
  assert.deepEqual([leader.published(), follower.published()], [1, 0], "the first relay leads; the follower publishes nothing");

  await leader.stop();
  await ask(2);
  await sink.until(2, 30_000);
  await waitFor("outbox drained", async () => (await ctx.repos.outbox.countUnsent()) === 0);
  assert.deepEqual([leader.published(), follower.published()], [1, 1]);
  assert.equal(new Set(sink.messages.map((m) => m.headers["event-id"])).size, 2);
});
