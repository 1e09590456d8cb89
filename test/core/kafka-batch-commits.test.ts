// lib/kafka/batch.ts without a broker: how many offset commits a fetched batch costs. Each commit is an
// OffsetCommit request and a __consumer_offsets write on the broker, so handlers that finish together must share
// one, while a handler that finishes later still gets its offset committed, and never past an unhandled message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { handleBatchConcurrently, type BatchRun } from "../../lib/kafka/batch.ts";

function recordingRun(count: number): BatchRun<{ offset: string }> & { commits: string[] } {
  const commits: string[] = [];
  return {
    commits,
    messages: Array.from({ length: count }, (_, i) => ({ offset: String(100 + i) })),
    resolveOffset: () => undefined,
    commit: async (next) => {
      commits.push(next);
      await new Promise((resolve) => setTimeout(resolve, 2));
    },
    heartbeat: async () => undefined,
    canContinue: () => true,
    stopping: () => false,
    pause: () => undefined,
  };
}

test("handlers of a batch that finish in the same turn share a single offset commit", async () => {
  const run = recordingRun(12);
  await handleBatchConcurrently(run, 64, async () => undefined);
  assert.deepEqual(run.commits, ["112"], "one commit of the whole batch's next offset");
});

test("a handler finishing later gets its own commit, and the commits never pass an unhandled message", async () => {
  const run = recordingRun(4);
  let release: (() => void) | undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const done = handleBatchConcurrently(run, 4, async (m) => {
    if (m.offset === "102") await gate; // the third message is slow
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(run.commits, ["102"], "only the prefix before the slow message is committed meanwhile");
  release!();
  await done;
  assert.deepEqual(run.commits, ["102", "104"]);
});
