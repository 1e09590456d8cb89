// DICOM in while PostgreSQL refuses the watcher's database (every backend terminated, new connections refused, as in
// test/gateway/readiness.test.ts): passes fail and back off, nothing is skipped or logged as FAILED for it, the
// watcher is unready; once the database is back, the waiting instance is ingested.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import pg from "pg";
import { createLocalDiskImageStore, ingestImage } from "../../lib/images/index.ts";
import { silentLogger } from "../../lib/logger/index.ts";
import { createOrthancRest } from "../../lib/pacs-ingest/orthanc-rest.ts";
import { createPacsIngestWatcher } from "../../lib/pacs-ingest/watcher.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc } from "../../lib/stack/orthanc.ts";
import { createTestContext, getTestStack, waitFor } from "../helpers/index.ts";
import { storescu, variant } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "gkmvlp-pacs-outage-"));
after(async () => {
  await stopOrthanc(join(work, "orthanc"));
  rmSync(work, { recursive: true, force: true });
});

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

test(
  "while PostgreSQL is unreachable the watcher backs off unready and skips nothing; once it is back the instance is ingested",
  { skip: !orthancInstalled(), timeout: 180_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    const database = new URL(ctx.databaseUrl).pathname.slice(1);
    ctx.defer(() => admin(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS true`));
    const orthanc = await startOrthanc({ dataDir: join(work, "orthanc"), httpPort: await freePort(), dicomPort: await freePort() });
    const store = createLocalDiskImageStore({ root: join(work, "store") });
    const tenant = await ctx.repos.tenants.create({ slug: `pacs-outage-${Date.now()}`, name: "Outage" });
    await ctx.repos.pacsIngest.upsertSource({ tenantId: tenant.id, callingAet: "OUTAGE_CR", tasks: ["CLASSIFICATION"] });
    const w = createPacsIngestWatcher({
      orthanc: createOrthancRest({ url: orthanc.url, credentials: orthanc.credentials }),
      repos: ctx.repos,
      ingest: (bytes, policy) => ingestImage(bytes, store, {}, { deidentify: policy.deidentify, uidKey: policy.uidKey }),
      policyFor: async (tenantId) => ({ deidentify: true, uidKey: `key-${tenantId}` }),
      logger: silentLogger,
      options: { pollMs: 50, batchSize: 10, maxInstanceBytes: 64 * 1024 * 1024, maxAttempts: 2, backoff: { initialMs: 20, maxMs: 100 } },
    });
    t.after(() => w.stop());

    await admin(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS false`);
    await admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database]);
    storescu(orthanc, "OUTAGE_CR", [variant(work, "frontal", [])]);
    await w.start();
    await waitFor("unready while the database is down", async () => !w.ready());
    // many passes at 20–100 ms back-off, far more than maxAttempts: none may give the instance up
    await new Promise((r) => setTimeout(r, 1500));

    await admin(`ALTER DATABASE "${database}" WITH ALLOW_CONNECTIONS true`);
    await waitFor("ingested once the database is back", async () => {
      const rows = await ctx.repos.pacsIngest.listLog(tenant.id, 5).catch(() => []);
      return rows.length === 1 && rows;
    });
    const [row] = await ctx.repos.pacsIngest.listLog(tenant.id, 5);
    assert.equal(row!.outcome, "INGESTED", `logged ${row!.outcome} ${row!.reason}`);
    assert.equal(await ctx.db.prisma.analysis.count({ where: { tenantId: tenant.id } }), 1);
    await waitFor("ready again", async () => w.ready());
  },
);
