import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidStateError, ValidationError } from "../../lib/errors/index.ts";
import { decodeEvent } from "../../lib/events/index.ts";
import { createTestContext, seedStudy, type TestCtx } from "../helpers/index.ts";

const provenance = { modelName: "gk-mvlp-tiny", modelVersion: "0.1.0-synthetic", bundleSha256: "ab".repeat(32) };

async function request(ctx: TestCtx, task: "CLASSIFICATION" | "LOCALIZATION" | "REPORT" | "VQA", key: string, question?: string) {
  const s = await seedStudy(ctx.repos, key.toLowerCase());
  const { analysis } = await ctx.repos.analyses.requestAnalysis({
    tenantId: s.tenantId,
    studyId: s.studyId,
    imageId: s.imageId,
    task,
    question,
    idempotencyKey: key,
  });
  return { s, analysis };
}

test("a redelivered classification result is written once", async (t) => {
  const ctx = await createTestContext(t);
  const { s, analysis } = await request(ctx, "CLASSIFICATION", "C1");
  const findings = [
    {
      label: "Pneumothorax",
      probability: 0.91,
      threshold: 0.5,
      regions: [{ region: "right apical zone", score: 0.7 }],
      knowledgeSentence: "pneumothorax in the right apical zone",
    },
    { label: "Cardiomegaly", probability: 0.2, threshold: 0.5, regions: [{ region: "cardiac silhouette", score: 0.9 }] },
  ];
  assert.ok(await ctx.repos.analyses.startAttempt(analysis.id));
  const first = await ctx.repos.results.writeClassification(analysis.id, provenance, findings, {
    dedupe: { consumerGroup: "w", messageId: "m1" },
  });
  // the same message again (redelivery after a crash before the offset commit), and a second attempt's write
  const again = await ctx.repos.results.writeClassification(analysis.id, provenance, findings, {
    dedupe: { consumerGroup: "w", messageId: "m1" },
  });
  const later = await ctx.repos.results.writeClassification(analysis.id, provenance, findings);
  assert.deepEqual([first.applied, again.applied, later.applied], [true, false, false]);
  assert.equal(await ctx.db.prisma.findingResult.count(), 2);

  const stored = await ctx.repos.analyses.findById(s.tenantId, analysis.id);
  assert.equal(stored?.status, "SUCCEEDED");
  assert.equal(stored?.bundleSha256, provenance.bundleSha256);
  assert.equal(stored?.attempts, 1);
  const [rows] = await ctx.repos.results.findingsByAnalysisIds(s.tenantId, [analysis.id]);
  assert.deepEqual(
    rows!.map((r) => [r.label, r.positive, r.topRegion]),
    [
      ["Pneumothorax", true, "right apical zone"],
      ["Cardiomegaly", false, "cardiac silhouette"],
    ],
  );

  const completed = await ctx.db.prisma.outboxEvent.findMany({ where: { topic: ctx.topics.completed } });
  assert.equal(completed.length, 1, "one completion event, not one per delivery");
  const event = decodeEvent("AnalysisCompleted", JSON.stringify(completed[0]!.payload));
  assert.equal(event.status, "SUCCEEDED");
  assert.deepEqual(event.modelVersion, {
    name: provenance.modelName,
    version: provenance.modelVersion,
    bundleSha256: provenance.bundleSha256,
  });
  assert.equal((await ctx.repos.studies.findById(s.tenantId, s.studyId))?.status, "ANALYSED");
});

test("concurrent writes of the same report leave exactly one report", async (t) => {
  const ctx = await createTestContext(t);
  const { s, analysis } = await request(ctx, "REPORT", "R1");
  const report = {
    findingsText: "There is a small right pneumothorax. The heart size is normal.",
    impressionText: "Small right pneumothorax.",
    decoding: "beam:3",
    sentences: [
      { index: 0, text: "There is a small right pneumothorax.", regions: [{ region: "right lung", score: 0.8 }], labels: ["Pneumothorax"] },
      { index: 1, text: "The heart size is normal.", regions: [{ region: "cardiac silhouette", score: 0.9 }], labels: [] },
      { index: 2, section: "IMPRESSION" as const, text: "Small right pneumothorax.", regions: [], labels: ["Pneumothorax"] },
    ],
  };
  const outcomes = await Promise.all([1, 2, 3].map(() => ctx.repos.results.writeReport(analysis.id, provenance, report)));
  assert.equal(outcomes.filter((o) => o.applied).length, 1);
  assert.equal(await ctx.db.prisma.reportResult.count(), 1);
  assert.equal(await ctx.db.prisma.reportSentence.count(), 3);
  const [stored] = await ctx.repos.results.reportsByAnalysisIds(s.tenantId, [analysis.id]);
  assert.deepEqual(
    stored?.sentences.map((x) => x.section),
    ["FINDINGS", "FINDINGS", "IMPRESSION"],
  );
});

