// A job whose every analysis succeeded, written in ONE statement with no BEGIN/COMMIT (job-results.ts finishJob;
// the general writer takes four round trips). A single statement is atomic on its own, so the processed-message
// mark, the result rows, the statuses, the completion events, the transitions and the study refresh still commit
// together or not at all.
//
// What the two-statement writer decided between its statements is decided in the SQL instead:
// - the processed mark gates everything: a message already recorded (or recorded meanwhile by a duplicate, whose
//   insert this one waits for) writes nothing;
// - the status UPDATE takes the analyses' row locks and re-checks QUEUED/RUNNING on the latest row version, so an
//   analysis finished meanwhile (duplicate job, cancel) is left alone; every other row of the job (results,
//   event, transition) is written only for the analyses that UPDATE returned, which keeps one result per analysis;
// - the event payloads are built here from the rows the job opened with (tenant, study, task never change) and
//   what this write sets (SUCCEEDED, provenance, reliability, the finish time chosen here).
//
// The study refresh: this statement's snapshot is taken before it waits for the study's row lock, so a job on the
// same study that committed in between is not visible to the "anything still open?" test. Every writer of analysis
// states also updates the study row, so such a race shows as a study row version newer than the snapshot's (xmin
// differs). The refresh then keeps the row's status and reports the study, and the caller refreshes it again in a
// statement of its own (after this commit; rare).
import { Prisma } from "../generated/client.ts";
import type { TopicNames } from "../../events/index.ts";
import type { Provenance } from "./analyses.ts";
import { completedEvent } from "./completions.ts";
import type { OutcomeUpdate } from "./job-write-sql.ts";
import type { Locked } from "./job-results.ts";
import { resultRows } from "./job-sql.ts";
import { OUTBOX_CHANNEL } from "./outbox.ts";

export interface AtOnceInput {
  consumerGroup: string;
  messageId: string;
  /** the job's analyses as opened (tenant, study, task) */
  byId: Map<string, Locked>;
  results: Parameters<typeof resultRows>[0];
  updates: OutcomeUpdate[];
  provenance: Provenance | undefined;
  topics: TopicNames;
}

export interface AtOnceOutcome {
  fresh: boolean;
  applied: string[];
  /** studies whose refresh raced with another writer: refresh them again */
  raced: string[];
  /** tenants (of applied analyses) that want an SR on completion */
  completionTenants: string[];
}

/** Runs a statement and returns its rows: Prisma's raw channel, or pg directly (job-results.ts, rawRunner). */
export type RawRunner = <T>(name: string, statement: Prisma.Sql) => Promise<T[]>;

