// Unit test of the relay's health: a relay whose publishes keep failing (for example a row for a topic
// that does not exist) must stop reporting ready, so /readyz shows the stall, and recover when publishing works.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createOutboxRelay, type OutboxStore } from "../../lib/outbox/index.ts";
import type { KafkaProducer } from "../../lib/kafka/index.ts";

test("a relay that keeps failing to publish reports not ready, and ready again once it succeeds", async () => {
  let failing = true;
  let calls = 0;
  const store: OutboxStore = {
    async publishBatch() {
      calls += 1;
      if (failing) throw new Error("This server does not host this topic-partition");
      return 0;
    },
  };
  const relay = createOutboxRelay({ outbox: store, producer: {} as KafkaProducer, pollIntervalMs: 5, log: () => undefined });
  await relay.start();
  try {
    const deadline = Date.now() + 20_000;
    while (relay.ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(relay.ready(), false, "not ready after repeated failures");
    assert.ok(calls >= 3);
    assert.match(relay.lastError() ?? "", /topic-partition/);
    failing = false;
    while (!relay.ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(relay.ready(), true, "ready again after a successful publish");
    assert.equal(relay.lastError(), null);
  } finally {
    await relay.stop();
  }
});
