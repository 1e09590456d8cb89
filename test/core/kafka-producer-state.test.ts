// Which send failures make the platform's producer start over with a new producer id (lib/kafka): KafkaJS's own
// errors, as its idempotent producer throws them after a broker changed leader mid-send, directly and wrapped in
// the retrier's error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { producerStateLost } from "../../lib/kafka/index.ts";

const require = createRequire(import.meta.url);
const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError } = require("kafkajs/src/errors.js");
const { createErrorFromCode } = require("kafkajs/src/protocol/error.js");

test("an out-of-order sequence or an unknown producer id means the producer's state is lost", () => {
  for (const code of [45, 59, 47]) {
    const e = new KafkaJSProtocolError(createErrorFromCode(code));
    assert.equal(producerStateLost(e), true, e.type);
    assert.equal(producerStateLost(new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 100 })), true);
  }
});

test("a lost leader, a refused connection or an unrelated error leaves the producer as it is", () => {
  const notLeader = new KafkaJSProtocolError(createErrorFromCode(6));
  assert.equal(notLeader.type, "NOT_LEADER_FOR_PARTITION");
  assert.equal(producerStateLost(notLeader), false);
  assert.equal(producerStateLost(new KafkaJSNumberOfRetriesExceeded(notLeader, { retryCount: 5, retryTime: 1 })), false);
  assert.equal(producerStateLost(new KafkaJSConnectionError("Connection error: ECONNREFUSED")), false);
  assert.equal(producerStateLost(new Error("boom")), false);
  assert.equal(producerStateLost(undefined), false);
  const loop: { cause?: unknown } = {};
  loop.cause = loop;
  assert.equal(producerStateLost(loop), false);
});
