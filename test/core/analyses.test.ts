import { test } from "node:test";
import assert from "node:assert/strict";
import { ConflictError, NotFoundError, ValidationError } from "../../lib/errors/index.ts";
import { decodeEvent, jobOf } from "../../lib/events/index.ts";
import { createTestContext, seedStudy } from "../helpers/index.ts";

test("the same request twice with one idempotency key yields one analysis and one outbox row", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  const input = {
    tenantId: s.tenantId,
    studyId: s.studyId,
    imageId: s.imageId,
    task: "CLASSIFICATION" as const,
    idempotencyKey: "req-1",
    requestedBy: "user:u1",
  };

  const first = await ctx.repos.analyses.requestAnalysis(input);
  const second = await ctx.repos.analyses.requestAnalysis(input);
  assert.equal(first.created, true);
  assert.equal(second.created, false);
  assert.equal(second.analysis.id, first.analysis.id);

  // concurrent duplicates race on the unique index and still end up as one analysis
  const racing = await Promise.all(
    Array.from({ length: 5 }, () => ctx.repos.analyses.requestAnalysis({ ...input, idempotencyKey: "req-2" })),
  );
  assert.equal(new Set(racing.map((r) => r.analysis.id)).size, 1);
  assert.equal(racing.filter((r) => r.created).length, 1);

  assert.equal(await ctx.db.prisma.analysis.count(), 2);
  const outbox = await ctx.db.prisma.outboxEvent.findMany({ orderBy: { id: "asc" } });
  assert.equal(outbox.length, 2);
  const event = decodeEvent("AnalysisRequested", JSON.stringify(outbox[0]!.payload));
  assert.equal(outbox[0]!.topic, ctx.topics.requested);
  assert.equal(outbox[0]!.key, s.studyId);
  assert.deepEqual(jobOf(event).analysisIds, [first.analysis.id]);
  assert.equal(event.eventId, outbox[0]!.eventId);
  assert.equal(event.attempt, 1);
  assert.equal((await ctx.repos.studies.findById(s.tenantId, s.studyId))?.status, "IN_PROGRESS");
});

test("reusing an idempotency key for a different request is a conflict and writes nothing", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  const base = { tenantId: s.tenantId, studyId: s.studyId, imageId: s.imageId, idempotencyKey: "k" };
  await ctx.repos.analyses.requestAnalysis({ ...base, task: "REPORT" });
  await assert.rejects(ctx.repos.analyses.requestAnalysis({ ...base, task: "LOCALIZATION" }), ConflictError);
  assert.equal(await ctx.db.prisma.analysis.count(), 1);
  assert.equal(await ctx.db.prisma.outboxEvent.count(), 1);
});

test("a multi-task request is all-or-nothing: one bad item writes no analysis and no outbox row", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  const base = { tenantId: s.tenantId, studyId: s.studyId, imageId: s.imageId };
  await assert.rejects(
    ctx.repos.analyses.requestAnalyses([
      { ...base, task: "CLASSIFICATION", idempotencyKey: "a" },
      { ...base, task: "VQA", idempotencyKey: "b" }, // VQA without a question
    ]),
    (error: unknown) => error instanceof ValidationError && error.field === "question",
  );
  assert.equal(await ctx.db.prisma.analysis.count(), 0);
  assert.equal(await ctx.db.prisma.outboxEvent.count(), 0);

  const ok = await ctx.repos.analyses.requestAnalyses([
    { ...base, task: "CLASSIFICATION", idempotencyKey: "a" },
    { ...base, task: "VQA", question: "Is the heart enlarged?", idempotencyKey: "b" },
  ]);
  assert.deepEqual(
    ok.map((o) => o.created),
    [true, true],
  );
  assert.equal(await ctx.db.prisma.outboxEvent.count(), 1, "one job message for the two analyses of the image");
});

