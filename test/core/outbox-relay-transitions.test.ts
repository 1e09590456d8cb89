// The relay's publishing transaction must not hold back subscription updates: an analysis transition committed
// while the relay is sending a batch to Kafka is readable from the transition log before the send ends
// (a row lock in the relay's transaction would give it a transaction id older than the transition's).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { createTestContext } from "../helpers/index.ts";
import { createTransitionRepository, recordTransition, START } from "../../lib/db/repositories/transitions.ts";

test("a transition committed during the relay's Kafka send is readable before the send ends", { timeout: 120_000 }, async (t) => {
  const ctx = await createTestContext(t);
  const prisma = ctx.db.prisma;
  const log = createTransitionRepository(prisma);
  const tenantId = `t-${randomUUID()}`;
  await ctx.repos.outbox.enqueue({ topic: "unused", key: "k", payload: { n: 1 } });

  let seenDuringSend: { rows: number; pending: boolean } | null = null;
  const published = await ctx.repos.outbox.publishBatch(10, async () => {
    await prisma.$transaction((tx) => recordTransition(tx, { id: "a", tenantId, studyId: "s" }, "SUCCEEDED", new Date()));
    const read = await log.readAfter(START, 10, { tenantId });
    seenDuringSend = { rows: read.rows.length, pending: read.pending };
  });
  assert.equal(published, 1);
  assert.deepEqual(seenDuringSend, { rows: 1, pending: false });
});
