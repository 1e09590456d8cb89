// The worker's end of a job whose analyses all succeeded: one statement, no transaction around it
// (lib/db/repositories/job-once-sql.ts). What the two-statement writer decided between its statements is decided
// in the SQL: a processed message writes nothing, an analysis finished meanwhile is left alone (one result per
// analysis), and a study refresh that raced with another writer is redone.
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { createJobResultRepository, type JobResult, type OpenedAnalysis } from "../../lib/db/repositories/job-results.ts";
import { createTestContext, seedStudy, waitFor, type TestCtx } from "../helpers/index.ts";

const provenance = { modelName: "gk-mvlp-tiny", modelVersion: "0.1.0-synthetic", bundleSha256: "ab".repeat(32) };
const reliability = { level: "OK" as const, score: 0.9, reasons: [], frontalProbability: 0.97, oodDistance: 0.1 };

async function twoAnalyses(ctx: TestCtx, label: string) {
  const s = await seedStudy(ctx.repos, label);
  const outcomes = await ctx.repos.analyses.requestAnalyses(
    (["CLASSIFICATION", "VQA"] as const).map((task) => ({
      tenantId: s.tenantId,
      studyId: s.studyId,
      imageId: s.imageId,
      task,
      ...(task === "VQA" ? { question: "Is there an effusion?" } : {}),
      idempotencyKey: `${label}-${task}`,
    })),
  );
  const [cls, vqa] = outcomes.map((o) => o.analysis);
  await ctx.db.prisma.analysis.updateMany({ where: { studyId: s.studyId }, data: { status: "RUNNING", attempts: 1 } });
  const opened = (await ctx.db.prisma.analysis.findMany({ where: { studyId: s.studyId } })) as unknown as OpenedAnalysis[];
  return { s, cls: cls!, vqa: vqa!, opened };
}

const clsResult = (analysisId: string): JobResult => ({
  analysisId,
  reliability,
  task: "CLASSIFICATION",
  findings: [{ label: "Effusion", probability: 0.7, threshold: 0.5, regions: [{ region: "left lung", score: 0.6 }] }],
});
const vqaResult = (analysisId: string): JobResult => ({
  analysisId,
  reliability,
  task: "VQA",
  vqa: { question: "Is there an effusion?", answer: "yes", confidence: 0.8, answerType: "CLOSED", regions: [] },
});

// The worker runs the job's statements through pg directly (ctx.db.sql); scripts and tests without a pool, through
// Prisma's raw channel. Both must write and read the same.
for (const channel of ["Prisma", "pg"] as const)
  test(`through ${channel}: a job of succeeded analyses ends in one statement; the same message again, or a duplicate job, writes nothing more`, async (t) => {
    const ctx = await createTestContext(t);
    const jobs = createJobResultRepository(ctx.db.prisma, ctx.topics, channel === "pg" ? ctx.db.sql : undefined);
    const { s, cls, vqa, opened } = await twoAnalyses(ctx, "once");
    const outboxBefore = await ctx.db.prisma.outboxEvent.count({ where: { topic: ctx.topics.completed } });
    const job = { provenance, succeeded: [clsResult(cls.id), vqaResult(vqa.id)], opened };

    const first = await jobs.finishJob({ ...job, dedupe: { consumerGroup: "g", messageId: "m1" } });
    assert.equal(first.fresh, true);
    assert.deepEqual([...first.applied].sort(), [cls.id, vqa.id].sort());

    const counts = async () => ({
      findings: await ctx.db.prisma.findingResult.count({ where: { analysisId: cls.id } }),
      answers: await ctx.db.prisma.vqaAnswer.count({ where: { analysisId: vqa.id } }),
      completed: (await ctx.db.prisma.outboxEvent.count({ where: { topic: ctx.topics.completed } })) - outboxBefore,
      succeeded: await ctx.db.prisma.analysisTransition.count({ where: { studyId: s.studyId, status: "SUCCEEDED" } }),
      processed: await ctx.db.prisma.processedMessage.count(),
    });
    assert.deepEqual(await counts(), { findings: 1, answers: 1, completed: 2, succeeded: 2, processed: 1 });
    const stored = await ctx.db.prisma.analysis.findMany({ where: { studyId: s.studyId } });
    for (const a of stored) {
      assert.equal(a.status, "SUCCEEDED");
      assert.equal(a.modelName, provenance.modelName);
      assert.equal(a.reliabilityLevel, "OK");
    }
    assert.equal((await ctx.repos.studies.findById(s.tenantId, s.studyId))?.status, "ANALYSED");
    const events = await ctx.db.prisma.outboxEvent.findMany({ where: { topic: ctx.topics.completed }, orderBy: { id: "asc" } });
    const payload = events.at(-1)!.payload as { status: string; modelVersion?: { name: string }; reliability?: { level: string } };
    assert.equal(payload.status, "SUCCEEDED");
    assert.equal(payload.modelVersion?.name, provenance.modelName);
    assert.equal(payload.reliability?.level, "OK");

    const again = await jobs.finishJob({ ...job, dedupe: { consumerGroup: "g", messageId: "m1" } });
    assert.deepEqual(again, { fresh: false, applied: [] });
    const duplicate = await jobs.finishJob({ ...job, dedupe: { consumerGroup: "g", messageId: "m2" } });
    assert.deepEqual(duplicate, { fresh: true, applied: [] }, "both analyses are finished already");
    assert.deepEqual(await counts(), { findings: 1, answers: 1, completed: 2, succeeded: 2, processed: 2 });

    // the job's first statement on the processed message: no claim, and the same rows through either channel
    const openArgs = {
      consumerGroup: "g",
      messageId: "m1",
      analysisIds: [cls.id, vqa.id],
      tenantId: s.tenantId,
      studyId: s.studyId,
      imageId: s.imageId,
      expectedTask: null,
      attempt: 1,
      maxAttempts: 3,
    };
    const viaChannel = await jobs.open(openArgs);
    assert.equal(viaChannel.processed, true);
    assert.deepEqual(viaChannel.claimed, []);
    assert.equal(viaChannel.image?.id, s.imageId);
    assert.deepEqual(viaChannel, await createJobResultRepository(ctx.db.prisma, ctx.topics).open(openArgs), "pg and Prisma read alike");
  });

