// The page loaders read through lib/db/sql.ts (pg, named prepared statements) instead of Prisma, for CPU (issue 13:
// gateway CPU per page). The rows must be what Prisma returned: same fields, same types (DateTime as UTC Dates,
// Json parsed, enums as strings), same order. Each reader is run through both channels on the same data.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createRepositories, sqlThroughPrisma } from "../../lib/db/index.ts";
import { createTestContext, seedStudy } from "../helpers/index.ts";

const provenance = { modelName: "gk-mvlp-tiny", modelVersion: "0.1.0-synthetic", bundleSha256: "ab".repeat(32) };

test("the direct SQL page readers return exactly what the Prisma channel returns", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos, "sqlreads");
  const tasks = ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"] as const;
  const outcomes = await ctx.repos.analyses.requestAnalyses(
    tasks.map((task) => ({
      tenantId: s.tenantId,
      studyId: s.studyId,
      imageId: s.imageId,
      task,
      question: task === "VQA" ? "Is there an effusion?" : undefined,
      idempotencyKey: `sql-${task}`,
    })),
  );
  const id = (task: (typeof tasks)[number]) => outcomes.find((o) => o.analysis.task === task)!.analysis.id;
  await ctx.repos.results.writeClassification(id("CLASSIFICATION"), provenance, [
    {
      label: "Pneumothorax",
      probability: 0.91,
      threshold: 0.5,
      regions: [{ region: "right apical zone", score: 0.7 }],
      knowledgeSentence: "k",
    },
    { label: "Cardiomegaly", probability: 0.2, threshold: 0.5, regions: [] },
  ]);
  await ctx.repos.results.writeLocalization(id("LOCALIZATION"), provenance, [
    { label: "Nodule", x1: 10, y1: 20, x2: 110, y2: 140, score: 0.8, heatmap: [0, 0.5, 1, 0.25], heatmapWidth: 2, heatmapHeight: 2 },
  ]);
  await ctx.repos.results.writeReport(id("REPORT"), provenance, {
    findingsText: "A small right pneumothorax.",
    impressionText: "Pneumothorax.",
    decoding: "beam:3",
    sentences: [
      { index: 1, section: "IMPRESSION" as const, text: "Pneumothorax.", regions: [], labels: ["Pneumothorax"] },
      { index: 0, text: "A small right pneumothorax.", regions: [{ region: "right lung", score: 0.8 }], labels: ["Pneumothorax"] },
    ],
  });
  await ctx.repos.results.writeVqa(id("VQA"), provenance, {
    question: "Is there an effusion?",
    answer: "no",
    confidence: 0.7,
    answerType: "CLOSED",
    regions: [],
  });

  const direct = ctx.repos;
  const viaPrisma = createRepositories(ctx.db.prisma, { topics: ctx.topics, sql: sqlThroughPrisma(ctx.db.prisma) });
  const ids = tasks.map(id);
  const pairs: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
    [
      "findings",
      () => direct.results.findingsByAnalysisIds(s.tenantId, ids),
      () => viaPrisma.results.findingsByAnalysisIds(s.tenantId, ids),
    ],
    ["boxes", () => direct.results.boxesByAnalysisIds(s.tenantId, ids), () => viaPrisma.results.boxesByAnalysisIds(s.tenantId, ids)],
    [
      "heatmaps",
      () => direct.results.heatmapsByAnalysisIds(s.tenantId, ids),
      () => viaPrisma.results.heatmapsByAnalysisIds(s.tenantId, ids),
    ],
    ["reports", () => direct.results.reportsByAnalysisIds(s.tenantId, ids), () => viaPrisma.results.reportsByAnalysisIds(s.tenantId, ids)],
    ["vqa", () => direct.results.vqaByAnalysisIds(s.tenantId, ids), () => viaPrisma.results.vqaByAnalysisIds(s.tenantId, ids)],
    [
      "analyses",
      () => direct.analyses.listByStudyIds(s.tenantId, [s.studyId]),
      () => viaPrisma.analyses.listByStudyIds(s.tenantId, [s.studyId]),
    ],
    ["images", () => direct.images.listByStudyIds(s.tenantId, [s.studyId]), () => viaPrisma.images.listByStudyIds(s.tenantId, [s.studyId])],
  ];
  for (const [name, a, b] of pairs) assert.deepEqual(await a(), await b(), name);
  // and what the ORM's model API (the readers' former implementation) returns
  assert.deepEqual(
    (await direct.results.findingsByAnalysisIds(s.tenantId, [id("CLASSIFICATION")]))[0],
    await ctx.db.prisma.findingResult.findMany({
      where: { analysisId: id("CLASSIFICATION") },
      orderBy: [{ probability: "desc" }, { label: "asc" }],
    }),
  );
  assert.deepEqual(
    (await direct.analyses.listByStudyIds(s.tenantId, [s.studyId]))[0],
    await ctx.db.prisma.analysis.findMany({ where: { studyId: s.studyId }, orderBy: [{ requestedAt: "desc" }, { id: "desc" }] }),
  );
  const [analysis] = (await direct.analyses.listByStudyIds(s.tenantId, [s.studyId]))[0]!;
  assert.ok(analysis!.requestedAt instanceof Date);
  const fromOrm = await ctx.db.prisma.analysis.findUnique({ where: { id: analysis!.id } });
  assert.equal(analysis!.requestedAt.getTime(), fromOrm!.requestedAt.getTime(), "a timestamp read as UTC, as Prisma does");
  const [report] = await direct.results.reportsByAnalysisIds(s.tenantId, [id("REPORT")]);
  assert.deepEqual(
    report!.sentences.map((x) => x.index),
    [0, 1],
    "sentences in index order",
  );
  // the boxes (LocalizationResult.boxes/regions) are the stored rows' drawing fields without the heatmap, in label/rank order
  const geometry = await direct.results.boxesByAnalysisIds(s.tenantId, ids);
  const stored = await ctx.db.prisma.localizationBox.findMany({
    where: { analysisId: { in: ids } },
    orderBy: [{ label: "asc" }, { rank: "asc" }],
    select: { analysisId: true, label: true, rank: true, x1: true, y1: true, x2: true, y2: true, score: true },
  });
  assert.deepEqual(
    geometry,
    ids.map((id) => stored.filter((b) => b.analysisId === id)),
    "boxes are the stored rows' drawing fields, in the same order",
  );
  // another tenant's ids return nothing
  const other = await seedStudy(ctx.repos, "sqlreads-other");
  assert.deepEqual(await direct.results.findingsByAnalysisIds(other.tenantId, ids), [[], [], [], []]);
});
