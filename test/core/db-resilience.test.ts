// Issue 14, finding 4: a PostgreSQL restart (here: every backend of the database terminated, as a restart
// does) must not kill the process through an unhandled pg `error` event. lib/db reports each connection error
// with context, marks the handle unhealthy, lets the pool drop the dead connections and reconnect.
import { test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { ping } from "../../lib/db/client.ts";
import { createDb, type DbErrorEvent } from "../../lib/db/index.ts";
import { createTestDatabase, dropTestDatabase } from "../helpers/index.ts";
import { getTestStack } from "../helpers/test-stack.ts";

async function terminateBackends(adminUrl: string, database: string): Promise<number> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on("error", () => undefined);
  await admin.connect();
  try {
    const r = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [
      database,
    ]);
    return r.rowCount ?? 0;
  } finally {
    await admin.end();
  }
}

test("lib/db survives its connections being terminated, reports them, and reconnects", { timeout: 120_000 }, async (t) => {
  const stack = await getTestStack();
  const { name, url } = await createTestDatabase(stack);
  const events: DbErrorEvent[] = [];
  const db = createDb(url, { poolMax: 4, name: "resilience-test", onError: (e) => events.push(e) });
  t.after(async () => {
    await db.close();
    await dropTestDatabase(name, stack);
  });
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on("uncaughtException", onUncaught);
  t.after(() => process.off("uncaughtException", onUncaught));

  // three idle pooled connections, and one held by an open interactive transaction
  await Promise.all([1, 2, 3].map(() => db.prisma.$queryRaw`SELECT pg_sleep(0.05)::text`));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const tx = db.prisma.$transaction(
    async (client) => {
      await client.$queryRaw`SELECT 1`;
      await gate;
      await client.$queryRaw`SELECT 2`;
    },
    { timeout: 30_000 },
  );
  const txOutcome = tx.then(
    () => "committed",
    (error: Error) => `failed: ${error.message}`,
  );
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(db.health().ok, true);

  const terminated = await terminateBackends(stack.serverUrl("postgres"), name);
  assert.ok(terminated >= 2, `terminated ${terminated} backends`);
  const deadline = Date.now() + 10_000;
  // every terminated backend reports (idle ones asynchronously): until then the pool may still hand one out
  while (events.length < terminated && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  release();
  assert.match(await txOutcome, /^failed/, "the transaction on the lost connection fails (its caller retries)");

  assert.ok(events.length >= 2, `connection errors reported: ${JSON.stringify(events)}`);
  for (const event of events) {
    assert.equal(event.pool, "resilience-test");
    assert.ok(["idle", "connection", "transaction"].includes(event.source));
    assert.match(event.target, new RegExp(`127\\.0\\.0\\.1:\\d+/${name}$`));
    assert.doesNotMatch(JSON.stringify(event), /postgres:postgres/, "no credentials in the report");
  }
  assert.ok(
    events.some((e) => e.code === "57P01"),
    "terminated by administrator (57P01)",
  );
  assert.equal(db.health().ok, false, "unhealthy until a connection succeeds again");
  assert.equal(db.health().errors, events.length);

  // A pooled connection whose termination the server has not yet reported (busy machine) may take one more query:
  // that query fails with 57P01 (retriable; callers retry) and the connection is dropped; the next runs on a new one.
  let rows: { ok: number }[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      rows = await db.prisma.$queryRaw<{ ok: number }[]>`SELECT 1::int AS ok`;
      break;
    } catch (error) {
      assert.ok(attempt < 3 && /57P01|terminating connection/.test(String(error)), `attempt ${attempt}: ${error}`);
    }
  }
  assert.deepEqual(rows, [{ ok: 1 }], "a query runs on a new connection");
  assert.equal(db.health().ok, true);
  assert.equal((await db.prisma.$transaction(async (client) => client.$queryRaw<{ n: number }[]>`SELECT 2::int AS n`))[0]!.n, 2);
  assert.deepEqual(uncaught, [], "no error escaped as an uncaught exception");
});

// The fault suite (3-broker run, session 10): after a PostgreSQL restart with jobs mid-transaction, the worker's
// readiness said `database: false` for minutes while PostgreSQL was up: every pooled connection was held by a
// transaction whose connection had died, and was never given back. Each of these cases must leave a pool that
// answers again.
for (const when of ["mid-query", "between queries"] as const) {
  test(`transactions whose connections die ${when} give their pooled connections back`, { timeout: 120_000 }, async (t) => {
    const stack = await getTestStack();
    const { name, url } = await createTestDatabase(stack);
    const db = createDb(url, { poolMax: 3, name: "leak-test", onError: () => undefined });
    t.after(async () => {
      await db.close();
      await dropTestDatabase(name, stack);
    });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let inside = 0;
    const transactions = [1, 2, 3].map((i) =>
      db.prisma
        .$transaction(
          async (client) => {
            await client.$queryRaw`SELECT ${i}::int`;
            inside += 1;
            if (when === "mid-query") await client.$queryRaw`SELECT pg_sleep(5)::text`;
            else {
              await gate;
              await client.$queryRaw`SELECT ${i + 1}::int`;
            }
          },
          { maxWait: 15_000, timeout: 30_000 },
        )
        .then(
          () => "committed",
          () => "failed",
        ),
    );
    while (inside < 3) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    await terminateBackends(stack.serverUrl("postgres"), name);
    await new Promise((r) => setTimeout(r, 300));
    open();
    // a timer of our own: a transaction that hangs holds no handle, and the test must fail rather than stop
    const outcome = await Promise.race([
      Promise.all(transactions),
      new Promise<string>((resolve) => setTimeout(() => resolve("still pending after 20 s"), 20_000)),
    ]);
    assert.deepEqual(outcome, ["failed", "failed", "failed"]);
    // the pool's three connections are free again (or replaced): three queries at once answer
    const answered = await Promise.all([1, 2, 3].map(() => ping(db.prisma, 8000)));
    assert.deepEqual(answered, [true, true, true], "a pool with leaked connections cannot answer");
  });
}
