// lib/kafka/pipeline.ts without a broker: a fetched batch only launches its messages (so kafkajs can fetch the
// next one while they run), at most maxInFlight at once across partitions, and the committed offset of each
// partition never passes a message that is not handled, whatever order the handlers finish in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createPipeline, type PipelineBatch } from "../../lib/kafka/pipeline.ts";

type Msg = { offset: string };

function gates() {
  const open = new Map<string, () => void>();
  const wait = (key: string) => new Promise<void>((resolve) => open.set(key, resolve));
  const release = (key: string) => {
    const r = open.get(key);
    assert.ok(r, `handler ${key} is running`);
    r();
  };
  return { wait, release, running: () => [...open.keys()] };
}

function batch(partition: number, offsets: number[], extra: Partial<PipelineBatch<Msg>> = {}) {
  const resolved: string[] = [];
  const b: PipelineBatch<Msg> & { resolved: string[]; paused: number } = {
    topic: "t",
    partition,
    messages: offsets.map((o) => ({ offset: String(o) })),
    resolved,
    paused: 0,
    resolveOffset: (o) => void resolved.push(o),
    heartbeat: async () => undefined,
    canContinue: () => true,
    stopping: () => false,
    pause: () => void (b.paused += 1),
    ...extra,
  };
  return b;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

function recorder() {
  const commits: string[] = [];
  const failures: string[] = [];
  return {
    commits,
    failures,
    options: {
      commit: async (_t: string, p: number, next: string) => void commits.push(`${p}:${next}`),
      onFailure: (_e: unknown, at: { partition: number; offset: string }) => void failures.push(`${at.partition}:${at.offset}`),
    },
  };
}

test("a batch returns once its messages are launched, before they finish, and the next batch starts meanwhile", async () => {
  const g = gates();
  const r = recorder();
  const p = createPipeline({ maxInFlight: 4, ...r.options });
  await p.push(batch(0, [10, 11]), (m) => g.wait(m.offset));
  // the first batch's handlers still run; a second fetch's messages are launched beside them
  await p.push(batch(1, [20]), (m) => g.wait(m.offset));
  assert.deepEqual(g.running().sort(), ["10", "11", "20"]);
  assert.equal(p.inFlight(), 3);
  for (const k of ["10", "11", "20"]) g.release(k);
  await tick();
  assert.deepEqual(r.commits.sort(), ["0:12", "1:21"]);
  assert.ok(p.idle());
});

test("no more than maxInFlight messages run at once across partitions; a batch waits for a free slot", async () => {
  const g = gates();
  const r = recorder();
  const p = createPipeline({ maxInFlight: 2, ...r.options });
  await p.push(batch(0, [1, 2]), (m) => g.wait(m.offset));
  let secondReturned = false;
  const second = p.push(batch(1, [7, 8]), (m) => g.wait(m.offset)).then(() => (secondReturned = true));
  await tick();
  assert.deepEqual(g.running().sort(), ["1", "2"], "the other partition's messages wait");
  assert.equal(secondReturned, false);
  g.release("1");
  await tick();
  assert.deepEqual(g.running().sort(), ["1", "2", "7"].sort(), "one freed slot, one launch");
  assert.equal(p.inFlight(), 2);
  g.release("2");
  await second;
  assert.equal(p.inFlight(), 2);
  g.release("7");
  g.release("8");
  await tick();
  assert.deepEqual(r.commits, ["0:2", "0:3", "1:9"], "each partition's prefix, as its handlers finished");
});

test("the committed offset is the handled prefix: a slow message holds back the commits of those after it", async () => {
  const g = gates();
  const r = recorder();
  const p = createPipeline({ maxInFlight: 8, ...r.options });
  const b = batch(0, [100, 101, 102, 103]);
  await p.push(b, (m) => g.wait(m.offset));
  assert.deepEqual(b.resolved, ["100", "101", "102", "103"], "kafkajs' fetch position moves past launched messages");
  g.release("100");
  g.release("102");
  g.release("103");
  await tick();
  assert.deepEqual(r.commits, ["0:101"], "nothing past the running 101");
  assert.equal(p.idle(), false);
  g.release("101");
  await tick();
  assert.deepEqual(r.commits, ["0:101", "0:104"]);
  assert.ok(p.idle());
});

test("a failed handler stops intake on its partition, is reported, and no commit passes it", async () => {
  const g = gates();
  const r = recorder();
  const p = createPipeline({ maxInFlight: 8, ...r.options });
  await p.push(batch(0, [5, 6, 7]), async (m) => {
    await g.wait(m.offset);
    if (m.offset === "6") throw new Error("database down");
  });
  g.release("5");
  g.release("6");
  g.release("7");
  await tick();
  assert.deepEqual(r.failures, ["0:6"]);
  assert.deepEqual(r.commits, ["0:6"], "5 is committed, 6 and 7 are not (they come again)");
  const again = batch(0, [8]);
  let launched = false;
  await p.push(again, async () => void (launched = true));
  assert.equal(launched, false, "the failed partition launches nothing more");
  assert.equal(again.paused, 1, "and is paused instead of fetched in a loop");
  // other partitions go on
  await p.push(batch(1, [1]), async () => undefined);
  await tick();
  assert.ok(r.commits.includes("1:2"));
});

test("messages fetched again while they run (kafkajs went back to the committed offset) are not launched twice", async () => {
  const g = gates();
  const r = recorder();
  const p = createPipeline({ maxInFlight: 8, ...r.options });
  let launches = 0;
  const h = (m: Msg) => {
    launches += 1;
    return g.wait(m.offset);
  };
  await p.push(batch(0, [40, 41]), h);
  const refetched = batch(0, [40, 41, 42]);
  await p.push(refetched, h);
  assert.equal(launches, 3, "40 and 41 once each, then 42");
  assert.deepEqual(refetched.resolved, ["40", "41", "42"]);
  for (const k of ["40", "41", "42"]) g.release(k);
  await tick();
  assert.deepEqual(r.commits, ["0:43"]);
});

test("a stopping consumer launches nothing more and pauses the partition", async () => {
  const r = recorder();
  const p = createPipeline({ maxInFlight: 4, ...r.options });
  const b = batch(0, [1, 2], { stopping: () => true });
  let launched = 0;
  await p.push(b, async () => void (launched += 1));
  assert.equal(launched, 0);
  assert.equal(b.paused, 1);
  assert.deepEqual(b.resolved, [], "not resolved: the next member fetches them");
});
