// The stall watchdog's decision (issue 14, the 3-broker fault runs): when a consumer that is in its group is to be
// restarted. Unit tests of the policy with a hand-driven clock and progress samples; the restart itself runs
// against a real broker in kafka-consumer-stall.test.ts and the 3-broker cluster test.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createStallWatchdog, type PartitionProgress, type StallInfo } from "../../lib/kafka/stall-watchdog.ts";

function harness(
  options: { stallAfterMs?: number; commitStuckAfterMs?: number; commitFailuresBeforeRestart?: number; unobservableAfterMs?: number } = {},
) {
  let clock = 0;
  let progress: PartitionProgress[] | undefined = [];
  let busy = false;
  let commitFailures = 0;
  let commitPendingMs = 0;
  const stalls: StallInfo[] = [];
  const watchdog = createStallWatchdog({
    stallAfterMs: options.stallAfterMs ?? 30_000,
    commitStuckAfterMs: options.commitStuckAfterMs ?? 10_000,
    checkEveryMs: 5000,
    commitFailuresBeforeRestart: options.commitFailuresBeforeRestart ?? 3,
    unobservableAfterMs: options.unobservableAfterMs ?? 60_000,
    sample: async () => progress,
    busy: () => busy,
    commitFailures: () => commitFailures,
    commitPendingMs: () => commitPendingMs,
    onStall: (info) => void stalls.push(info),
    now: () => clock,
  });
  return {
    watchdog,
    stalls,
    at(ms: number) {
      clock = ms;
    },
    partitions(...list: [number, number, number][]) {
      progress = list.map(([partition, committed, high]) => ({ topic: "t", partition, committed: BigInt(committed), high: BigInt(high) }));
    },
    unreadable() {
      progress = undefined;
    },
    setBusy(value: boolean) {
      busy = value;
    },
    setCommitFailures(value: number) {
      commitFailures = value;
    },
    setCommitPending(ms: number) {
      commitPendingMs = ms;
    },
  };
}

test("lag whose committed offset does not move for the stall time is a stall, naming the partition and its lag", async () => {
  const h = harness();
  h.partitions([0, 5, 5], [1, 10, 14]);
  await h.watchdog.check();
  h.at(29_999);
  assert.equal(await h.watchdog.check(), undefined, "not yet");
  h.at(30_000);
  const stall = await h.watchdog.check();
  assert.equal(stall?.reason, "no-progress");
  assert.deepEqual(stall?.partitions, [{ topic: "t", partition: 1, lag: "4" }]);
  assert.equal(stall?.stalledForMs, 30_000);
  assert.equal(h.stalls.length, 1);
});

test("a committed offset that moves, or no lag, is progress: never a stall", async () => {
  const h = harness();
  for (let i = 0; i <= 20; i++) {
    h.at(i * 5000);
    // partition 0 moves slowly but moves; partition 1 has no lag at all
    h.partitions([0, 100 + i, 200], [1, 7, 7]);
    assert.equal(await h.watchdog.check(), undefined);
  }
});

test("a handler at work is not a stall, however long it takes", async () => {
  const h = harness();
  h.partitions([0, 1, 9]);
  h.setBusy(true);
  for (let i = 0; i <= 20; i++) {
    h.at(i * 5000);
    assert.equal(await h.watchdog.check(), undefined);
  }
  // idle from now on: the stall time counts from the last busy check
  h.setBusy(false);
  h.at(129_000);
  assert.equal(await h.watchdog.check(), undefined);
  h.at(130_000);
  assert.equal((await h.watchdog.check())?.reason, "no-progress");
});

test("unreadable progress (broker down, not joined) neither counts as a stall nor resets the clock", async () => {
  const h = harness();
  h.partitions([0, 1, 9]);
  await h.watchdog.check();
  h.unreadable();
  h.at(40_000);
  assert.equal(await h.watchdog.check(), undefined);
  h.partitions([0, 1, 9]);
  h.at(40_001);
  assert.equal((await h.watchdog.check())?.reason, "no-progress");
});

