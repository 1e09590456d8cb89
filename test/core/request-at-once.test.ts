// The request path's one statement (lib/db/repositories/request-sql.ts): a new request writes its analyses, one
// job, the QUEUED transitions, the study's IN_PROGRESS and the audit event together; anything unusual (another
// tenant's image, an image of another study, a key already used, a lost race) writes nothing and answers null so
// that the general path decides.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeEvent, jobOf } from "../../lib/events/index.ts";
import type { StudyRequest } from "../../lib/db/repositories/request-sql.ts";
import { createTestContext, seedStudy } from "../helpers/index.ts";

const items = (key: string): StudyRequest["items"] => [
  { task: "CLASSIFICATION", question: null, idempotencyKey: `${key}|c` },
  { task: "REPORT", question: null, idempotencyKey: `${key}|r` },
  { task: "VQA", question: "Is there an effusion?", idempotencyKey: `${key}|v` },
];

test("a new request writes its analyses, one job, the transitions, the study status and the audit event together", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  const request: StudyRequest = {
    tenantId: s.tenantId,
    studyId: s.studyId,
    imageId: s.imageId,
    requestedBy: "user:u1",
    items: items("k1"),
    audit: { action: "analysis.request", details: { requestId: "req-1", idempotencyKey: "k1" } },
  };
  const outcomes = await ctx.repos.analyses.requestAtOnce(request);
  assert.ok(outcomes);
  assert.deepEqual(
    outcomes.map((o) => [o.created, o.analysis.task, o.analysis.status, o.analysis.question]),
    [
      [true, "CLASSIFICATION", "QUEUED", null],
      [true, "REPORT", "QUEUED", null],
      [true, "VQA", "QUEUED", "Is there an effusion?"],
    ],
  );
  const ids = outcomes.map((o) => o.analysis.id);
  const stored = await ctx.db.prisma.analysis.findMany({ where: { id: { in: ids } } });
  assert.equal(stored.length, 3);
  for (const a of stored) {
    assert.equal(a.tenantId, s.tenantId);
    assert.equal(a.requestedBy, "user:u1");
    assert.ok(Math.abs(a.requestedAt.getTime() - Date.now()) < 60_000, "requestedAt is now, in UTC");
  }
  const outbox = await ctx.db.prisma.outboxEvent.findMany();
  assert.equal(outbox.length, 1, "one job for the image");
  const job = jobOf(decodeEvent("AnalysisRequested", JSON.stringify(outbox[0]!.payload)));
  assert.deepEqual(job.analysisIds, ids);
  assert.equal(outbox[0]!.key, s.studyId);
  const transitions = await ctx.db.prisma.analysisTransition.findMany({ orderBy: { id: "asc" } });
  assert.deepEqual(
    transitions.map((x) => [x.analysisId, x.status]),
    ids.map((id) => [id, "QUEUED"]),
  );
  assert.equal((await ctx.repos.studies.findById(s.tenantId, s.studyId))?.status, "IN_PROGRESS");
  const audit = await ctx.db.prisma.auditEvent.findMany({ where: { action: "analysis.request" } });
  assert.equal(audit.length, 1);
  assert.deepEqual(
    { tenantId: audit[0]!.tenantId, actor: audit[0]!.actor, targetType: audit[0]!.targetType, targetId: audit[0]!.targetId },
    { tenantId: s.tenantId, actor: "user:u1", targetType: "Study", targetId: s.studyId },
  );
  assert.deepEqual(audit[0]!.details, {
    requestId: "req-1",
    idempotencyKey: "k1",
    analysisIds: ids,
    tasks: ["CLASSIFICATION", "REPORT", "VQA"],
  });
});

test("a request naming another tenant's image, or an image of another study, writes nothing", async (t) => {
  const ctx = await createTestContext(t);
  const mine = await seedStudy(ctx.repos, "a");
  const theirs = await seedStudy(ctx.repos, "b");
  const audit = { action: "analysis.request", details: {} };
  const base = { tenantId: mine.tenantId, requestedBy: "user:u1", items: items("x"), audit };
  assert.equal(await ctx.repos.analyses.requestAtOnce({ ...base, studyId: mine.studyId, imageId: theirs.imageId }), null);
  assert.equal(await ctx.repos.analyses.requestAtOnce({ ...base, studyId: theirs.studyId, imageId: theirs.imageId }), null);
  const other = await ctx.repos.studies.create({
    tenantId: mine.tenantId,
    patientId: mine.patientId,
    accession: "ACC-other",
    modality: "DX",
  });
  assert.equal(await ctx.repos.analyses.requestAtOnce({ ...base, studyId: other.id, imageId: mine.imageId }), null);
  assert.equal(await ctx.db.prisma.analysis.count(), 0);
  assert.equal(await ctx.db.prisma.outboxEvent.count(), 0);
  assert.equal(await ctx.db.prisma.analysisTransition.count(), 0);
  assert.equal(await ctx.db.prisma.auditEvent.count({ where: { action: "analysis.request" } }), 0);
  assert.notEqual((await ctx.repos.studies.findById(mine.tenantId, mine.studyId))?.status, "IN_PROGRESS");
});

test("a repeated idempotency key writes nothing here, and the general path returns the first analyses", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  const request: StudyRequest = {
    tenantId: s.tenantId,
    studyId: s.studyId,
    imageId: s.imageId,
    requestedBy: "apikey:k",
    items: items("again"),
    audit: { action: "analysis.request", details: {} },
  };
  const first = await ctx.repos.analyses.requestAtOnce(request);
  assert.ok(first);
  assert.equal(await ctx.repos.analyses.requestAtOnce(request), null);
  const again = await ctx.repos.analyses.requestAnalyses(
    request.items.map((item) => ({ ...item, tenantId: s.tenantId, studyId: s.studyId, imageId: s.imageId })),
  );
  assert.deepEqual(
    again.map((o) => [o.analysis.id, o.created]),
    first.map((o) => [o.analysis.id, false]),
  );
  assert.equal(await ctx.db.prisma.analysis.count(), 3);
  assert.equal(await ctx.db.prisma.outboxEvent.count(), 1);
  assert.equal(await ctx.db.prisma.auditEvent.count({ where: { action: "analysis.request" } }), 1);
});

test("concurrent requests with the same keys create one set of analyses; the others write nothing", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  const request: StudyRequest = {
    tenantId: s.tenantId,
    studyId: s.studyId,
    imageId: s.imageId,
    requestedBy: "user:u1",
    items: items("race"),
    audit: { action: "analysis.request", details: {} },
  };
  const results = await Promise.all(Array.from({ length: 5 }, () => ctx.repos.analyses.requestAtOnce(request)));
  assert.equal(results.filter((r) => r !== null).length, 1);
  assert.equal(await ctx.db.prisma.analysis.count(), 3);
  assert.equal(await ctx.db.prisma.outboxEvent.count(), 1);
  assert.equal(await ctx.db.prisma.analysisTransition.count(), 3);
  assert.equal(await ctx.db.prisma.auditEvent.count({ where: { action: "analysis.request" } }), 1);
});
