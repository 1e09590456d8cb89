// A study request in ONE statement, no BEGIN/COMMIT: check the image is the tenant's and on the named study, check
// no idempotency key is taken, insert the analyses, their AnalysisRequested jobs (outbox) and QUEUED transitions,
// mark the study IN_PROGRESS, write the audit event, and NOTIFY the relay and tailers. A single statement is
// atomic on its own, so the outbox rows and the audit event still commit exactly with the analyses. The request
// path took eight round trips through an interactive transaction (study read, BEGIN, key read, image read,
// insert, events, COMMIT, audit insert).
//
// Only the common case is done here. When a key is already taken (a client's retry), the image does not match,
// or a concurrent request wins the unique index, it writes nothing and answers null: the caller then runs the
// general path (analyses.ts requestAnalyses), which returns the existing analyses or the exact error.
import { randomUUID } from "node:crypto";
import type { Analysis, AnalysisTask } from "../generated/client.ts";
import { isUniqueViolation } from "../client.ts";
import { encodeEvent, MAX_JOB_ANALYSES, type TopicNames } from "../../events/index.ts";
import type { SqlClient } from "../sql.ts";
import type { EventRow, TransitionInput } from "./job-sql.ts";
import { OUTBOX_CHANNEL } from "./outbox.ts";

type JobAnalysis = Pick<Analysis, "id" | "tenantId" | "studyId" | "imageId">;

/**
 * One AnalysisRequested (v2, ids only) per requested image, keyed by study: a study's analyses travel and are
 * processed together, and different studies spread over the partitions. Each analysis gets its QUEUED transition.
 */
export function jobEvents(analyses: JobAnalysis[], topics: TopicNames, attempt: number, requestedAt: Date) {
  const byImage = new Map<string, JobAnalysis[]>();
  for (const analysis of analyses) byImage.set(analysis.imageId, [...(byImage.get(analysis.imageId) ?? []), analysis]);
  const jobs: EventRow[] = [];
  for (const group of byImage.values())
    for (let start = 0; start < group.length; start += MAX_JOB_ANALYSES) {
      const chunk = group.slice(start, start + MAX_JOB_ANALYSES);
      const first = chunk[0]!;
      const eventId = randomUUID();
      const payload = encodeEvent("AnalysisRequested", {
        type: "AnalysisRequested",
        version: 2,
        eventId,
        tenantId: first.tenantId,
        studyId: first.studyId,
        imageId: first.imageId,
        analysisIds: chunk.map((a) => a.id),
        attempt,
        requestedAt: requestedAt.toISOString(),
      });
      jobs.push({ topic: topics.requested, key: first.studyId, payload: JSON.parse(payload), eventId, tenantId: first.tenantId });
    }
  const at = requestedAt.toISOString();
  const queued: TransitionInput[] = analyses.map((a) => ({
    tenantId: a.tenantId,
    studyId: a.studyId,
    analysisId: a.id,
    status: "QUEUED",
    at,
  }));
  return { jobs, queued };
}

export interface StudyRequest {
  tenantId: string;
  studyId: string;
  imageId: string;
  /** "user:<id>" | "apikey:<id>" */
  requestedBy: string;
  /** distinct idempotency keys; questions already normalised */
  items: { task: AnalysisTask; question: string | null; idempotencyKey: string }[];
  /** the audit event, written with the analyses; analysisIds and tasks are added to its details */
  audit: { action: string; details: Record<string, unknown> };
}

// Postgres' unique_violation, as pg reports it and as Prisma's raw channel wraps it.
function uniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; meta?: { code?: unknown } } | null;
  return isUniqueViolation(error) || e?.code === "23505" || e?.meta?.code === "23505";
}

