// The live tailer reads log rows and their analyses in one statement (readAfterWithAnalyses); the analysis it
// hands to subscribers must be the same object the ORM reads, every column and type included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { START } from "../../lib/db/repositories/transitions.ts";
import { createTestContext, seedStudy } from "../helpers/index.ts";

const provenance = { modelName: "gk-mvlp-tiny", modelVersion: "0.1.0-synthetic", bundleSha256: "cd".repeat(32) };

test("a log row read with its analysis carries the analysis exactly as the ORM reads it", async (t) => {
  const ctx = await createTestContext(t);
  const s = await seedStudy(ctx.repos, "joined");
  const { analysis } = await ctx.repos.analyses.requestAnalysis({
    tenantId: s.tenantId,
    studyId: s.studyId,
    imageId: s.imageId,
    task: "VQA",
    question: "Is there a pneumothorax?",
    idempotencyKey: "joined",
  });
  const reliability = {
    level: "CAUTION" as const,
    score: 0.42,
    reasons: [{ code: "LATERAL_VIEW", message: "the image may not be frontal" }],
    frontalProbability: 0.3,
    oodDistance: 1.5,
  };
  const vqa = { question: "Is there a pneumothorax?", answer: "no", confidence: 0.8, answerType: "CLOSED" as const, regions: [] };
  assert.equal((await ctx.repos.results.writeVqa(analysis.id, provenance, vqa, { reliability })).applied, true);

  const { rows, pending } = await ctx.repos.transitions.readAfterWithAnalyses(START, 10);
  assert.equal(pending, false);
  assert.deepEqual(
    rows.map((r) => r.status),
    ["QUEUED", "SUCCEEDED"],
  );
  const stored = await ctx.db.prisma.analysis.findUnique({ where: { id: analysis.id } });
  for (const row of rows) assert.deepEqual(row.analysis, stored);
  // the plain read is unchanged: no analysis attached
  const plain = await ctx.repos.transitions.readAfter(START, 10);
  assert.equal("analysis" in plain.rows[0]!, false);
});