export async function writeSucceededAtOnce(raw: RawRunner, input: AtOnceInput): Promise<AtOnceOutcome> {
  const finishedAt = new Date();
  const at = finishedAt.toISOString();
  const { provenance } = input;
  const updates = [...input.updates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)); // lock order: by id
  const outbox: object[] = [];
  const transitions: object[] = [];
  for (const u of updates) {
    const a = input.byId.get(u.id)!;
    const { eventId, payload } = completedEvent({
      id: a.id,
      tenantId: a.tenantId,
      studyId: a.studyId,
      task: a.task,
      status: "SUCCEEDED",
      finishedAt,
      modelName: provenance?.modelName ?? null,
      modelVersion: provenance?.modelVersion ?? null,
      bundleSha256: provenance?.bundleSha256 ?? null,
      reliabilityLevel: u.hasReliability ? (u.reliabilityLevel ?? null) : null,
      reliabilityScore: u.hasReliability ? (u.reliabilityScore ?? null) : null,
      reliabilityReasons: u.hasReliability ? (u.reliabilityReasons ?? null) : null,
      frontalProbability: u.hasReliability ? (u.frontalProbability ?? null) : null,
      oodDistance: u.hasReliability ? (u.oodDistance ?? null) : null,
    });
    const n = outbox.length;
    outbox.push({ analysisId: a.id, eventId, tenantId: a.tenantId, topic: input.topics.completed, key: a.studyId, payload, n });
    transitions.push({ tenantId: a.tenantId, studyId: a.studyId, analysisId: a.id, status: "SUCCEEDED", at, n });
  }
  const ids = updates.map((u) => u.id);
  const studyIds = [...new Set(ids.map((id) => input.byId.get(id)!.studyId))].sort();
  const tenantIds = [...new Set(ids.map((id) => input.byId.get(id)!.tenantId))];
  const rows = resultRows(input.results, input.byId);
  const j = (value: unknown) => JSON.stringify(value);
  // Deletes before inserts (the inserts join "gone"), as in job-write-sql.ts; everything after the status UPDATE
  // reads "fin", which makes it run first and limits the rows to the analyses it finished.
  const [out] = await raw<{ fresh: number; applied: string[]; raced: string[]; completionTenants: string[] }>(
    "job_succeeded_at_once",
    Prisma.sql`
    WITH
      m AS (INSERT INTO "ProcessedMessage" ("id","consumerGroup","messageId")
        VALUES (gen_random_uuid()::text, ${input.consumerGroup}::text, ${input.messageId}::text) ON CONFLICT DO NOTHING RETURNING id),
      fin AS (UPDATE "Analysis" AS a SET
          "status" = 'SUCCEEDED',
          "finishedAt" = (${at}::timestamptz AT TIME ZONE 'UTC'),
          "updatedAt" = (now() AT TIME ZONE 'UTC'),
          "errorCode" = NULL,
          "errorMessage" = NULL,
          "modelName" = ${provenance?.modelName ?? null}::text,
          "modelVersion" = ${provenance?.modelVersion ?? null}::text,
          "bundleSha256" = ${provenance?.bundleSha256 ?? null}::text,
          "reliabilityLevel" = CASE WHEN x."hasReliability" THEN x."reliabilityLevel"::"ReliabilityLevel" ELSE a."reliabilityLevel" END,
          "reliabilityScore" = CASE WHEN x."hasReliability" THEN x."reliabilityScore" ELSE a."reliabilityScore" END,
          "reliabilityReasons" = CASE WHEN x."hasReliability" THEN x."reliabilityReasons" ELSE a."reliabilityReasons" END,
          "frontalProbability" = CASE WHEN x."hasReliability" THEN x."frontalProbability" ELSE a."frontalProbability" END,
          "oodDistance" = CASE WHEN x."hasReliability" THEN x."oodDistance" ELSE a."oodDistance" END
        FROM jsonb_to_recordset(${j(updates)}::jsonb) AS x(id text, "hasReliability" boolean, "reliabilityLevel" text, "reliabilityScore" float8, "reliabilityReasons" jsonb, "frontalProbability" float8, "oodDistance" float8)
        WHERE a.id = x.id AND a.status IN ('QUEUED','RUNNING') AND EXISTS (SELECT 1 FROM m)
        RETURNING a.id, a."studyId"),
      d1 AS (DELETE FROM "FindingResult" WHERE "analysisId" IN (SELECT id FROM fin) RETURNING 1),
      d2 AS (DELETE FROM "LocalizationBox" WHERE "analysisId" IN (SELECT id FROM fin) RETURNING 1),
      d3 AS (DELETE FROM "ReportResult" WHERE "analysisId" IN (SELECT id FROM fin) RETURNING 1),
      d4 AS (DELETE FROM "VqaAnswer" WHERE "analysisId" IN (SELECT id FROM fin) RETURNING 1),
      gone AS (SELECT (SELECT count(*) FROM d1) + (SELECT count(*) FROM d2) + (SELECT count(*) FROM d3) + (SELECT count(*) FROM d4) AS n),
      f AS (INSERT INTO "FindingResult" ("id","tenantId","analysisId","studyId","label","probability","rawProbability","threshold","positive","validatedOnRealData","regions","topRegion","knowledgeSentence")
        SELECT gen_random_uuid()::text, x."tenantId", x."analysisId", x."studyId", x.label, x.probability, x."rawProbability", x.threshold, x.positive, x."validatedOnRealData", x.regions, x."topRegion", x."knowledgeSentence"
        FROM gone, jsonb_to_recordset(${j(rows.findings)}::jsonb) AS x("tenantId" text, "analysisId" text, "studyId" text, label text, probability float8, "rawProbability" float8, threshold float8, positive boolean, "validatedOnRealData" boolean, regions jsonb, "topRegion" text, "knowledgeSentence" text)
        WHERE gone.n >= 0 AND x."analysisId" IN (SELECT id FROM fin)),
      b AS (INSERT INTO "LocalizationBox" ("id","tenantId","analysisId","studyId","label","rank","x1","y1","x2","y2","score","heatmapKey","heatmap","heatmapWidth","heatmapHeight")
        SELECT gen_random_uuid()::text, x."tenantId", x."analysisId", x."studyId", x.label, x.rank, x.x1, x.y1, x.x2, x.y2, x.score, x."heatmapKey", x.heatmap, x."heatmapWidth", x."heatmapHeight"
        FROM gone, jsonb_to_recordset(${j(rows.boxes)}::jsonb) AS x("tenantId" text, "analysisId" text, "studyId" text, label text, rank int, x1 float8, y1 float8, x2 float8, y2 float8, score float8, "heatmapKey" text, heatmap jsonb, "heatmapWidth" int, "heatmapHeight" int)
        WHERE gone.n >= 0 AND x."analysisId" IN (SELECT id FROM fin)),
      r AS (INSERT INTO "ReportResult" ("id","tenantId","analysisId","findingsText","impressionText","decoding")
        SELECT x.id, x."tenantId", x."analysisId", x."findingsText", x."impressionText", x.decoding
        FROM gone, jsonb_to_recordset(${j(rows.reports)}::jsonb) AS x(id text, "tenantId" text, "analysisId" text, "findingsText" text, "impressionText" text, decoding text)
        WHERE gone.n >= 0 AND x."analysisId" IN (SELECT id FROM fin)
        RETURNING id),
      s AS (INSERT INTO "ReportSentence" ("id","tenantId","reportId","index","section","text","regions","labels","uncertain","uncertainReason")
        SELECT gen_random_uuid()::text, x."tenantId", x."reportId", x.index, x.section, x.text, x.regions, x.labels, x.uncertain, x."uncertainReason"
        FROM jsonb_to_recordset(${j(rows.sentences)}::jsonb) AS x("tenantId" text, "reportId" text, index int, section text, text text, regions jsonb, labels jsonb, uncertain boolean, "uncertainReason" text)
        WHERE x."reportId" IN (SELECT id FROM r)),
      v AS (INSERT INTO "VqaAnswer" ("id","tenantId","analysisId","question","answer","confidence","answerType","regions","imageBased","answeredFrom","answeredFromFinding")
        SELECT gen_random_uuid()::text, x."tenantId", x."analysisId", x.question, x.answer, x.confidence, x."answerType"::"AnswerType", x.regions, x."imageBased", x."answeredFrom", x."answeredFromFinding"
        FROM gone, jsonb_to_recordset(${j(rows.answers)}::jsonb) AS x("tenantId" text, "analysisId" text, question text, answer text, confidence float8, "answerType" text, regions jsonb, "imageBased" boolean, "answeredFrom" text, "answeredFromFinding" text)
        WHERE gone.n >= 0 AND x."analysisId" IN (SELECT id FROM fin)),
      o AS (INSERT INTO "OutboxEvent" ("eventId","tenantId","topic","key","payload")
        SELECT x."eventId", x."tenantId", x.topic, x.key, x.payload
        FROM jsonb_to_recordset(${j(outbox)}::jsonb) AS x("analysisId" text, "eventId" text, "tenantId" text, topic text, key text, payload jsonb, n int)
        WHERE x."analysisId" IN (SELECT id FROM fin) ORDER BY x.n),
      t AS (INSERT INTO "AnalysisTransition" ("tenantId","studyId","analysisId","status","at")
        SELECT x."tenantId", x."studyId", x."analysisId", x.status::"AnalysisStatus", (x.at::timestamptz AT TIME ZONE 'UTC')
        FROM jsonb_to_recordset(${j(transitions)}::jsonb) AS x("tenantId" text, "studyId" text, "analysisId" text, status text, at text, n int)
        WHERE x."analysisId" IN (SELECT id FROM fin) ORDER BY x.n),
      snap AS (SELECT st.id, st.xmin AS seen FROM "Study" st WHERE st.id = ANY(${studyIds}::text[])),
      u AS (UPDATE "Study" AS st SET
          "status" = CASE WHEN st.xmin <> snap.seen THEN st.status
            ELSE (CASE WHEN EXISTS (SELECT 1 FROM "Analysis" q WHERE q."studyId" = st.id AND q.status IN ('QUEUED','RUNNING') AND q.id <> ALL(${ids}::text[]))
              THEN 'IN_PROGRESS' ELSE 'ANALYSED' END)::"StudyStatus" END,
          "updatedAt" = (now() AT TIME ZONE 'UTC')
        FROM snap
        WHERE st.id = snap.id AND st.id IN (SELECT "studyId" FROM fin) AND st.status <> 'REVIEWED'
        RETURNING st.id, old.xmin <> snap.seen AS raced)
    SELECT (SELECT count(*) FROM m)::int AS fresh,
      ARRAY(SELECT id FROM fin) AS applied,
      ARRAY(SELECT id FROM u WHERE raced) AS raced,
      ARRAY(SELECT d."tenantId" FROM "TenantDeliverySettings" d
        WHERE d."tenantId" = ANY(${tenantIds}::text[]) AND d."srMode" = 'ON_COMPLETION' AND EXISTS (SELECT 1 FROM fin)) AS "completionTenants",
      CASE WHEN EXISTS (SELECT 1 FROM fin) THEN pg_notify(${OUTBOX_CHANNEL}, '')::text END AS notified`,
  );
  return { fresh: out!.fresh > 0, applied: out!.applied, raced: out!.raced, completionTenants: out!.completionTenants };
}
