// Issue 14, finding 4: a consumer crash kafkajs does not restart from (a non-retriable error) used to stop the
// consumer for good (the worker then stayed "STOPPING" until someone restarted it). lib/kafka now starts it again
// with back-off: the message comes again and is handled, and ready() is true again. restartOnCrash: false keeps
// the old behaviour, which the second test pins (so the first one is known to exercise the restart).
import assert from "node:assert/strict";
import { test } from "node:test";
import { createTestContext, waitFor } from "../helpers/index.ts";

for (const restartOnCrash of [true, false]) {
  test(`a consumer crash kafkajs does not restart from: restartOnCrash ${restartOnCrash}`, { timeout: 120_000 }, async (t) => {
    const ctx = await createTestContext(t);
    const producer = await ctx.producer();
    let calls = 0;
    const handled: string[] = [];
    const crashes: Error[] = [];
    const restarts: number[] = [];
    const consumer = await ctx.consumer({
      groupId: `${ctx.topicPrefix}restart`,
      topics: [ctx.topics.requested],
      fromBeginning: true,
      restartOnCrash,
      restartBackoffMs: 200,
      async handle(message) {
        calls += 1;
        // the first delivery fails with an error kafkajs must not retry or restart from
        if (calls === 1) throw Object.assign(new Error("poisoned handler"), { retriable: false });
        handled.push(message.value!.toString());
      },
      onCrash: (error) => crashes.push(error),
      onRestart: ({ attempt }) => restarts.push(attempt),
    });
    await producer.send([{ topic: ctx.topics.requested, key: "k", value: "m1" }]);
    await waitFor("a crash", () => crashes.length > 0, 60_000);
    if (restartOnCrash) {
      await waitFor("the message handled after the restart", () => handled.length === 1, 60_000);
      assert.deepEqual(handled, ["m1"], "the message came again after the restart and was handled");
      assert.ok(restarts.length >= 1);
      await waitFor("ready again", () => consumer.ready(), 30_000);
    } else {
      await new Promise((r) => setTimeout(r, 3000));
      assert.deepEqual(handled, [], "stays stopped");
      assert.equal(consumer.ready(), false);
    }
  });
}
