// Which finding boxes the study page draws: only those of findings the classification calls positive.
import { test } from "node:test";
import assert from "node:assert/strict";
import { latestReliability, positiveFindingBoxes } from "../../services/console/src/views/study/latest.ts";
import type { Analysis, Box, Finding, Reliability } from "../../services/console/src/types.ts";

const box = (label: string, score: number): Box => ({ label, x1: 0, y1: 0, x2: 10, y2: 10, score });
const finding = (label: string, positive: boolean): Finding => ({
  label,
  probability: positive ? 0.9 : 0.02,
  threshold: 0.5,
  positive,
  regions: [],
  validatedOnRealData: false,
  rawProbability: null,
  knowledge: null,
});

test("boxes of negative findings are not drawn, every box of a positive finding is", () => {
  const boxes = [box("Edema", 0.03), box("Pleural Effusion", 0.8), box("Pleural Effusion", 0.6), box("Fracture", 0.0)];
  const findings = [finding("Edema", false), finding("Pleural Effusion", true), finding("Fracture", false)];
  assert.deepEqual(
    positiveFindingBoxes(boxes, findings).map((b) => b.score),
    [0.8, 0.6],
  );
});

test("a drawn box is captioned with its finding's calibrated probability, not the heatmap peak", () => {
  const boxes = [box("Pleural Effusion", 1.0), box("Edema", 0.97)];
  const findings = [{ ...finding("Pleural Effusion", true), probability: 0.62 }, finding("Edema", false)];
  assert.deepEqual(
    positiveFindingBoxes(boxes, findings).map((b) => b.caption),
    ["Pleural Effusion 62%"],
  );
  assert.deepEqual(
    positiveFindingBoxes([box("Edema", 0.97)], null).map((b) => b.caption),
    ["Edema (heatmap peak 0.97)"],
  );
});

test("a normal film draws no finding box", () => {
  assert.deepEqual(positiveFindingBoxes([box("Edema", 0.03)], [finding("Edema", false), finding("No Finding", true)]), []);
});

test("without a classification result every box is drawn (there is nothing to filter by)", () => {
  const boxes = [box("Edema", 0.03), box("Cardiomegaly", 0.7)];
  assert.deepEqual(
    positiveFindingBoxes(boxes, null).map(({ caption: _, ...b }) => b),
    boxes,
  );
});

const reliability = (level: Reliability["level"]): Reliability => ({
  level,
  score: 0.5,
  reasons: [{ code: "X", message: level }],
  frontalProbability: null,
  oodDistance: null,
});
const analysis = (
  id: string,
  task: Analysis["task"],
  requestedAt: string,
  r: Reliability | null,
  status: Analysis["status"] = "SUCCEEDED",
): Analysis => ({
  id,
  task,
  status,
  attempts: 1,
  requestedAt,
  reliability: r,
  question: null,
  errorCode: null,
  errorMessage: null,
  finishedAt: null,
  durationMs: null,
  image: { id: "i1" },
  model: null,
  result: null,
});

test("the reliability banner follows the newest classification, else the newest succeeded analysis with one", () => {
  const older = analysis("c1", "CLASSIFICATION", "2026-01-01T00:00:00Z", reliability("OK"));
  const newer = analysis("c2", "CLASSIFICATION", "2026-01-02T00:00:00Z", reliability("ABSTAIN"));
  const report = analysis("r1", "REPORT", "2026-01-03T00:00:00Z", reliability("CAUTION"));
  const running = analysis("c3", "CLASSIFICATION", "2026-01-04T00:00:00Z", null, "RUNNING");
  assert.equal(latestReliability([older, newer, report, running])?.level, "ABSTAIN");
  assert.equal(latestReliability([report, running])?.level, "CAUTION");
  assert.equal(latestReliability([running]), null);
});
