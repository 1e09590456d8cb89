import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { migrateDatabase, migrationStatus, schemaSqlFromEmpty, REPO_ROOT } from "../../lib/db/index.ts";
import { dropTestDatabase, getTestStack, uniqueName } from "../helpers/index.ts";

const EXPECTED_TABLES = [
  "Analysis",
  "AnalysisTransition",
  "ApiKey",
  "AuditEvent",
  "Delivery",
  "FindingResult",
  "Image",
  "LocalizationBox",
  "LoginThrottle",
  "ModelVersion",
  "OutboxEvent",
  "PacsIngestCursor",
  "PacsIngestLease",
  "PacsIngestLog",
  "PacsSource",
  "PacsStowReceipt",
  "Patient",
  "ProcessedMessage",
  "ReportResult",
  "ReportSentence",
  "Review",
  "Session",
  "Study",
  "Tenant",
  "TenantDeliverySettings",
  "User",
  "VqaAnswer",
  "WorkerHeartbeat",
];

test("every checked-in migration has non-empty SQL", () => {
  const dir = join(REPO_ROOT, "prisma", "migrations");
  const migrations = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
  assert.ok(migrations.length >= 1);
  for (const migration of migrations) {
    const sql = readFileSync(join(dir, migration.name, "migration.sql"), "utf8");
    assert.ok(/\b(CREATE|ALTER|DROP)\b/.test(sql), `${migration.name}/migration.sql has no DDL`);
  }
});

test("prisma migrate deploy builds the whole schema on an empty database, and a second run changes nothing", async (t) => {
  const stack = await getTestStack();
  const name = uniqueName("m_");
  const url = stack.serverUrl(name);
  t.after(() => dropTestDatabase(name, stack));

  const output = await migrateDatabase(url);
  assert.match(output, /successfully applied|migrations have been successfully applied/i);

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1",
    );
    assert.deepEqual(tables.rows.map((r) => r.table_name).sort(), [...EXPECTED_TABLES].sort());

    // every table holding patient data carries tenantId
    for (const table of [
      "Patient",
      "Study",
      "Image",
      "Analysis",
      "FindingResult",
      "LocalizationBox",
      "ReportResult",
      "ReportSentence",
      "VqaAnswer",
      "Review",
      "Session",
      "AnalysisTransition",
      "Delivery",
    ]) {
      const column = await client.query(
        "SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = 'tenantId' AND is_nullable = 'NO'",
        [table],
      );
      assert.equal(column.rowCount, 1, `${table}.tenantId`);
    }
    // audit events too, except platform-scope events (model changes, failed logins of unknown e-mails): tenantId null
    const audit = await client.query(
      "SELECT 1 FROM information_schema.columns WHERE table_name = 'AuditEvent' AND column_name = 'tenantId' AND is_nullable = 'YES'",
    );
    assert.equal(audit.rowCount, 1, "AuditEvent.tenantId (null = platform scope)");
    const indexes = await client.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    );
    const byName = new Map(indexes.rows.map((r) => [r.indexname, r.indexdef]));
    assert.match(byName.get("OutboxEvent_unsent_idx") ?? "", /WHERE \("sentAt" IS NULL\)/);
    assert.ok(byName.has("FindingResult_tenantId_label_probability_idx"));
    assert.ok(byName.has("Analysis_tenantId_idempotencyKey_key"));
    assert.ok(byName.has("Study_tenantId_createdAt_idx"));
    const applied = await client.query("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL");
    assert.equal(
      applied.rowCount,
      readdirSync(join(REPO_ROOT, "prisma", "migrations"), { withFileTypes: true }).filter((d) => d.isDirectory()).length,
    );
  } finally {
    await client.end();
  }

  const again = await migrateDatabase(url);
  assert.match(again, /No pending migrations/i);
  assert.match(await migrationStatus(url), /up to date/i);
});

test("the checked-in migrations produce exactly the schema that schema.prisma describes", async (t) => {
  const stack = await getTestStack();
  const name = uniqueName("s_");
  t.after(() => dropTestDatabase(name, stack));
  const sql = await schemaSqlFromEmpty(stack.serverUrl(stack.templateDb));
  const admin = new pg.Client({ connectionString: stack.serverUrl("postgres") });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();

  const fromSchema = new pg.Client({ connectionString: stack.serverUrl(name) });
  const fromMigrations = new pg.Client({ connectionString: stack.serverUrl(stack.templateDb) });
  await Promise.all([fromSchema.connect(), fromMigrations.connect()]);
  try {
    await fromSchema.query(sql);
    const describe = async (client: pg.Client) => {
      const columns = await client.query(
        `SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1, 2`,
      );
      const indexes = await client.query(
        `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
         AND indexname <> 'OutboxEvent_unsent_idx' ORDER BY 1`,
      );
      const constraints = await client.query(
        `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace = 'public'::regnamespace
         AND conrelid NOT IN (SELECT oid FROM pg_class WHERE relname = '_prisma_migrations') ORDER BY 1`,
      );
      return { columns: columns.rows, indexes: indexes.rows, constraints: constraints.rows };
    };
    const [expected, actual] = await Promise.all([describe(fromSchema), describe(fromMigrations)]);
    assert.deepEqual(actual.columns, expected.columns, "columns differ: write a migration for the schema change");
    assert.deepEqual(actual.indexes, expected.indexes, "indexes differ: write a migration for the schema change");
    assert.deepEqual(actual.constraints, expected.constraints, "constraints differ: write a migration for the schema change");
  } finally {
    await Promise.all([fromSchema.end(), fromMigrations.end()]);
  }
});
