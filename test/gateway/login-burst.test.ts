// A burst of parallel logins from one address used to queue on the LoginThrottle row lock inside PostgreSQL,
// each waiter holding a pool connection, so the burst took the gateway's whole pool and every other request
// waited (found by the adversarial suite: a bystander's query took 1.1 s). The attempts now queue in the gateway.
import { test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { startGatewayFixture } from "./fixture.ts";
import { createKeyedLock } from "../../services/gateway/src/auth/keyed-lock.ts";

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token retryAfterSeconds errors { code } } }`;

test(
  "a burst of 30 parallel logins never leaves database sessions waiting on the throttle's row locks",
  { timeout: 300_000 },
  async (t) => {
    const fx = await startGatewayFixture(t);
    // a connection of its own: the gateway's pool is the one under test
    const watcher = new pg.Client({ connectionString: fx.ctx.databaseUrl });
    watcher.on("error", () => undefined); // the harness drops the database at the end
    await watcher.connect();
    const email = fx.tenantA.users.find((u) => u.role === "AUDITOR")!.email;
    let maxWaiting = 0;
    let bursting = true;
    const watching = (async () => {
      while (bursting) {
        const r = await watcher.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        maxWaiting = Math.max(maxWaiting, r.rows[0].n as number);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => fx.gql(LOGIN, { e: email, p: `guess-${i}` })));
    bursting = false;
    await watching;
    await watcher.end();
    const codes = answers.map((a) => a.body.data?.login.errors[0]?.code);
    assert.equal(codes.filter((c) => c === "VALIDATION").length, 5, codes.join(","));
    assert.equal(codes.filter((c) => c === "RATE_LIMITED").length, 25);
    assert.equal(maxWaiting, 0, `${maxWaiting} database sessions waited on a lock at once`);
  },
);

test("the keyed lock runs holders of a key one at a time, overlapping key sets without deadlock, and forgets idle keys", async () => {
  const lock = createKeyedLock();
  let inside = 0;
  let most = 0;
  const order: number[] = [];
  const job = (i: number, keys: string[]) =>
    lock.run(keys, async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 5));
      order.push(i);
      inside--;
    });
  await Promise.all([
    job(1, ["address:a", "account:x"]),
    job(2, ["account:y", "address:a"]),
    job(3, ["address:a"]),
    job(4, ["account:x", "address:a"]),
  ]);
  assert.equal(most, 1, "every job shares address:a");
  assert.deepEqual([...order].sort(), [1, 2, 3, 4], "every job ran");
  await assert.rejects(
    lock.run(["k"], async () => Promise.reject(new Error("boom"))),
    /boom/,
  );
  await lock.run(["k"], async () => undefined);
  assert.equal(lock.size(), 0);
});
