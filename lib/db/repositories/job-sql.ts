// The set-based SQL of the job writer (job-results.ts): result rows as JSON arrays expanded by
// jsonb_to_recordset, the status update of every analysis of a job in one statement, their completions and
// transitions in one, and the study refresh. Each function is one or two round trips whatever the row count.
import { randomUUID } from "node:crypto";
import type { AnalysisStatus, AnalysisTask, Prisma } from "../generated/client.ts";
import type { Tx } from "../client.ts";
import type { TopicNames } from "../../events/index.ts";
import type { ErrorInfo, Provenance } from "./analyses.ts";
import { completedEvent } from "./completions.ts";
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
      });
    }
  }
  return { findings, boxes, reports, sentences, answers };
}

export async function replaceResults(tx: Tx, ids: string[], rows: ReturnType<typeof resultRows>): Promise<void> {
  const j = (value: object[]) => JSON.stringify(value);
  // One statement. The old rows go first: every insert joins "gone", whose counts need the deletes run to the
  // end before the insert's first row (sibling CTEs otherwise run in no promised order, and a unique index would
  // see the old row). Rows this statement deleted do not count against the unique indexes. Parents before
  // children: the sentence rows' foreign key, and the cascade to the old sentences, run at the statement's end.
  await tx.$executeRaw`
    WITH
      d1 AS (DELETE FROM "FindingResult" WHERE "analysisId" = ANY(${ids}::text[]) RETURNING 1),
      d2 AS (DELETE FROM "LocalizationBox" WHERE "analysisId" = ANY(${ids}::text[]) RETURNING 1),
      d3 AS (DELETE FROM "ReportResult" WHERE "analysisId" = ANY(${ids}::text[]) RETURNING 1),
      d4 AS (DELETE FROM "VqaAnswer" WHERE "analysisId" = ANY(${ids}::text[]) RETURNING 1),
      gone AS (SELECT (SELECT count(*) FROM d1) + (SELECT count(*) FROM d2) + (SELECT count(*) FROM d3) + (SELECT count(*) FROM d4) AS n),
      f AS (INSERT INTO "FindingResult" ("id","tenantId","analysisId","studyId","label","probability","rawProbability","threshold","positive","validatedOnRealData","regions","topRegion","knowledgeSentence")
        SELECT gen_random_uuid()::text, x."tenantId", x."analysisId", x."studyId", x.label, x.probability, x."rawProbability", x.threshold, x.positive, x."validatedOnRealData", x.regions, x."topRegion", x."knowledgeSentence"
        FROM gone, jsonb_to_recordset(${j(rows.findings)}::jsonb) AS x("tenantId" text, "analysisId" text, "studyId" text, label text, probability float8, "rawProbability" float8, threshold float8, positive boolean, "validatedOnRealData" boolean, regions jsonb, "topRegion" text, "knowledgeSentence" text) WHERE gone.n >= 0),
      b AS (INSERT INTO "LocalizationBox" ("id","tenantId","analysisId","studyId","label","rank","x1","y1","x2","y2","score","heatmapKey","heatmap","heatmapWidth","heatmapHeight")
        SELECT gen_random_uuid()::text, x."tenantId", x."analysisId", x."studyId", x.label, x.rank, x.x1, x.y1, x.x2, x.y2, x.score, x."heatmapKey", x.heatmap, x."heatmapWidth", x."heatmapHeight"
        FROM gone, jsonb_to_recordset(${j(rows.boxes)}::jsonb) AS x("tenantId" text, "analysisId" text, "studyId" text, label text, rank int, x1 float8, y1 float8, x2 float8, y2 float8, score float8, "heatmapKey" text, heatmap jsonb, "heatmapWidth" int, "heatmapHeight" int) WHERE gone.n >= 0),
      r AS (INSERT INTO "ReportResult" ("id","tenantId","analysisId","findingsText","impressionText","decoding")
        SELECT x.id, x."tenantId", x."analysisId", x."findingsText", x."impressionText", x.decoding
        FROM gone, jsonb_to_recordset(${j(rows.reports)}::jsonb) AS x(id text, "tenantId" text, "analysisId" text, "findingsText" text, "impressionText" text, decoding text) WHERE gone.n >= 0),
      s AS (INSERT INTO "ReportSentence" ("id","tenantId","reportId","index","section","text","regions","labels","uncertain","uncertainReason")
        SELECT gen_random_uuid()::text, x."tenantId", x."reportId", x.index, x.section, x.text, x.regions, x.labels, x.uncertain, x."uncertainReason"
        FROM gone, jsonb_to_recordset(${j(rows.sentences)}::jsonb) AS x("tenantId" text, "reportId" text, index int, section text, text text, regions jsonb, labels jsonb, uncertain boolean, "uncertainReason" text) WHERE gone.n >= 0),
      v AS (INSERT INTO "VqaAnswer" ("id","tenantId","analysisId","question","answer","confidence","answerType","regions","imageBased")
        SELECT gen_random_uuid()::text, x."tenantId", x."analysisId", x.question, x.answer, x.confidence, x."answerType"::"AnswerType", x.regions, x."imageBased"
        FROM gone, jsonb_to_recordset(${j(rows.answers)}::jsonb) AS x("tenantId" text, "analysisId" text, question text, answer text, confidence float8, "answerType" text, regions jsonb, "imageBased" boolean) WHERE gone.n >= 0)
    SELECT 1`;
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

export async function finish(tx: Tx, updates: object[], provenance: Provenance | undefined): Promise<Finished[]> {
  return tx.$queryRaw<Finished[]>`
    UPDATE "Analysis" AS a SET
      "status" = x.status::"AnalysisStatus",
      "finishedAt" = (now() AT TIME ZONE 'UTC'),
      "updatedAt" = (now() AT TIME ZONE 'UTC'),
      "errorCode" = x."errorCode",
      "errorMessage" = x."errorMessage",
      "modelName" = CASE WHEN x.status = 'SUCCEEDED' THEN ${provenance?.modelName ?? null}::text ELSE a."modelName" END,
      "modelVersion" = CASE WHEN x.status = 'SUCCEEDED' THEN ${provenance?.modelVersion ?? null}::text ELSE a."modelVersion" END,
      "bundleSha256" = CASE WHEN x.status = 'SUCCEEDED' THEN ${provenance?.bundleSha256 ?? null}::text ELSE a."bundleSha256" END,
      "reliabilityLevel" = CASE WHEN x."hasReliability" THEN x."reliabilityLevel"::"ReliabilityLevel" ELSE a."reliabilityLevel" END,
      "reliabilityScore" = CASE WHEN x."hasReliability" THEN x."reliabilityScore" ELSE a."reliabilityScore" END,
      "reliabilityReasons" = CASE WHEN x."hasReliability" THEN x."reliabilityReasons" ELSE a."reliabilityReasons" END,
      "frontalProbability" = CASE WHEN x."hasReliability" THEN x."frontalProbability" ELSE a."frontalProbability" END,
      "oodDistance" = CASE WHEN x."hasReliability" THEN x."oodDistance" ELSE a."oodDistance" END
    FROM jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) AS x(id text, status text, "errorCode" text, "errorMessage" text, "hasReliability" boolean, "reliabilityLevel" text, "reliabilityScore" float8, "reliabilityReasons" jsonb, "frontalProbability" float8, "oodDistance" float8)
    WHERE a.id = x.id
    RETURNING a.id, a."tenantId", a."studyId", a.task, a.status, a."finishedAt", a."modelName", a."modelVersion", a."bundleSha256",
      a."reliabilityLevel", a."reliabilityScore", a."reliabilityReasons", a."frontalProbability", a."oodDistance", a."errorCode", a."errorMessage"`;
}

/** Also locks the studies (refreshStudies' lock, in this statement: the refresh then needs only its UPDATE). */
export async function announce(tx: Tx, finished: Finished[], errors: Map<string, ErrorInfo>, topics: TopicNames): Promise<void> {
  const outbox: EventRow[] = [];
  const transitions: TransitionInput[] = [];
  for (const a of finished) {
    const { eventId, payload, finishedAt } = completedEvent(a, errors.get(a.id));
    outbox.push({ eventId, tenantId: a.tenantId, topic: topics.completed, key: a.studyId, payload });
    transitions.push({ tenantId: a.tenantId, studyId: a.studyId, analysisId: a.id, status: a.status, at: finishedAt.toISOString() });
  }
  await insertEvents(tx, outbox, transitions, { lock: [...new Set(finished.map((a) => a.studyId))].sort() });
}

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

/**
 * refreshStudies' UPDATE for a job (studies already locked by announce), returning in the same statement the
 * tenants among `tenantIds` that want an SR on completion (delivery-completion.ts).
 */
export async function refreshJobStudies(tx: Tx, studyIds: string[], tenantIds: string[]): Promise<Set<string>> {
  if (studyIds.length === 0) return new Set();
  const rows = await tx.$queryRaw<{ tenantId: string }[]>`
    WITH u AS (
      UPDATE "Study" AS s SET
        "status" = (CASE WHEN EXISTS (SELECT 1 FROM "Analysis" a WHERE a."studyId" = s.id AND a.status IN ('QUEUED','RUNNING'))
          THEN 'IN_PROGRESS' ELSE 'ANALYSED' END)::"StudyStatus",
        "updatedAt" = (now() AT TIME ZONE 'UTC')
      WHERE s.id = ANY(${studyIds}::text[]) AND s.status <> 'REVIEWED')
    SELECT t."tenantId" FROM "TenantDeliverySettings" t WHERE t."tenantId" = ANY(${tenantIds}::text[]) AND t."srMode" = 'ON_COMPLETION'`;
  return new Set(rows.map((r) => r.tenantId));
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