test("boxes and answers are stored typed; a result for a cancelled analysis is dropped", async (t) => {
  const ctx = await createTestContext(t);
  const loc = await request(ctx, "LOCALIZATION", "L1");
  const boxes = [
    { label: "Nodule", x1: 10, y1: 20, x2: 110, y2: 140, score: 0.8, heatmap: [0, 0.5, 1, 0.25], heatmapWidth: 2, heatmapHeight: 2 },
    { label: "Nodule", x1: 300, y1: 20, x2: 340, y2: 60, score: 0.4 },
  ];
  assert.equal((await ctx.repos.results.writeLocalization(loc.analysis.id, provenance, boxes)).applied, true);
  const [stored] = await ctx.repos.results.boxesByAnalysisIds(loc.s.tenantId, [loc.analysis.id]);
  assert.deepEqual(
    stored!.map((b) => [b.rank, b.x2]),
    [
      [0, 110],
      [1, 340],
    ],
  );
  assert.equal("heatmap" in stored![0]!, false, "boxes come without their heatmaps");
  const [heatmaps] = await ctx.repos.results.heatmapsByAnalysisIds(loc.s.tenantId, [loc.analysis.id]);
  assert.deepEqual(
    heatmaps!.map((h) => [h.label, h.heatmap, h.heatmapWidth, h.heatmapHeight]),
    [["Nodule", [0, 0.5, 1, 0.25], 2, 2]],
  );

  const vqa = await request(ctx, "VQA", "V1", "Is there a pneumothorax?");
  await ctx.repos.analyses.cancel(vqa.s.tenantId, vqa.analysis.id);
  const late = await ctx.repos.results.writeVqa(vqa.analysis.id, provenance, {
    question: "Is there a pneumothorax?",
    answer: "yes",
    confidence: 0.8,
    answerType: "CLOSED",
    regions: [],
  });
  assert.deepEqual(late, { applied: false, status: "CANCELLED" });
  assert.equal(await ctx.db.prisma.vqaAnswer.count(), 0);

  await assert.rejects(
    ctx.repos.results.writeClassification(loc.analysis.id, provenance, [
      { label: "X", probability: Number.NaN, threshold: 0.5, regions: [] },
    ]),
    ValidationError,
  );
  const wrongTask = await request(ctx, "REPORT", "R9");
  await assert.rejects(
    ctx.repos.results.writeVqa(wrongTask.analysis.id, provenance, {
      question: "q",
      answer: "a",
      confidence: 1,
      answerType: "OPEN",
      regions: [],
    }),
    ValidationError,
  );
  assert.equal((await ctx.repos.analyses.findById(wrongTask.s.tenantId, wrongTask.analysis.id))?.status, "QUEUED");
});

test("a failure is recorded once with its reason and announced; results after it are ignored", async (t) => {
  const ctx = await createTestContext(t);
  const { s, analysis } = await request(ctx, "CLASSIFICATION", "F1");
  const failed = await ctx.repos.analyses.markFailed(analysis.id, { code: "INVALID_IMAGE", message: "image bytes missing" });
  const again = await ctx.repos.analyses.markFailed(analysis.id, { code: "INVALID_IMAGE", message: "image bytes missing" });
  assert.deepEqual([failed.applied, again.applied], [true, false]);
  assert.equal(failed.analysis?.errorMessage, "image bytes missing");
  const late = await ctx.repos.results.writeClassification(analysis.id, provenance, [
    { label: "Edema", probability: 0.3, threshold: 0.5, regions: [] },
  ]);
  assert.equal(late.applied, false);
  const completions = await ctx.db.prisma.outboxEvent.findMany({ where: { topic: ctx.topics.completed } });
  assert.equal(completions.length, 1);
  assert.deepEqual(decodeEvent("AnalysisCompleted", JSON.stringify(completions[0]!.payload)).error, {
    code: "INVALID_IMAGE",
    message: "image bytes missing",
  });
  await ctx.repos.analyses.retry(s.tenantId, analysis.id);
  assert.equal((await ctx.repos.analyses.startAttempt(analysis.id))?.attempts, 1);
});

