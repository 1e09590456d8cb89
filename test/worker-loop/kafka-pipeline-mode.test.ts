// lib/kafka pipelined mode (`pipeline: { maxInFlight }`, what the analysis worker runs) against the real broker:
// a message produced while an earlier one is still being handled is fetched and started at once (kafkajs fetches
// a broker again only after its last fetch's batches returned; in batch mode they return when every handler has
// finished), yet commits stay the handled prefix and a failed handler loses nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "../../lib/kafka/index.ts";
import { committedOffset, createTestContext, waitFor } from "../helpers/index.ts";

test("pipelined mode starts a message produced while an earlier one of its partition still runs", async (t) => {
  const ctx = await createTestContext(t);
  const producer = await ctx.producer();
  const started = new Set<string>();
  const deliveries: string[] = [];
  const finished: string[] = [];
  let partition = -1;
  let base = -1n;
  const groupId = `${ctx.topicPrefix}pipe`;
  await ctx.consumer({
    groupId,
    topics: [ctx.topics.requested],
    fromBeginning: true,
    pipeline: { maxInFlight: 4 },
    async handle(message: IncomingMessage) {
      const value = String(message.value);
      started.add(value);
      deliveries.push(value);
      partition = message.partition;
      if (value === "first") {
        base = BigInt(message.offset);
        // held until the second message, produced after this one started, has started too: a consumer that
        // fetches again only after this handler returns never gets there
        await waitFor("the later message started", () => started.has("second"), 10_000);
      }
      finished.push(value);
    },
  });
  await producer.send([{ topic: ctx.topics.requested, key: "study-p", value: "first" }]);
  await waitFor("first started", () => started.has("first"), 30_000);
  await producer.send([{ topic: ctx.topics.requested, key: "study-p", value: "second" }]);
  await waitFor("both handled", () => finished.length === 2, 30_000);
  // in batch mode the held handler times out (the later message is fetched only after it), throws, and the
  // first message comes again
  assert.deepEqual(deliveries, ["first", "second"], "each delivered once, the later one while the earlier still ran");
  assert.deepEqual(finished, ["second", "first"]);
  await waitFor("both committed", async () => (await committedOffset(ctx, groupId, partition)) === base + 2n, 15_000);
});

test("pipelined mode: a handler that throws is delivered again after the member is replaced; the rest is committed once", async (t) => {
  const ctx = await createTestContext(t);
  const producer = await ctx.producer();
  await producer.send([0, 1, 2].map((i) => ({ topic: ctx.topics.requested, key: "study-q", value: `m${i}` })));
  const deliveries: string[] = [];
  const handled = new Set<string>();
  let partition = -1;
  let base = -1n;
  const restarts: number[] = [];
  const groupId = `${ctx.topicPrefix}pipefail`;
  await ctx.consumer({
    groupId,
    topics: [ctx.topics.requested],
    fromBeginning: true,
    pipeline: { maxInFlight: 4 },
    restartBackoffMs: 100,
    onRestart: ({ attempt }) => void restarts.push(attempt),
    async handle(message: IncomingMessage) {
      const value = String(message.value);
      deliveries.push(value);
      partition = message.partition;
      if (value === "m0") base = BigInt(message.offset);
      if (value === "m1" && deliveries.filter((d) => d === "m1").length === 1) {
        // m0, handled meanwhile, is committed before m1 fails
        await waitFor("m0 committed", async () => (await committedOffset(ctx, groupId, partition)) === base + 1n, 20_000);
        throw new Error("database unavailable (simulated)");
      }
      handled.add(value);
    },
  });
  await waitFor("m1 handled on its second delivery", () => handled.has("m1"), 60_000);
  await waitFor("all three committed", async () => (await committedOffset(ctx, groupId, partition)) === base + 3n, 30_000);
  assert.ok(restarts.length >= 1, "the failure replaced the group member");
  assert.equal(deliveries.filter((d) => d === "m0").length, 1, "the message committed before the failure is not redelivered");
  assert.equal(deliveries.filter((d) => d === "m1").length, 2, "the failed message comes again");
  assert.ok(deliveries.filter((d) => d === "m2").length >= 1);
  t.diagnostic(`deliveries: ${deliveries.join(" ")}`);
});
