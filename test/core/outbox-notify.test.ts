// The relay's onNotify: every relay with a LISTEN connection, leader or follower, is told when outbox rows commit,
// so a gateway replica wakes its transition tailer at once instead of when the event is back from Kafka.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createOutboxRelay } from "../../lib/outbox/index.ts";
import { createTestContext, seedStudy, waitFor } from "../helpers/index.ts";

test("leader and follower relays both call onNotify when outbox rows are committed", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  const told = { leader: 0, follower: 0 };
  const options = { outbox: ctx.repos.outbox, databaseUrl: ctx.databaseUrl, pollIntervalMs: 100 };
  const leader = createOutboxRelay({ ...options, producer: await ctx.producer(), onNotify: () => told.leader++ });
  await leader.start();
  ctx.defer(() => leader.stop());
  const follower = createOutboxRelay({ ...options, producer: await ctx.producer(), onNotify: () => told.follower++ });
  await follower.start();
  ctx.defer(() => follower.stop());
  const before = { ...told };
  await ctx.repos.analyses.requestAnalysis({
    tenantId: s.tenantId,
    studyId: s.studyId,
    imageId: s.imageId,
    task: "CLASSIFICATION",
    idempotencyKey: "notify-1",
  });
  await waitFor("both relays told", () => told.leader > before.leader && told.follower > before.follower, 10_000);
  await waitFor("published by the leader", () => leader.published() + follower.published() === 1, 30_000);
  assert.equal(follower.published(), 0, "the follower only listens");
});
