// Issue 14, finding 4: the gateway's /readyz follows its database. While PostgreSQL refuses the gateway's database
// (every backend terminated, as a restart does, and new connections refused) /readyz is 503 with
// `database: false` within a probe's time (the Kafka probe makes no retries); once it takes connections again,
// 200. "Unreachable" is made for this test's database only, so the shared test server keeps serving.
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { getTestStack } from "../helpers/test-stack.ts";
import { startGatewayFixture } from "./fixture.ts";

async function admin(sql: string, params: unknown[] = []): Promise<void> {
  const stack = await getTestStack();
  const client = new pg.Client({ connectionString: stack.serverUrl("postgres") });
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

async function readyz(url: string): Promise<{ status: number; body: { ready: boolean; checks: Record<string, boolean> }; ms: number }> {
  const started = Date.now();
  const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(15_000) });
  return {
    status: response.status,
    body: (await response.json()) as { ready: boolean; checks: Record<string, boolean> },
    ms: Date.now() - started,
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("gateway /readyz is 503 while its database is unreachable and 200 once it is back", { timeout: 120_000 }, async (t) => {
  const fx = await startGatewayFixture(t);
  const database = new URL(fx.ctx.databaseUrl).pathname.slice(1);
  fx.ctx.defer(() => admin(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS true`));
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on("uncaughtException", onUncaught);
  t.after(() => process.off("uncaughtException", onUncaught));

  const before = await until(
    "ready",
    async () => {
      const r = await readyz(fx.gateway.url);
      return r.status === 200 ? r : undefined;
    },
    60_000,
  );
  assert.equal(before.body.checks.kafka, true);

  await admin(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS false`);
  await admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database]);
  const down = await until(
    "not ready",
    async () => {
      const r = await readyz(fx.gateway.url);
      return r.status === 503 ? r : undefined;
    },
    30_000,
  );
  assert.equal(down.body.checks.database, false, JSON.stringify(down.body));
  assert.equal(down.body.checks.kafka, true, "Kafka is still fine");
  assert.ok(down.ms < 5000, `a probe answers within a few seconds (${down.ms} ms)`);

  await admin(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS true`);
  const up = await until(
    "ready again",
    async () => {
      const r = await readyz(fx.gateway.url);
      return r.status === 200 ? r : undefined;
    },
    60_000,
  );
  assert.equal(up.body.ready, true);
  assert.deepEqual(uncaught, [], "no uncaught exception during the outage");
});
