// The audit row every read of patient data writes is one named statement on the direct SQL channel (not a Prisma
// create, whose per-request query compilation was a share of the gateway's CPU per page, issue 13). What it writes
// must be what the ORM writes and reads back: same columns, UTC time, JSON details, platform events without a tenant.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createTestContext, reposWithSqlSpy, seedStudy } from "../helpers/index.ts";

test("audit events recorded through the direct SQL channel read back as the ORM's rows, in UTC", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos, "auditsql");
  const { repos, names } = reposWithSqlSpy(ctx);

  const before = Date.now();
  const written = await repos.audit.record({
    tenantId: s.tenantId,
    actor: "user:u1",
    action: "study.read",
    targetType: "Study",
    targetId: s.studyId,
    details: { requestId: "r-1", nested: { n: 2, list: ["a", "b"] }, quote: 'it\'s "x"' },
  });
  const after = Date.now();
  assert.deepEqual(names, ["audit_insert"], "one named statement, no ORM create");
  const stored = await ctx.db.prisma.auditEvent.findUniqueOrThrow({ where: { id: written.id } });
  assert.deepEqual(written, stored, "the returned row is the stored row, as the ORM reads it");
  assert.ok(stored.at instanceof Date);
  // Prisma's timestamps are UTC in a column without a time zone: a local-time write would be hours off here
  assert.ok(stored.at.getTime() >= before - 1000 && stored.at.getTime() <= after + 1000, `at ${stored.at.toISOString()} is now`);
  assert.deepEqual(stored.details, { requestId: "r-1", nested: { n: 2, list: ["a", "b"] }, quote: 'it\'s "x"' });

  // a platform event (no tenant, no target, no details) takes the same path and the ORM's defaults
  const platform = await repos.audit.record({ tenantId: null, actor: "system:test", action: "model.activate", targetType: "ModelVersion" });
  const orm = await ctx.db.prisma.auditEvent.create({
    data: { tenantId: null, actor: "system:test", action: "model.activate", targetType: "ModelVersion", targetId: null, details: {} },
  });
  const { id: _a, at: _b, ...sqlRow } = platform;
  const { id: _c, at: _d, ...ormRow } = orm;
  assert.deepEqual(sqlRow, ormRow);
  assert.match(platform.id, /^[0-9a-f-]{36}$/);

  // the reader sees both, newest first, within the tenant's and the platform's scope
  const page = await repos.audit.page({ tenantId: s.tenantId, platform: true }, {}, 10, null);
  assert.ok(page.some((e) => e.id === written.id) && page.some((e) => e.id === platform.id));
});