test("studies with a finding above a probability are found with one query, per tenant", async (t) => {
  const ctx = await createTestContext(t);
  const high = await request(ctx, "CLASSIFICATION", "H");
  const low = await request(ctx, "CLASSIFICATION", "L");
  const finding = (p: number) => [{ label: "Pneumothorax", probability: p, threshold: 0.5, regions: [] }];
  await ctx.repos.results.writeClassification(high.analysis.id, provenance, finding(0.93));
  await ctx.repos.results.writeClassification(low.analysis.id, provenance, finding(0.42));
  const withFinding = (tenantId: string, minProbability: number) =>
    ctx.repos.listings.studies(tenantId, { finding: { label: "Pneumothorax", minProbability } }, 100, null);
  const found = await withFinding(high.s.tenantId, 0.8);
  assert.deepEqual(
    found.map((x) => x.id),
    [high.s.studyId],
  );
  assert.equal((await withFinding(low.s.tenantId, 0.8)).length, 0);
  assert.equal((await withFinding(low.s.tenantId, 0.4)).length, 1);
});

test("reviews accept only succeeded reports, an amendment needs its text, and each review is audited in its transaction", async (t) => {
  const ctx = await createTestContext(t);
  const { s, analysis } = await request(ctx, "REPORT", "RV");
  const reviewer = await ctx.repos.users.create({
    tenantId: s.tenantId,
    email: `rad-${analysis.id}@x.test`,
    name: "Rad",
    role: "RADIOLOGIST",
    password: "long-enough-pass",
  });
  const review = { tenantId: s.tenantId, analysisId: analysis.id, reviewerId: reviewer.id, actor: `user:${reviewer.id}` };
  await assert.rejects(ctx.repos.reviews.create({ ...review, action: "ACCEPT" }), InvalidStateError);
  await ctx.repos.results.writeReport(analysis.id, provenance, {
    findingsText: "Normal.",
    impressionText: "Normal.",
    decoding: "greedy",
    sentences: [],
  });
  await assert.rejects(ctx.repos.reviews.create({ ...review, action: "AMEND" }), ValidationError);
  await assert.rejects(ctx.repos.reviews.create({ ...review, action: "ACCEPT", amendedText: "text" }), ValidationError);
  await ctx.repos.reviews.create({ ...review, action: "AMEND", amendedText: "No acute findings." });
  assert.equal((await ctx.repos.studies.findById(s.tenantId, s.studyId))?.status, "REVIEWED");
  const audit = await ctx.db.prisma.auditEvent.findMany({ where: { tenantId: s.tenantId, targetId: analysis.id } });
  assert.deepEqual(
    audit.map((a) => [a.action, a.actor]),
    [["report.amend", `user:${reviewer.id}`]],
    "refused reviews leave no audit row, the accepted one exactly one",
  );
  assert.equal((await ctx.repos.users.verifyCredentials(reviewer.email, "long-enough-pass"))?.id, reviewer.id);
  assert.equal(await ctx.repos.users.verifyCredentials(reviewer.email, "wrong-password"), null);
});

test("a study whose results commit at the same moment ends analysed, not stuck in progress", async (t) => {
  const ctx = await createTestContext(t);
  for (const round of [1, 2, 3]) {
    const s = await seedStudy(ctx.repos, `race-${round}`);
    const ask = (task: "CLASSIFICATION" | "LOCALIZATION" | "REPORT" | "VQA", question?: string) =>
      ctx.repos.analyses.requestAnalysis({
        tenantId: s.tenantId,
        studyId: s.studyId,
        imageId: s.imageId,
        task,
        question,
        idempotencyKey: `race-${round}-${task}`,
      });
    const [c, l, r, v] = await Promise.all([
      ask("CLASSIFICATION"),
      ask("LOCALIZATION"),
      ask("REPORT"),
      ask("VQA", "Is there a pneumothorax?"),
    ]);
    for (const a of [c, l, r, v]) assert.ok(await ctx.repos.analyses.startAttempt(a.analysis.id));
    assert.equal((await ctx.repos.studies.findById(s.tenantId, s.studyId))?.status, "IN_PROGRESS");
    await Promise.all([
      ctx.repos.results.writeClassification(c.analysis.id, provenance, [
        { label: "Pneumothorax", probability: 0.9, threshold: 0.5, regions: [] },
      ]),
      ctx.repos.results.writeLocalization(l.analysis.id, provenance, [{ label: "Pneumothorax", x1: 1, y1: 1, x2: 9, y2: 9, score: 0.9 }]),
      ctx.repos.results.writeReport(r.analysis.id, provenance, {
        findingsText: "Small right pneumothorax.",
        impressionText: "",
        decoding: "greedy",
        sentences: [],
      }),
      ctx.repos.results.writeVqa(v.analysis.id, provenance, {
        question: "Is there a pneumothorax?",
        answer: "yes",
        confidence: 0.9,
        answerType: "CLOSED",
        regions: [],
      }),
    ]);
    assert.equal((await ctx.repos.studies.findById(s.tenantId, s.studyId))?.status, "ANALYSED", `round ${round}`);
  }
});
