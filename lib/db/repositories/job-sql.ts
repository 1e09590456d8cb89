// Set-based SQL shared by the writers of analysis events: result rows as JSON arrays expanded by
// jsonb_to_recordset (the job writer's one statement is in job-write-sql.ts), outbox and transition rows, and the
// study refresh. Each function is one or two round trips whatever the row count.
import { randomUUID } from "node:crypto";
import type { AnalysisStatus, AnalysisTask, Prisma } from "../generated/client.ts";
import type { Tx } from "../client.ts";
import type { JobResult, Locked } from "./job-results.ts";
import { OUTBOX_CHANNEL } from "./outbox.ts";
import type { ReliabilityInput } from "./result-inputs.ts";

export function resultRows(results: JobResult[], byId: Map<string, Locked>) {
  const findings: object[] = [];
  const boxes: object[] = [];
  const reports: object[] = [];
  const sentences: object[] = [];
  const answers: object[] = [];
  for (const result of results) {
    const a = byId.get(result.analysisId)!;
    const owner = { tenantId: a.tenantId, analysisId: a.id, studyId: a.studyId };
    if (result.task === "CLASSIFICATION")
      for (const f of result.findings)
        findings.push({
          ...owner,
          label: f.label,
          probability: f.probability,
          rawProbability: f.rawProbability ?? null,
          threshold: f.threshold,
          positive: f.positive ?? f.probability >= f.threshold,
          validatedOnRealData: f.validatedOnRealData ?? false,
          regions: f.regions,
          topRegion: f.topRegion ?? f.regions[0]?.region ?? null,
          knowledgeSentence: f.knowledgeSentence ?? null,
        });
    if (result.task === "LOCALIZATION") {
      const ranks = new Map<string, number>();
      for (const b of result.boxes) {
        const rank = b.rank ?? ranks.get(b.label) ?? 0;
        ranks.set(b.label, rank + 1);
        boxes.push({
          ...owner,
          label: b.label,
          rank,
          x1: b.x1,
          y1: b.y1,
          x2: b.x2,
          y2: b.y2,
          score: b.score,
          heatmapKey: b.heatmapKey ?? null,
          heatmap: b.heatmap ?? null,
          heatmapWidth: b.heatmapWidth ?? null,
          heatmapHeight: b.heatmapHeight ?? null,
        });
      }
    }
    if (result.task === "REPORT") {
      const reportId = randomUUID();
      const { report } = result;
      reports.push({
        id: reportId,
        tenantId: a.tenantId,
        analysisId: a.id,
        findingsText: report.findingsText,
        impressionText: report.impressionText,
        decoding: report.decoding,
      });
      for (const s of report.sentences)
        sentences.push({
          tenantId: a.tenantId,
          reportId,
          index: s.index,
          section: s.section ?? "FINDINGS",
          text: s.text,
          regions: s.regions,
          labels: s.labels,
          uncertain: s.uncertain ?? false,
          uncertainReason: s.uncertainReason ?? null,
        });
    }
    if (result.task === "VQA") {
      const { vqa } = result;
      answers.push({
        tenantId: a.tenantId,
        analysisId: a.id,
        question: vqa.question,
        answer: vqa.answer,
        confidence: vqa.confidence,
        answerType: vqa.answerType,
        regions: vqa.regions,
        imageBased: vqa.imageBased ?? true,
        answeredFrom: vqa.answeredFrom ?? "VQA_HEAD",
        answeredFromFinding: vqa.answeredFromFinding ?? null,
      });
    }
  }
  return { findings, boxes, reports, sentences, answers };
}

export type Finished = {
  id: string;
  tenantId: string;
  studyId: string;
  task: AnalysisTask;
  status: AnalysisStatus;
  finishedAt: Date;
  modelName: string | null;
  modelVersion: string | null;
  bundleSha256: string | null;
  reliabilityLevel: "OK" | "CAUTION" | "ABSTAIN" | null;
  reliabilityScore: number | null;
  reliabilityReasons: Prisma.JsonValue;
  frontalProbability: number | null;
  oodDistance: number | null;
  errorCode: string | null;
  errorMessage: string | null;
};

