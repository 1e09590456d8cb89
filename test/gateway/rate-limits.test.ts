// Issue 14: per-caller rate limits and a global concurrency budget, so one client cannot starve the others.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createOperationLimiter, type RateLimitOptions } from "../../services/gateway/src/http/rate-limit.ts";
import { startGatewayFixture } from "./fixture.ts";

const base: RateLimitOptions = {
  burst: 3,
  refillPerSecond: 1,
  costPerToken: 10,
  perPrincipalInFlight: 100,
  maxInFlight: 100,
  maxQueued: 0,
  maxWaitMs: 0,
  maxKeys: 1000,
};

test("a caller's bucket refuses beyond its burst with the time until enough tokens are back, and refills", async () => {
  let t = 0;
  const limiter = createOperationLimiter(base, () => t);
  for (let i = 0; i < 3; i++) {
    const a = await limiter.admit("user:a", 0);
    assert.ok(a.ok);
    a.release();
  }
  const refused = await limiter.admit("user:a", 0);
  assert.ok(!refused.ok && refused.status === 429 && refused.code === "RATE_LIMITED");
  assert.equal(refused.retryAfterMs, 1000);
  assert.ok((await limiter.admit("user:b", 0)).ok, "another caller is not affected");
  t += 1000;
  assert.ok((await limiter.admit("user:a", 0)).ok, "one token back after a second");
  t += 10_000;
  // an operation estimated at 25 costs 1 + 2 tokens: the whole refilled burst of 3
  assert.ok((await limiter.admit("user:a", 25)).ok);
  const costly = await limiter.admit("user:a", 0);
  assert.ok(!costly.ok, "the costly operation spent the burst");
});

test("one caller may run only so many operations at once; a released slot is free again", async () => {
  const limiter = createOperationLimiter({ ...base, burst: 100, perPrincipalInFlight: 2 });
  const a1 = await limiter.admit("k", 0);
  const a2 = await limiter.admit("k", 0);
  assert.ok(a1.ok && a2.ok);
  const a3 = await limiter.admit("k", 0);
  assert.ok(!a3.ok && a3.status === 429, "a third concurrent operation of the same caller");
  assert.ok((await limiter.admit("other", 0)).ok);
  a1.release();
  a1.release(); // releasing twice frees one slot only
  assert.ok((await limiter.admit("k", 0)).ok);
  assert.ok(!(await limiter.admit("k", 0)).ok);
});

test("the global budget queues a bounded number of operations for a bounded time, then answers 503", async () => {
  const limiter = createOperationLimiter({ ...base, burst: 100, maxInFlight: 1, maxQueued: 1, maxWaitMs: 200 });
  const first = await limiter.admit("a", 0);
  assert.ok(first.ok);
  const queued = limiter.admit("b", 0);
  const overflow = await limiter.admit("c", 0);
  assert.ok(!overflow.ok && overflow.status === 503 && overflow.code === "OVERLOADED", "the queue is full");
  assert.deepEqual(limiter.stats().queued, 1);
  first.release();
  const second = await queued;
  assert.ok(second.ok, "the released slot went to the waiting operation");
  const timedOut = await limiter.admit("d", 0);
  assert.ok(!timedOut.ok && timedOut.status === 503, "a waiter gives up after maxWaitMs");
  second.release();
  assert.deepEqual(limiter.stats(), { inFlight: 0, queued: 0, keys: 4 });
});

test("idle buckets are evicted beyond maxKeys, so memory stays bounded however many addresses call", async () => {
  const limiter = createOperationLimiter({ ...base, maxKeys: 50 });
  for (let i = 0; i < 1000; i++) {
    const a = await limiter.admit(`address:10.0.${i >> 8}.${i & 255}`, 0);
    if (a.ok) a.release();
  }
  assert.ok(limiter.stats().keys <= 50, `${limiter.stats().keys} buckets kept`);
});

test("over HTTP and WebSocket a flooding caller gets RATE_LIMITED with Retry-After while another caller's query succeeds", async (t) => {
  const fx = await startGatewayFixture(t, { env: { GRAPHQL_RATE_BURST: "20", GRAPHQL_RATE_PER_SECOND: "0.2" } });
  const query = "{ viewer { id } }";
  const results = [];
  for (let i = 0; i < 30; i++) results.push(await fx.gql(query, {}, fx.a.CLINICIAN));
  const refused = results.filter((r) => r.status === 429);
  assert.ok(refused.length >= 9, `refused ${refused.length} of 30`);
  assert.equal(refused[0]!.body.errors?.[0]?.extensions?.code, "RATE_LIMITED");
  assert.ok(Number(refused[0]!.headers.get("retry-after")) >= 1);
  const other = await fx.gql(query, {}, fx.a.RADIOLOGIST);
  assert.equal(other.status, 200, JSON.stringify(other.body));
  assert.ok(other.body.data.viewer.id);
  // the same bucket on the WebSocket: the flooding caller's subscription is refused with the typed error
  const client = fx.ws({ authorization: fx.a.CLINICIAN.authorization });
  t.after(() => client.dispose());
  const error = await new Promise<unknown>((resolve) => {
    client.subscribe(
      { query: "subscription { tenantAnalysisUpdates { status } }" },
      { next: () => {}, error: resolve, complete: () => resolve(null) },
    );
  });
  assert.ok(Array.isArray(error), JSON.stringify(error));
  assert.equal((error as { extensions: { code: string } }[]).at(0)?.extensions.code, "RATE_LIMITED");
});