test("a job whose study another writer changed while this one waited for the study's lock still leaves the study ANALYSED", async (t) => {
  const ctx = await createTestContext(t);
  const jobs = createJobResultRepository(ctx.db.prisma, ctx.topics);
  const { s, cls, vqa, opened } = await twoAnalyses(ctx, "race");

  // another writer finishes the VQA analysis and holds the study row until the job's statement waits for it
  const other = new pg.Client({ connectionString: ctx.databaseUrl });
  await other.connect();
  ctx.defer(() => other.end());
  await other.query("BEGIN");
  await other.query(`UPDATE "Analysis" SET status = 'SUCCEEDED', "finishedAt" = now() WHERE id = $1`, [vqa.id]);
  await other.query(`UPDATE "Study" SET "updatedAt" = now() WHERE id = $1`, [s.studyId]);

  const writing = jobs.finishJob({
    provenance,
    succeeded: [clsResult(cls.id)],
    opened,
    dedupe: { consumerGroup: "g", messageId: "race-1" },
  });
  await waitFor(
    "the job's statement to wait for the study",
    async () =>
      (
        await ctx.db.prisma.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`
      )[0]!.n > 0,
    10_000,
  );
  await other.query("COMMIT");
  const out = await writing;
  assert.deepEqual(out.applied, [cls.id]);
  // its snapshot still saw the VQA analysis RUNNING; the study is refreshed again from committed state
  assert.equal((await ctx.repos.studies.findById(s.tenantId, s.studyId))?.status, "ANALYSED");
});

test("a job with a failed analysis takes the transactional writer: FAILED with its error, the other SUCCEEDED", async (t) => {
  const ctx = await createTestContext(t);
  const jobs = createJobResultRepository(ctx.db.prisma, ctx.topics);
  const { s, cls, vqa, opened } = await twoAnalyses(ctx, "mixed");
  const out = await jobs.finishJob({
    provenance,
    succeeded: [clsResult(cls.id)],
    failed: [{ analysisId: vqa.id, error: { code: "INFERENCE_FAILED", message: "head failed", retriable: false } }],
    opened,
    dedupe: { consumerGroup: "g", messageId: "mixed-1" },
  });
  assert.deepEqual([...out.applied].sort(), [cls.id, vqa.id].sort());
  const stored = new Map((await ctx.db.prisma.analysis.findMany({ where: { studyId: s.studyId } })).map((a) => [a.id, a]));
  assert.equal(stored.get(cls.id)?.status, "SUCCEEDED");
  assert.equal(stored.get(vqa.id)?.status, "FAILED");
  assert.equal(stored.get(vqa.id)?.errorCode, "INFERENCE_FAILED");
  assert.equal((await ctx.repos.studies.findById(s.tenantId, s.studyId))?.status, "ANALYSED");
});