export type EventRow = { eventId: string; tenantId: string | null; topic: string; key: string; payload: unknown };
export type TransitionInput = { tenantId: string; studyId: string; analysisId: string; status: AnalysisStatus; at: string };

/**
 * Outbox rows (in array order: the relay publishes in id order) and transition rows in one statement, which also
 * NOTIFYs (delivered at commit, waking the outbox relay and the subscription tailers) and, for the studies:
 * `lock` takes refreshStudies' lock (sorted), so that the refresh needs only its UPDATE; `queued` marks studies
 * that just got a QUEUED analysis IN_PROGRESS, which is what refreshStudies would compute for them (the new
 * analysis is visible to this transaction), so no fresh snapshot and no earlier lock is needed.
 */
export async function insertEvents(
  tx: Tx,
  outbox: EventRow[],
  transitions: TransitionInput[],
  studies: { lock?: string[]; queued?: string[] } = {},
): Promise<void> {
  await tx.$queryRaw`
    WITH
      o AS (INSERT INTO "OutboxEvent" ("eventId","tenantId","topic","key","payload")
        SELECT x."eventId", x."tenantId", x.topic, x.key, x.payload
        FROM jsonb_to_recordset(${JSON.stringify(outbox)}::jsonb) AS x("eventId" text, "tenantId" text, topic text, key text, payload jsonb)),
      t AS (INSERT INTO "AnalysisTransition" ("tenantId","studyId","analysisId","status","at")
        SELECT x."tenantId", x."studyId", x."analysisId", x.status::"AnalysisStatus", (x.at::timestamptz AT TIME ZONE 'UTC')
        FROM jsonb_to_recordset(${JSON.stringify(transitions)}::jsonb) AS x("tenantId" text, "studyId" text, "analysisId" text, status text, at text)),
      l AS (SELECT 1 FROM "Study" WHERE "id" = ANY(${studies.lock ?? []}::text[]) ORDER BY "id" FOR NO KEY UPDATE),
      q AS (UPDATE "Study" SET "status" = 'IN_PROGRESS', "updatedAt" = (now() AT TIME ZONE 'UTC')
        WHERE "id" = ANY(${studies.queued ?? []}::text[]) AND "status" <> 'REVIEWED')
    SELECT pg_notify(${OUTBOX_CHANNEL}, '')::text AS notified, (SELECT count(*) FROM l)::int AS locked`;
}

/**
 * A study with no QUEUED/RUNNING analysis left is ANALYSED (unless reviewed). The lock orders concurrent jobs, and
 * must come in an earlier statement than the UPDATE: only a statement that starts after the lock was granted sees
 * the analyses the previous holder committed (an UPDATE waiting for the row would re-check that row alone).
 * `locked`: the caller's earlier statement already took it (announce).
 */
export async function refreshStudies(tx: Tx, studyIds: string[], locked = false): Promise<void> {
  if (studyIds.length === 0) return;
  if (!locked) await tx.$queryRaw`SELECT 1 FROM "Study" WHERE "id" = ANY(${studyIds}::text[]) ORDER BY "id" FOR NO KEY UPDATE`;
  await tx.$executeRaw`
    UPDATE "Study" AS s SET
      "status" = (CASE WHEN EXISTS (SELECT 1 FROM "Analysis" a WHERE a."studyId" = s.id AND a.status IN ('QUEUED','RUNNING'))
        THEN 'IN_PROGRESS' ELSE 'ANALYSED' END)::"StudyStatus",
      "updatedAt" = (now() AT TIME ZONE 'UTC')
    WHERE s.id = ANY(${studyIds}::text[]) AND s.status <> 'REVIEWED'`;
}

export function reliabilityColumns(r: ReliabilityInput | undefined) {
  if (!r) return {};
  return {
    reliabilityLevel: r.level,
    reliabilityScore: r.score,
    reliabilityReasons: r.reasons.map((x) => ({ code: x.code, message: x.message })),
    frontalProbability: r.frontalProbability,
    oodDistance: r.oodDistance,
  };
}
