// Which Kafka failures are tried again, and which send failures make the platform's producer start over with a new producer id (lib/kafka): KafkaJS's own
// errors, as its idempotent producer throws them after a broker changed leader mid-send, directly and wrapped in
// the retrier's error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { producerStateLost, retryWhileBrokerGone } from "../../lib/kafka/index.ts";

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

test("a describe call refused by a broker that just stopped is tried again; other errors are not", async () => {
  let calls = 0;
  const refusedTwice = async () => {
    calls += 1;
    if (calls <= 2) throw new KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:1");
    return "answered";
  };
  assert.equal(await retryWhileBrokerGone(refusedTwice, 6, 1), "answered");
  assert.equal(calls, 3);
  let other = 0;
  await assert.rejects(
    retryWhileBrokerGone(
      async () => {
        other += 1;
        throw new Error("boom");
      },
      6,
      1,
    ),
    /boom/,
  );
  assert.equal(other, 1);
  let always = 0;
  await assert.rejects(
    retryWhileBrokerGone(
      async () => {
        always += 1;
        throw new KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:1");
      },
      3,
      1,
    ),
    /ECONNREFUSED/,
  );
  assert.equal(always, 3);
});
