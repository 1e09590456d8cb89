// The AnalysisCompleted event of a terminal analysis: one shape for every writer (cancel, job results, failures).
import { randomUUID } from "node:crypto";
import type { Analysis } from "../generated/client.ts";
import { encodeEvent, type ReliabilityPayload } from "../../events/index.ts";
import type { ErrorInfo } from "./analyses.ts";

function reliabilityOf(
  analysis: Pick<Analysis, "reliabilityLevel" | "reliabilityScore" | "reliabilityReasons" | "frontalProbability" | "oodDistance">,
): { reliability?: ReliabilityPayload } {
  if (!analysis.reliabilityLevel || analysis.reliabilityScore === null) return {};
  const reasons = Array.isArray(analysis.reliabilityReasons) ? (analysis.reliabilityReasons as { code: string; message: string }[]) : [];
  return {
    reliability: {
      level: analysis.reliabilityLevel,
      score: analysis.reliabilityScore,
      reasons: reasons.map((r) => ({ code: String(r.code), message: String(r.message) })),
      frontalProbability: analysis.frontalProbability,
      oodDistance: analysis.oodDistance,
    },
  };
}

/**
 * Enqueue AnalysisCompleted for a terminal analysis (inside the transaction that made it terminal), and record
 * the transition for subscription replay (lib/db/repositories/transitions.ts).
 */
export function completedEvent(
  analysis: Pick<
    Analysis,
    | "id"
    | "tenantId"
    | "studyId"
    | "task"
    | "status"
    | "finishedAt"
    | "modelName"
    | "modelVersion"
    | "bundleSha256"
    | "reliabilityLevel"
    | "reliabilityScore"
    | "reliabilityReasons"
    | "frontalProbability"
    | "oodDistance"
  >,
  error?: ErrorInfo,
): { eventId: string; finishedAt: Date; payload: object } {
  const eventId = randomUUID();
  const status = analysis.status;
  if (status !== "SUCCEEDED" && status !== "FAILED" && status !== "CANCELLED") throw new Error(`analysis ${analysis.id} is not terminal`);
  const finishedAt = analysis.finishedAt ?? new Date();
  const payload = encodeEvent("AnalysisCompleted", {
    type: "AnalysisCompleted",
    version: 1,
    eventId,
    tenantId: analysis.tenantId,
    studyId: analysis.studyId,
    analysisId: analysis.id,
    task: analysis.task,
    status,
    ...(error ? { error } : {}),
    finishedAt: finishedAt.toISOString(),
    ...(analysis.modelName && analysis.modelVersion && analysis.bundleSha256
      ? { modelVersion: { name: analysis.modelName, version: analysis.modelVersion, bundleSha256: analysis.bundleSha256 } }
      : {}),
    ...(status === "SUCCEEDED" ? reliabilityOf(analysis) : {}),
  });
  return { eventId, finishedAt, payload: JSON.parse(payload) };
}