test("another tenant's study and image are not found and its analyses are invisible", async (t) => {
  const ctx = await createTestContext(t);
  const mine = await seedStudy(ctx.repos, "a");
  const theirs = await seedStudy(ctx.repos, "b");
  await assert.rejects(
    ctx.repos.analyses.requestAnalysis({
      tenantId: mine.tenantId,
      studyId: theirs.studyId,
      imageId: theirs.imageId,
      task: "REPORT",
      idempotencyKey: "x",
    }),
    NotFoundError,
  );
  await assert.rejects(
    ctx.repos.analyses.requestAnalysis({
      tenantId: mine.tenantId,
      studyId: mine.studyId,
      imageId: theirs.imageId,
      task: "REPORT",
      idempotencyKey: "y",
    }),
    (error: unknown) => error instanceof NotFoundError && error.field === "imageId",
  );
  const { analysis } = await ctx.repos.analyses.requestAnalysis({
    tenantId: theirs.tenantId,
    studyId: theirs.studyId,
    imageId: theirs.imageId,
    task: "REPORT",
    idempotencyKey: "z",
  });
  assert.equal(await ctx.repos.analyses.findById(mine.tenantId, analysis.id), null);
  assert.deepEqual(await ctx.repos.analyses.findManyByIds(mine.tenantId, [analysis.id]), [undefined]);
  assert.equal(await ctx.repos.studies.findById(mine.tenantId, theirs.studyId), null);
  assert.equal(await ctx.repos.studies.findById(mine.tenantId, "not-a-uuid"), null);
  await assert.rejects(ctx.repos.analyses.cancel(mine.tenantId, analysis.id), NotFoundError);
});

test("cancel and retry move through the allowed states only, each announcing itself in the outbox", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos);
  const { analysis } = await ctx.repos.analyses.requestAnalysis({
    tenantId: s.tenantId,
    studyId: s.studyId,
    imageId: s.imageId,
    task: "LOCALIZATION",
    question: "Cardiomegaly",
    idempotencyKey: "c",
  });
  await assert.rejects(ctx.repos.analyses.retry(s.tenantId, analysis.id), ConflictError);
  const cancelled = await ctx.repos.analyses.cancel(s.tenantId, analysis.id);
  assert.equal(cancelled.status, "CANCELLED");
  assert.equal(await ctx.repos.analyses.startAttempt(analysis.id), null, "a worker must skip a cancelled analysis");
  await assert.rejects(ctx.repos.analyses.cancel(s.tenantId, analysis.id), ConflictError);

  const retried = await ctx.repos.analyses.retry(s.tenantId, analysis.id);
  assert.equal(retried.status, "QUEUED");
  const rows = await ctx.db.prisma.outboxEvent.findMany({ orderBy: { id: "asc" } });
  assert.deepEqual(
    rows.map((r) => r.topic),
    [ctx.topics.requested, ctx.topics.completed, ctx.topics.requested],
  );
  assert.equal(decodeEvent("AnalysisCompleted", JSON.stringify(rows[1]!.payload)).status, "CANCELLED");
  const again = decodeEvent("AnalysisRequested", JSON.stringify(rows[2]!.payload));
  assert.deepEqual(jobOf(again).analysisIds, [analysis.id], "the retry is a job of the one analysis");
  assert.equal(again.attempt, 1, "attempts used so far (none: it never started) + 1");
});

test("batch loaders return rows in key order with gaps for unknown ids", async (t) => {
  const ctx = await createTestContext(t);
  const a = await seedStudy(ctx.repos, "a");
  const studies = await ctx.repos.studies.findManyByIds(a.tenantId, ["missing", a.studyId]);
  assert.equal(studies[0], undefined);
  assert.equal(studies[1]?.id, a.studyId);
  const images = await ctx.repos.images.listByStudyIds(a.tenantId, [a.studyId, "missing"]);
  assert.deepEqual(
    images.map((list) => list.map((i) => i.id)),
    [[a.imageId], []],
  );
  const again = await ctx.repos.images.attach({
    tenantId: a.tenantId,
    studyId: a.studyId,
    sha256: images[0]![0]!.sha256,
    format: "PNG",
    width: 1,
    height: 1,
    bytes: 1,
    bitDepth: 8,
    storageKey: "x",
  });
  assert.equal(again.created, false);
  assert.equal(again.image.id, a.imageId);
  const page1 = await ctx.repos.listings.studies(a.tenantId, {}, 1, null);
  assert.equal(page1.length, 1, "one study: no extra row, so no next page");
});
