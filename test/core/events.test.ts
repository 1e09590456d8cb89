import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeEvent, encodeEvent, jobOf, MAX_JOB_ANALYSES, topicNames, type AnalysisRequested } from "../../lib/events/index.ts";
import { InvalidEventError } from "../../lib/errors/index.ts";

const requested: AnalysisRequested = {
  type: "AnalysisRequested",
  version: 1,
  eventId: "e1",
  tenantId: "t1",
  studyId: "s1",
  analysisId: "a1",
  imageId: "i1",
  task: "VQA",
  question: "Is there a pneumothorax?",
  attempt: 1,
  requestedAt: "2025-01-02T03:04:05.000Z",
};

const job: AnalysisRequested = {
  type: "AnalysisRequested",
  version: 2,
  eventId: "e2",
  tenantId: "t1",
  studyId: "s1",
  imageId: "i1",
  analysisIds: ["a1", "a2", "a3"],
  attempt: 1,
  requestedAt: "2025-01-02T03:04:05.000Z",
};

test("a version 2 job and a version 1 message both read as a job of their analyses", () => {
  assert.deepEqual(decodeEvent("AnalysisRequested", encodeEvent("AnalysisRequested", job)), job);
  assert.deepEqual(jobOf(job), {
    eventId: "e2",
    tenantId: "t1",
    studyId: "s1",
    imageId: "i1",
    analysisIds: ["a1", "a2", "a3"],
    attempt: 1,
  });
  assert.deepEqual(jobOf(requested).analysisIds, ["a1"]);
  assert.deepEqual(jobOf(requested).expected, { task: "VQA", question: "Is there a pneumothorax?" });
});

test("an encoded event decodes to the same event", () => {
  const wire = encodeEvent("AnalysisRequested", requested);
  assert.deepEqual(decodeEvent("AnalysisRequested", Buffer.from(wire)), requested);
  assert.deepEqual(decodeEvent("AnalysisRequested", wire), requested);
});

test("decoding rejects malformed payloads with an InvalidEventError naming the problem", () => {
  const cases: [string | null, RegExp][] = [
    [null, /empty message/],
    ["", /empty message/],
    ["{not json", /not JSON/],
    [JSON.stringify({ ...requested, task: "SEGMENTATION" }), /task/],
    [JSON.stringify({ ...requested, attempt: 0 }), /attempt/],
    [JSON.stringify({ ...requested, requestedAt: "yesterday" }), /requestedAt/],
    [JSON.stringify({ ...requested, studyId: undefined }), /studyId/],
    [JSON.stringify({ ...requested, version: 3 }), /unsupported AnalysisRequested event version 3 \(this consumer reads version 1 and 2\)/],
    [JSON.stringify({ ...job, analysisIds: [] }), /analysisIds/],
    [JSON.stringify({ ...job, analysisIds: ["a1", "a1"] }), /distinct/],
    [JSON.stringify({ ...job, analysisIds: Array.from({ length: MAX_JOB_ANALYSES + 1 }, (_, i) => `a${i}`) }), /analysisIds/],
    [JSON.stringify({ ...requested, type: "AnalysisCompleted" }), /expected a AnalysisRequested event/],
    ["[1,2,3]", /payload/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(
      () => decodeEvent("AnalysisRequested", value),
      (error: unknown) => error instanceof InvalidEventError && error.retriable === false && pattern.test(error.message),
      `payload ${value} should be rejected with ${pattern}`,
    );
  }
});

test("encoding refuses an invalid event instead of publishing it", () => {
  assert.throws(() => encodeEvent("AnalysisCompleted", { ...requested } as never), InvalidEventError);
  const completed = {
    type: "AnalysisCompleted" as const,
    version: 1 as const,
    eventId: "e2",
    tenantId: "t1",
    studyId: "s1",
    analysisId: "a1",
    task: "REPORT" as const,
    status: "FAILED" as const,
    error: { code: "MODEL_ERROR", message: "decoder failed" },
    finishedAt: "2025-01-02T03:04:05.000Z",
  };
  assert.deepEqual(JSON.parse(encodeEvent("AnalysisCompleted", completed)), completed);
  assert.throws(() => encodeEvent("AnalysisCompleted", { ...completed, status: "RUNNING" } as never), /status/);
});

test("dead-letter events keep the original message and the error", () => {
  const dead = {
    type: "DeadLetter" as const,
    version: 1 as const,
    eventId: "e3",
    original: { topic: "analysis.requested", partition: 2, offset: "41", key: "s1", value: "{garbage" },
    error: { code: "INVALID_EVENT", message: "not JSON" },
    failedAt: "2025-01-02T03:04:05.000Z",
    attempts: 1,
  };
  assert.deepEqual(decodeEvent("DeadLetter", encodeEvent("DeadLetter", dead)), dead);
});

test("topic names take a prefix so tests never share topics", () => {
  assert.deepEqual(topicNames(), { requested: "analysis.requested", completed: "analysis.completed", deadLetter: "analysis.dead-letter" });
  assert.equal(topicNames("t42.").deadLetter, "t42.analysis.dead-letter");
});
