// The fixes patches/kafkajs+2.2.4.patch makes to kafkajs (unmaintained; applied by patch-package on install).
// Seen in the cluster tier: after a broker was lost, a consumer that was being stopped while its fetch manager
// rebalanced kept fetchers running for a runner that no longer ran; their fetch returned at once, and the loop
// never yielded to the event loop: 100% CPU, and every timer in the process (test timeouts included) starved.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";

const require = createRequire(import.meta.url);
const createFetchManager = require("kafkajs/src/consumer/fetchManager.js") as (options: {
  logger: unknown;
  getNodeIds: () => number[];
  fetch: (nodeId: number) => Promise<unknown[]>;
  handler: (batch: unknown) => Promise<void>;
  concurrency?: number;
}) => { start(): Promise<void>; stop(): Promise<void> };
const Runner = require("kafkajs/src/consumer/runner.js") as new (
  options: Record<string, unknown>,
) => {
  running: boolean;
  fetch(nodeId: number): Promise<unknown[]>;
};

const quiet = { namespace: () => quiet, debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a fetch manager stopped while it rebalances its fetchers ends, instead of fetching for a stopped runner", async () => {
  let nodeIds = [1, 2];
  let running = true;
  let fetchesAfterStop = 0;
  const manager = createFetchManager({
    logger: quiet,
    getNodeIds: () => nodeIds,
    fetch: async (nodeId) => {
      if (!running) {
        fetchesAfterStop += 1;
        // what kafkajs's runner answers once stopped (yielding, so that this test can observe it)
        await new Promise((resolve) => setImmediate(resolve));
        return [];
      }
      if (nodeId === 1) {
        await sleep(5);
        nodeIds = [1, 3]; // broker 2 is gone: fetcher 1's next round throws "rebalance fetchers"
        return [];
      }
      await sleep(100); // fetcher 2 is in a fetch while the manager rebalances
      return [];
    },
    handler: async () => undefined,
  });
  const started = manager.start();
  await sleep(20);
  // the runner stops now, while start() waits for fetcher 2 before rebalancing
  running = false;
  await manager.stop();
  const outcome = await Promise.race([started.then(() => "ended"), sleep(1000).then(() => "still fetching")]);
  assert.equal(outcome, "ended");
  assert.ok(fetchesAfterStop <= 2, `${fetchesAfterStop} fetches for a stopped runner`);
});

test("a stopped runner's fetch yields to the event loop before it answers", async () => {
  const runner = new Runner({ logger: quiet, consumerGroup: {}, instrumentationEmitter: { emit() {} } });
  runner.running = false;
  let timerRan = false;
  setImmediate(() => {
    timerRan = true;
  });
  assert.deepEqual(await runner.fetch(1), []);
  assert.equal(timerRan, true, "a macrotask ran before fetch answered");
});