const STATEMENT = `
WITH
  img AS (SELECT 1 FROM "Image" i JOIN "Study" s ON s.id = i."studyId" AND s."tenantId" = $1
    WHERE i.id = $3 AND i."tenantId" = $1 AND i."studyId" = $2),
  taken AS (SELECT 1 FROM "Analysis" WHERE "tenantId" = $1 AND "idempotencyKey" = ANY($4::text[])),
  go AS (SELECT EXISTS (SELECT 1 FROM img) AND NOT EXISTS (SELECT 1 FROM taken) AS ok),
  ins AS (INSERT INTO "Analysis" ("id","tenantId","studyId","imageId","task","question","idempotencyKey","requestedBy","requestedAt","updatedAt")
    SELECT x.id, $1, $2, $3, x.task::"AnalysisTask", x.question, x."idempotencyKey", $5::text, ($6::timestamptz AT TIME ZONE 'UTC'), ($6::timestamptz AT TIME ZONE 'UTC')
    FROM go, jsonb_to_recordset($7::jsonb) AS x(id text, task text, question text, "idempotencyKey" text, n int)
    WHERE go.ok ORDER BY x.n
    RETURNING *),
  o AS (INSERT INTO "OutboxEvent" ("eventId","tenantId","topic","key","payload")
    SELECT x."eventId", x."tenantId", x.topic, x.key, x.payload
    FROM go, jsonb_to_recordset($8::jsonb) AS x("eventId" text, "tenantId" text, topic text, key text, payload jsonb, n int)
    WHERE go.ok ORDER BY x.n),
  t AS (INSERT INTO "AnalysisTransition" ("tenantId","studyId","analysisId","status","at")
    SELECT $1, $2, x."analysisId", 'QUEUED', ($6::timestamptz AT TIME ZONE 'UTC')
    FROM go, jsonb_to_recordset($9::jsonb) AS x("analysisId" text, n int)
    WHERE go.ok ORDER BY x.n),
  q AS (UPDATE "Study" SET "status" = 'IN_PROGRESS', "updatedAt" = (now() AT TIME ZONE 'UTC')
    FROM go WHERE go.ok AND "id" = $2 AND "tenantId" = $1 AND "status" <> 'REVIEWED'),
  au AS (INSERT INTO "AuditEvent" ("id","tenantId","actor","action","targetType","targetId","details")
    SELECT gen_random_uuid()::text, $1, $5::text, $10::text, 'Study', $2, $11::jsonb FROM go WHERE go.ok)
SELECT ins.*, CASE WHEN ins.n = 1 THEN pg_notify('${OUTBOX_CHANNEL}', '') END AS notified
FROM (SELECT ins.*, row_number() OVER () AS n FROM ins) ins`;

/** The request as one statement; null when it wrote nothing and the general path must answer (see above). */
export async function requestInOneStatement(sql: SqlClient, topics: TopicNames, req: StudyRequest): Promise<Analysis[] | null> {
  const requestedAt = new Date();
  const analyses = req.items.map((item) => ({ ...item, id: randomUUID() }));
  const owned = analyses.map((a) => ({ id: a.id, tenantId: req.tenantId, studyId: req.studyId, imageId: req.imageId }));
  const { jobs } = jobEvents(owned, topics, 1, requestedAt);
  const details = { ...req.audit.details, analysisIds: analyses.map((a) => a.id), tasks: analyses.map((a) => a.task) };
  let rows: (Analysis & { n?: unknown; notified?: unknown })[];
  try {
    rows = await sql.rows("request_analyses_at_once", STATEMENT, [
      req.tenantId,
      req.studyId,
      req.imageId,
      analyses.map((a) => a.idempotencyKey),
      req.requestedBy,
      requestedAt.toISOString(),
      // n: the order the rows are inserted in (ids of the outbox and transitions follow it: relay and readers)
      JSON.stringify(analyses.map(({ id, task, question, idempotencyKey }, n) => ({ id, task, question, idempotencyKey, n }))),
      JSON.stringify(jobs.map((job, n) => ({ ...job, n }))),
      JSON.stringify(analyses.map((a, n) => ({ analysisId: a.id, n }))),
      req.audit.action,
      JSON.stringify(details),
    ]);
  } catch (error) {
    if (uniqueViolation(error)) return null;
    throw error;
  }
  if (rows.length !== analyses.length) return null;
  const byId = new Map(rows.map(({ n: _n, notified: _x, ...row }) => [row.id, row as Analysis]));
  return analyses.map((a) => byId.get(a.id)!);
}
