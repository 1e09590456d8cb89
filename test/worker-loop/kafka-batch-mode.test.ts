// lib/kafka batch mode (messageConcurrency > 1) against the real broker: messages of one partition run
// concurrently, yet offsets are committed only as a contiguous prefix of handled messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "../../lib/kafka/index.ts";
import { committedOffset, createTestContext, waitFor } from "../helpers/index.ts";

test("batch mode handles the messages of one partition key concurrently and commits them all", async (t) => {
  const ctx = await createTestContext(t);
  const producer = await ctx.producer();
  await producer.send([0, 1, 2, 3].map((i) => ({ topic: ctx.topics.requested, key: "study-1", value: `task-${i}` })));

  const spans: { value: string; start: number; end: number }[] = [];
  const started = new Set<string>();
  const groupId = `${ctx.topicPrefix}batch`;
  await ctx.consumer({
    groupId,
    topics: [ctx.topics.requested],
    fromBeginning: true,
    messageConcurrency: 4,
    async handle(message) {
      const start = performance.now();
      started.add(String(message.value));
      // a barrier: each handler waits until all four have started; handled one at a time, this never completes
      await waitFor("all four handlers started", () => started.size >= 4, 15_000);
      spans.push({ value: String(message.value), start, end: performance.now() });
    },
  });
  await waitFor("four messages handled", () => spans.length === 4, 30_000);
  // overlap, from the handlers' own timestamps: every handler started before any one finished
  const lastStart = Math.max(...spans.map((s) => s.start));
  const firstEnd = Math.min(...spans.map((s) => s.end));
  assert.ok(lastStart < firstEnd, `handlers overlapped (last start ${lastStart.toFixed(1)} < first end ${firstEnd.toFixed(1)})`);
  assert.deepEqual(spans.map((s) => s.value).sort(), ["task-0", "task-1", "task-2", "task-3"]);
  const admin = await ctx.kafka.admin();
  const high = (await admin.topicOffsets(ctx.topics.requested)).find((p) => p.high !== "0")!;
  await admin.disconnect();
  await waitFor("offsets committed", async () => (await committedOffset(ctx, groupId, high.partition)) === BigInt(high.high), 15_000);
});

test("batch mode commits only the handled prefix: a failure after message 3 of 3 was handled redelivers messages 2 and 3, never loses one", async (t) => {
  const ctx = await createTestContext(t);
  const producer = await ctx.producer();
  await producer.send([0, 1, 2].map((i) => ({ topic: ctx.topics.requested, key: "study-2", value: `m${i}` })));

  const deliveries: string[] = [];
  const handled = new Set<string>();
  let releaseSecond: (() => void) | undefined;
  const secondGate = new Promise<void>((resolve) => (releaseSecond = resolve));
  let partition = -1;
  let base = -1n;
  const groupId = `${ctx.topicPrefix}crash`;
  await ctx.consumer({
    groupId,
    topics: [ctx.topics.requested],
    fromBeginning: true,
    messageConcurrency: 3,
    async handle(message: IncomingMessage) {
      const value = String(message.value);
      deliveries.push(value);
      partition = message.partition;
      if (value === "m0") base = BigInt(message.offset);
      if (value === "m1" && deliveries.filter((d) => d === "m1").length === 1) {
        // the first delivery of m1 is still in hand while m0 and m2 finish, then it crashes
        await secondGate;
        throw new Error("simulated crash while handling m1");
      }
      handled.add(value);
    },
  });
  await waitFor("m0 and m2 handled while m1 is in hand", () => handled.has("m0") && handled.has("m2"), 30_000);
  // m2 is done but m1 is not: only m0 may be committed
  await waitFor("m0 committed", async () => (await committedOffset(ctx, groupId, partition)) === base + 1n, 15_000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(await committedOffset(ctx, groupId, partition), base + 1n, "nothing past an unfinished message is committed");
  releaseSecond!();
  await waitFor("m1 redelivered and handled", () => handled.has("m1"), 60_000);
  await waitFor("all three committed", async () => (await committedOffset(ctx, groupId, partition)) === base + 3n, 30_000);
  assert.equal(deliveries.filter((d) => d === "m0").length, 1, "the committed message is not redelivered");
  assert.equal(deliveries.filter((d) => d === "m1").length, 2, "the failed message is redelivered");
  assert.ok(deliveries.filter((d) => d === "m2").length >= 1);
  t.diagnostic(`deliveries: ${deliveries.join(" ")}`);
});
