// The job writer's one statement (job-results.ts runs it after its locking statement): replace the result rows of
// the succeeded analyses, mark every analysis SUCCEEDED or FAILED with provenance and reliability, enqueue one
// AnalysisCompleted and one transition each, refresh the studies, read which tenants want an SR on completion,
// and NOTIFY (delivered at commit). It was four statements (results, statuses, events, refresh).
//
// The completion payloads are built here from what the lock read plus what this write sets (the finish time is
// chosen here, not by now()), so the events go into the same statement as the status change.
//
// The refresh sees the snapshot taken when this statement starts, which is after the locking statement got the
// studies' locks: every analysis committed by an earlier holder is visible. The analyses this statement finishes
// still read as active in that snapshot, so they are left out of the "anything still open?" test by id.
import type { Tx } from "../client.ts";
import type { TopicNames } from "../../events/index.ts";
import type { ErrorInfo, Provenance } from "./analyses.ts";
import { completedEvent } from "./completions.ts";
import type { Locked } from "./job-results.ts";
import type { EventRow, Finished, TransitionInput, resultRows } from "./job-sql.ts";
import { OUTBOX_CHANNEL } from "./outbox.ts";

/** One analysis' new state: status, error and (when hasReliability) the reliability columns. */
export interface OutcomeUpdate {
  id: string;
  status: "SUCCEEDED" | "FAILED";
  errorCode: string | null;
  errorMessage: string | null;
  hasReliability: boolean;
  reliabilityLevel?: "OK" | "CAUTION" | "ABSTAIN";
  reliabilityScore?: number;
  reliabilityReasons?: { code: string; message: string }[];
  frontalProbability?: number | null;
  oodDistance?: number | null;
}

/** The row as the update leaves it (what the old UPDATE ... RETURNING gave the event builder). */
function finishedRow(locked: Locked & Previous, u: OutcomeUpdate, provenance: Provenance | undefined, finishedAt: Date): Finished {
  const succeeded = u.status === "SUCCEEDED";
  return {
    id: locked.id,
    tenantId: locked.tenantId,
    studyId: locked.studyId,
    task: locked.task,
    status: u.status,
    finishedAt,
    modelName: succeeded ? (provenance?.modelName ?? null) : locked.modelName,
    modelVersion: succeeded ? (provenance?.modelVersion ?? null) : locked.modelVersion,
    bundleSha256: succeeded ? (provenance?.bundleSha256 ?? null) : locked.bundleSha256,
    reliabilityLevel: u.hasReliability ? (u.reliabilityLevel ?? null) : locked.reliabilityLevel,
    reliabilityScore: u.hasReliability ? (u.reliabilityScore ?? null) : locked.reliabilityScore,
    reliabilityReasons: u.hasReliability ? (u.reliabilityReasons ?? null) : locked.reliabilityReasons,
    frontalProbability: u.hasReliability ? (u.frontalProbability ?? null) : locked.frontalProbability,
    oodDistance: u.hasReliability ? (u.oodDistance ?? null) : locked.oodDistance,
    errorCode: u.errorCode,
    errorMessage: u.errorMessage,
  };
}

/** Columns the locking statement also reads: a FAILED write keeps them, and the event carries them. */
export type Previous = Pick<
  Finished,
  | "modelName"
  | "modelVersion"
  | "bundleSha256"
  | "reliabilityLevel"
  | "reliabilityScore"
  | "reliabilityReasons"
  | "frontalProbability"
  | "oodDistance"
>;

