// AnalysisCompleted carries the worker's reliability assessment (an additive, optional field of version 1):
// validated when the worker's outbox row is encoded and again when a subscriber decodes it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeEvent, encodeEvent, type AnalysisCompleted } from "../../lib/events/index.ts";

const completed: AnalysisCompleted = {
  type: "AnalysisCompleted",
  version: 1,
  eventId: "e1",
  tenantId: "t1",
  studyId: "s1",
  analysisId: "a1",
  task: "CLASSIFICATION",
  status: "SUCCEEDED",
  finishedAt: "2026-03-01T00:00:00.000Z",
  reliability: {
    level: "ABSTAIN",
    score: 0.04,
    reasons: [{ code: "NOT_FRONTAL_CXR", message: "The image is not read as a frontal chest radiograph (probability 0.04, below 0.50)." }],
    frontalProbability: 0.04,
    oodDistance: 3.7,
  },
};

test("a completion with a reliability assessment round-trips, and one without it still decodes", () => {
  assert.deepEqual(decodeEvent("AnalysisCompleted", encodeEvent("AnalysisCompleted", completed)), completed);
  const { reliability: _dropped, ...older } = completed;
  assert.deepEqual(decodeEvent("AnalysisCompleted", JSON.stringify(older)), older);
  const v1Bundle = {
    ...completed,
    reliability: {
      level: "CAUTION" as const,
      score: 0.5,
      reasons: [{ code: "NO_RELIABILITY_MODEL", message: "no input check" }],
      frontalProbability: null,
      oodDistance: null,
    },
  };
  assert.deepEqual(decodeEvent("AnalysisCompleted", JSON.stringify(v1Bundle)), v1Bundle);
});

test("a malformed reliability is refused on both sides, naming the field", () => {
  for (const [reliability, field] of [
    [{ ...completed.reliability, level: "MAYBE" }, /reliability\.level/],
    [{ ...completed.reliability, score: 1.5 }, /reliability\.score/],
    [{ ...completed.reliability, reasons: [{ message: "no code" }] }, /reliability\.reasons\.0\.code/],
  ] as const) {
    const bad = { ...completed, reliability } as unknown as AnalysisCompleted;
    assert.throws(() => encodeEvent("AnalysisCompleted", bad), field);
    assert.throws(() => decodeEvent("AnalysisCompleted", JSON.stringify(bad)), field);
  }
});
