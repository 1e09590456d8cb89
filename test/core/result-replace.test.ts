// The job writer deletes an analysis's old result rows and inserts the new ones in one statement
// (lib/db/repositories/job-sql.ts replaceResults): the old rows must be gone before the unique indexes see the new.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createTestContext, seedStudy } from "../helpers/index.ts";

const provenance = { modelName: "gk-mvlp-tiny", modelVersion: "0.1.0-synthetic", bundleSha256: "ab".repeat(32) };

const report = (words: string[]) => ({
  findingsText: words.join(" "),
  impressionText: words[0]!,
  decoding: "beam:3",
  sentences: words.map((text, index) => ({ index, text, regions: [], labels: [] })),
});

test("a result written over rows an earlier attempt left replaces them: one report, its own sentences, new findings only", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos, "replace");
  const ask = (task: "REPORT" | "CLASSIFICATION") =>
    ctx.repos.analyses.requestAnalysis({ tenantId: s.tenantId, studyId: s.studyId, imageId: s.imageId, task, idempotencyKey: task });
  const { analysis: rep } = await ask("REPORT");
  const { analysis: cls } = await ask("CLASSIFICATION");
  const finding = (label: string) => ({ label, probability: 0.7, threshold: 0.5, regions: [{ region: "left lung", score: 0.6 }] });

  assert.equal((await ctx.repos.results.writeReport(rep.id, provenance, report(["Old one.", "Old two.", "Old three."]))).applied, true);
  assert.equal((await ctx.repos.results.writeClassification(cls.id, provenance, [finding("Effusion"), finding("Nodule")])).applied, true);
  // an operator re-ran both: they are active again with the first attempt's rows still stored
  await ctx.db.prisma.analysis.updateMany({ where: { id: { in: [rep.id, cls.id] } }, data: { status: "RUNNING" } });

  assert.equal((await ctx.repos.results.writeReport(rep.id, provenance, report(["New one.", "New two."]))).applied, true);
  assert.equal((await ctx.repos.results.writeClassification(cls.id, provenance, [finding("Effusion")])).applied, true);

  const [stored] = await ctx.repos.results.reportsByAnalysisIds(s.tenantId, [rep.id]);
  assert.deepEqual(
    stored?.sentences.map((x) => x.text),
    ["New one.", "New two."],
  );
  assert.equal(await ctx.db.prisma.reportResult.count(), 1);
  assert.equal(await ctx.db.prisma.reportSentence.count(), 2);
  const [findings] = await ctx.repos.results.findingsByAnalysisIds(s.tenantId, [cls.id]);
  assert.deepEqual(
    findings!.map((f) => f.label),
    ["Effusion"],
  );
  assert.equal((await ctx.repos.studies.findById(s.tenantId, s.studyId))?.status, "ANALYSED");
});