export async function writeOutcomes(
  tx: Tx,
  input: {
    byId: Map<string, Locked & Previous>;
    /** analyses whose result rows are replaced (the succeeded ones) */
    resultIds: string[];
    rows: ReturnType<typeof resultRows>;
    updates: OutcomeUpdate[];
    provenance: Provenance | undefined;
    errors: Map<string, ErrorInfo>;
    topics: TopicNames;
  },
): Promise<{ finished: Finished[]; onCompletion: Set<string> }> {
  const finishedAt = new Date();
  const finished = input.updates.map((u) => finishedRow(input.byId.get(u.id)!, u, input.provenance, finishedAt));
  const outbox: EventRow[] = [];
  const transitions: TransitionInput[] = [];
  for (const a of finished) {
    const { eventId, payload } = completedEvent(a, input.errors.get(a.id));
    outbox.push({ eventId, tenantId: a.tenantId, topic: input.topics.completed, key: a.studyId, payload });
    transitions.push({ tenantId: a.tenantId, studyId: a.studyId, analysisId: a.id, status: a.status, at: finishedAt.toISOString() });
  }
  const ids = finished.map((a) => a.id);
  const studyIds = [...new Set(finished.map((a) => a.studyId))].sort();
  const tenantIds = [...new Set(finished.map((a) => a.tenantId))];
  const { rows, provenance } = input;
  const j = (value: unknown) => JSON.stringify(value);
  const at = finishedAt.toISOString();
  // Results: the old rows go first; every insert joins "gone", whose counts need the deletes run to the end before
  // the insert's first row (sibling CTEs otherwise run in no promised order, and a unique index would see the old
  // row). Parents before children: the sentence rows' foreign key, and the cascade to old sentences, run at the end.
  const out = await tx.$queryRaw<{ id: string; completionTenants: string[] }[]>`
    WITH
      d1 AS (DELETE FROM "FindingResult" WHERE "analysisId" = ANY(${input.resultIds}::text[]) RETURNING 1),
      d2 AS (DELETE FROM "LocalizationBox" WHERE "analysisId" = ANY(${input.resultIds}::text[]) RETURNING 1),
      d3 AS (DELETE FROM "ReportResult" WHERE "analysisId" = ANY(${input.resultIds}::text[]) RETURNING 1),
      d4 AS (DELETE FROM "VqaAnswer" WHERE "analysisId" = ANY(${input.resultIds}::text[]) RETURNING 1),
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
      v AS (INSERT INTO "VqaAnswer" ("id","tenantId","analysisId","question","answer","confidence","answerType","regions","imageBased","answeredFrom","answeredFromFinding")
        SELECT gen_random_uuid()::text, x."tenantId", x."analysisId", x.question, x.answer, x.confidence, x."answerType"::"AnswerType", x.regions, x."imageBased", x."answeredFrom", x."answeredFromFinding"
        FROM gone, jsonb_to_recordset(${j(rows.answers)}::jsonb) AS x("tenantId" text, "analysisId" text, question text, answer text, confidence float8, "answerType" text, regions jsonb, "imageBased" boolean, "answeredFrom" text, "answeredFromFinding" text) WHERE gone.n >= 0),
      fin AS (UPDATE "Analysis" AS a SET
          "status" = x.status::"AnalysisStatus",
          "finishedAt" = (${at}::timestamptz AT TIME ZONE 'UTC'),
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
        FROM jsonb_to_recordset(${j(input.updates)}::jsonb) AS x(id text, status text, "errorCode" text, "errorMessage" text, "hasReliability" boolean, "reliabilityLevel" text, "reliabilityScore" float8, "reliabilityReasons" jsonb, "frontalProbability" float8, "oodDistance" float8)
        WHERE a.id = x.id
        RETURNING a.id),
      o AS (INSERT INTO "OutboxEvent" ("eventId","tenantId","topic","key","payload")
        SELECT x."eventId", x."tenantId", x.topic, x.key, x.payload
        FROM jsonb_to_recordset(${j(outbox.map((e, n) => ({ ...e, n })))}::jsonb) AS x("eventId" text, "tenantId" text, topic text, key text, payload jsonb, n int) ORDER BY x.n),
      t AS (INSERT INTO "AnalysisTransition" ("tenantId","studyId","analysisId","status","at")
        SELECT x."tenantId", x."studyId", x."analysisId", x.status::"AnalysisStatus", (x.at::timestamptz AT TIME ZONE 'UTC')
        FROM jsonb_to_recordset(${j(transitions.map((e, n) => ({ ...e, n })))}::jsonb) AS x("tenantId" text, "studyId" text, "analysisId" text, status text, at text, n int) ORDER BY x.n),
      u AS (UPDATE "Study" AS st SET
          "status" = (CASE WHEN EXISTS (SELECT 1 FROM "Analysis" q WHERE q."studyId" = st.id AND q.status IN ('QUEUED','RUNNING') AND q.id <> ALL(${ids}::text[]))
            THEN 'IN_PROGRESS' ELSE 'ANALYSED' END)::"StudyStatus",
          "updatedAt" = (now() AT TIME ZONE 'UTC')
        WHERE st.id = ANY(${studyIds}::text[]) AND st.status <> 'REVIEWED')
    SELECT fin.id,
      ARRAY(SELECT d."tenantId" FROM "TenantDeliverySettings" d WHERE d."tenantId" = ANY(${tenantIds}::text[]) AND d."srMode" = 'ON_COMPLETION') AS "completionTenants",
      pg_notify(${OUTBOX_CHANNEL}, '')::text AS notified
    FROM fin`;
  const applied = new Set(out.map((row) => row.id));
  return { finished: finished.filter((a) => applied.has(a.id)), onCompletion: new Set(out[0]?.completionTenants ?? []) };
}