test("progress unreadable for the unobservable time is a stall (a member that never re-joins, a sampler stuck on a lost broker)", async () => {
  const h = harness({ unobservableAfterMs: 60_000 });
  h.partitions([0, 1, 9]);
  await h.watchdog.check();
  h.unreadable();
  h.at(10_000);
  assert.equal(await h.watchdog.check(), undefined, "the blind run starts here");
  h.at(69_999);
  assert.equal(await h.watchdog.check(), undefined);
  h.at(70_000);
  const stall = await h.watchdog.check();
  assert.equal(stall?.reason, "unobservable");
  assert.equal(stall?.stalledForMs, 60_000);
  assert.equal(h.stalls.length, 1);
  h.at(75_000);
  assert.equal(await h.watchdog.check(), undefined, "after a stall the blind time starts again");
});

test("one readable sample ends a blind run; an empty assignment is readable", async () => {
  const h = harness({ unobservableAfterMs: 60_000 });
  h.unreadable();
  await h.watchdog.check();
  h.at(50_000);
  h.partitions();
  assert.equal(await h.watchdog.check(), undefined, "in the group with no partitions: nothing wrong");
  h.unreadable();
  h.at(100_000);
  assert.equal(await h.watchdog.check(), undefined, "blind for 0 ms, not 100 s");
  h.at(159_999);
  assert.equal(await h.watchdog.check(), undefined);
  h.at(160_000);
  assert.equal((await h.watchdog.check())?.reason, "unobservable");
});

test("failed offset commits in a row are a stall at once", async () => {
  const h = harness({ commitFailuresBeforeRestart: 3 });
  h.setCommitFailures(2);
  assert.equal(await h.watchdog.check(), undefined);
  h.setCommitFailures(3);
  const stall = await h.watchdog.check();
  assert.equal(stall?.reason, "commit-failures");
  assert.equal(stall?.commitFailures, 3);
});

test("after a stall (and after reset) the stall time starts again", async () => {
  const h = harness();
  h.partitions([0, 1, 9]);
  await h.watchdog.check();
  h.at(30_000);
  assert.ok(await h.watchdog.check());
  h.at(35_000);
  assert.equal(await h.watchdog.check(), undefined, "first sight after the stall");
  h.at(64_999);
  assert.equal(await h.watchdog.check(), undefined);
  h.watchdog.reset();
  h.at(65_000);
  assert.equal(await h.watchdog.check(), undefined, "first sight after reset");
  h.at(95_000);
  assert.ok(await h.watchdog.check());
  assert.equal(h.stalls.length, 2);
});

test("a partition taken away by a rebalance is forgotten; one given back starts afresh", async () => {
  const h = harness();
  h.partitions([0, 1, 9], [1, 1, 9]);
  await h.watchdog.check();
  h.at(20_000);
  h.partitions([1, 1, 9]);
  await h.watchdog.check();
  h.at(30_000);
  h.partitions([0, 1, 9], [1, 1, 9]);
  const stall = await h.watchdog.check();
  assert.deepEqual(
    stall?.partitions.map((p) => p.partition),
    [1],
    "partition 0 came back at 30 s: its time starts again",
  );
});

test("an offset commit on its way for the commit stall time is a stall, even while handlers work (a stale coordinator)", async () => {
  const h = harness({ stallAfterMs: 30_000, commitStuckAfterMs: 10_000 });
  h.partitions([0, 1, 9]);
  h.setBusy(true);
  h.setCommitPending(9_999);
  assert.equal(await h.watchdog.check(), undefined);
  h.setCommitPending(10_000);
  const stall = await h.watchdog.check();
  assert.equal(stall?.reason, "commit-stuck");
  assert.equal(stall?.stalledForMs, 10_000);
});
