// Issue 14 (3-broker fault runs): a consumer in its group that stopped making progress while its handlers were
// idle stayed so for minutes, with ready() true. lib/kafka's stall watchdog now replaces such a member. Here, on a
// real broker, the stall is a message whose batch kafkajs keeps retrying (its handler fails) with the lag not
// moving; the coordinator loss itself needs three brokers (test/cluster/kafka-cluster.cluster.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { StallInfo } from "../../lib/kafka/index.ts";
import { createTestContext, waitFor } from "../helpers/index.ts";

test(
  "a consumer whose lag does not move while its handlers are idle is replaced, reports not ready, and then consumes",
  { timeout: 120_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    const producer = await ctx.producer();
    const stalls: StallInfo[] = [];
    const handled: string[] = [];
    let readyDuringStall: boolean | undefined;
    let failing = true;
    const consumer = await ctx.consumer({
      groupId: `${ctx.topicPrefix}stall`,
      topics: [ctx.topics.requested],
      fromBeginning: true,
      messageConcurrency: 2,
      stallWatchdog: { stallAfterMs: 2000, checkEveryMs: 250 },
      async handle(message) {
        if (failing) throw new Error("handler failing: kafkajs retries the batch");
        handled.push(message.value!.toString());
      },
      onStall(info) {
        stalls.push(info);
        readyDuringStall = consumer.ready();
        failing = false;
      },
    });
    assert.equal(consumer.ready(), true);
    await producer.send([{ topic: ctx.topics.requested, key: "k", value: "m1" }]);
    await waitFor("a stall", () => stalls.length > 0, 60_000);
    assert.equal(stalls[0]!.reason, "no-progress");
    assert.deepEqual(
      stalls[0]!.partitions.map((p) => p.lag),
      ["1"],
      "the partition holding the message, lag 1",
    );
    assert.ok(stalls[0]!.stalledForMs >= 2000);
    assert.equal(readyDuringStall, false, "not ready while it is being replaced");
    await waitFor("the message handled by the new member", () => handled.length === 1, 60_000);
    await waitFor("ready again", () => consumer.ready(), 30_000);
    assert.deepEqual(handled, ["m1"]);
  },
);

test("a handler that works longer than the stall time, and a consumer without lag, are left alone", { timeout: 120_000 }, async (t) => {
  const ctx = await createTestContext(t);
  const producer = await ctx.producer();
  const stalls: StallInfo[] = [];
  const handled: string[] = [];
  await ctx.consumer({
    groupId: `${ctx.topicPrefix}slow`,
    topics: [ctx.topics.requested],
    fromBeginning: true,
    messageConcurrency: 2,
    stallWatchdog: { stallAfterMs: 1000, checkEveryMs: 200 },
    async handle(message) {
      await new Promise((resolve) => setTimeout(resolve, 4000));
      handled.push(message.value!.toString());
    },
    onStall: (info) => void stalls.push(info),
  });
  await producer.send([{ topic: ctx.topics.requested, key: "k", value: "slow" }]);
  await waitFor("the slow message handled", () => handled.length === 1, 60_000);
  // idle and caught up: no lag, nothing to restart
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.deepEqual(stalls, []);
  assert.deepEqual(handled, ["slow"], "handled once: the member was never replaced mid-message");
});
