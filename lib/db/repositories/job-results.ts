// The one writer of analysis outcomes. A job (one study image, several analyses) ends in one transaction of two
// statements, however many analyses and rows it holds: (1) mark the consumed message processed and lock the
// analyses and their studies; (2) replace the result rows of every succeeded analysis, mark each SUCCEEDED or
// FAILED with provenance and reliability, enqueue one AnalysisCompleted and one transition per analysis, refresh
// the studies (job-write-sql.ts). With BEGIN and COMMIT, four round trips (it was seven; the per-row ORM path
// took about twelve per analysis).
//
// Idempotent: an analysis that is no longer QUEUED/RUNNING (done, cancelled) is left alone, and a message
// already recorded as processed writes nothing. Unique indexes on analysisId (+label/rank/index) make a
// duplicate row impossible even if this logic were bypassed.
import { Prisma, type AnalysisStatus, type AnalysisTask, type PrismaClient } from "../generated/client.ts";
import type { SqlClient } from "../sql.ts";
import { TX_OPTIONS } from "../client.ts";
import { NotFoundError, ValidationError } from "../../errors/index.ts";
import type { TopicNames } from "../../events/index.ts";
import type { Dedupe, ErrorInfo, Provenance } from "./analyses.ts";
import type { BoxInput, FindingInput, ReliabilityInput, ReportInput, VqaInput } from "./result-inputs.ts";
import { enqueueCompletionDeliveries } from "./delivery-completion.ts";
import { refreshStudies, reliabilityColumns, resultRows } from "./job-sql.ts";
import { writeOutcomes, type OutcomeUpdate, type Previous } from "./job-write-sql.ts";
import { writeSucceededAtOnce, type RawRunner } from "./job-once-sql.ts";

export { refreshStudies };

export type JobResult = { analysisId: string; reliability?: ReliabilityInput } & (
  | { task: "CLASSIFICATION"; findings: FindingInput[] }
  | { task: "LOCALIZATION"; boxes: BoxInput[] }
  | { task: "REPORT"; report: ReportInput }
  | { task: "VQA"; vqa: VqaInput }
);

export interface JobFailure {
  analysisId: string;
  error: ErrorInfo;
}

export interface JobWrite {
  provenance?: Provenance;
  succeeded?: JobResult[];
  failed?: JobFailure[];
  /** the consumed message, recorded as processed in the same transaction */
  dedupe?: Dedupe;
}

export interface JobOutcome {
  /** false when the message had already been processed: nothing was written */
  fresh: boolean;
  /** analyses this write moved to SUCCEEDED or FAILED */
  applied: string[];
  /** status of every named analysis after the write */
  statuses: Map<string, AnalysisStatus>;
}

export interface Locked {
  id: string;
  tenantId: string;
  studyId: string;
  task: AnalysisTask;
  status: AnalysisStatus;
}

/** An analysis as a consumed job first sees it. */
export interface OpenedAnalysis {
  id: string;
  tenantId: string;
  studyId: string;
  imageId: string;
  task: AnalysisTask;
  status: AnalysisStatus;
  attempts: number;
  question: string | null;
}

export interface OpenedImage {
  id: string;
  sha256: string;
  storageKey: string;
  derivedPngKey: string | null;
  analysisKey: string | null;
}

function checkFinite(field: string, value: number | null | undefined): void {
  if (value !== null && value !== undefined && !Number.isFinite(value))
    throw new ValidationError(`${field} must be a finite number`, { field });
}

/** Refuse non-finite numbers before the transaction starts (JSON would turn them into null). */
export function validateJobResult(result: JobResult): void {
  const r = result.reliability;
  if (r)
    for (const [k, v] of [
      ["reliability score", r.score],
      ["frontalProbability", r.frontalProbability],
      ["oodDistance", r.oodDistance],
    ] as const)
      checkFinite(k, v);
  if (result.task === "CLASSIFICATION")
    for (const f of result.findings) {
      checkFinite(`probability of ${f.label}`, f.probability);
      checkFinite(`raw probability of ${f.label}`, f.rawProbability);
      checkFinite(`threshold of ${f.label}`, f.threshold);
    }
  if (result.task === "LOCALIZATION")
    for (const b of result.boxes) for (const k of ["x1", "y1", "x2", "y2", "score"] as const) checkFinite(`${k} of ${b.label}`, b[k]);
  if (result.task === "VQA") checkFinite("confidence", result.vqa.confidence);
}

/** Rows of every result table for the writable results, as JSON arrays for jsonb_to_recordset. */
/**
 * The job's two hot statements (open, and the one-statement write) through pg directly when `sql` is given (the
 * worker passes its pool's channel, lib/db/sql.ts): Prisma's raw channel spent about as much CPU on a job's
 * parameters and rows (the results as JSON, through its Wasm engine) as PostgreSQL did running them. Same text,
 * same parameters: every value is cast in the SQL, and the rows are json, int, boolean and text[] columns, which
 * both channels return alike.
 */
function rawRunner(prisma: PrismaClient, sql: SqlClient | undefined): RawRunner {
  if (!sql) return <T>(_name: string, statement: Prisma.Sql) => prisma.$queryRaw<T[]>(statement);
  return <T>(name: string, statement: Prisma.Sql) => sql.rows<T>(name, statement.text, statement.values);
}

export function createJobResultRepository(prisma: PrismaClient, topics: TopicNames, sql?: SqlClient) {
  const raw = rawRunner(prisma, sql);
  async function writeJob(job: JobWrite): Promise<JobOutcome> {
    const succeeded = job.succeeded ?? [];
    const failed = job.failed ?? [];
    for (const result of succeeded) validateJobResult(result);
    const ids = [...new Set([...succeeded.map((r) => r.analysisId), ...failed.map((f) => f.analysisId)])];
    if (ids.length !== succeeded.length + failed.length) throw new ValidationError("a job names an analysis twice");
    return prisma.$transaction(async (tx) => {
      // the consumed message is recorded in the locking statement; its row lock orders duplicates of the message
      const dedupe = job.dedupe;
      // The studies are locked here too, in id order after the analyses: the write statement's snapshot then
      // starts after the lock, which its study refresh needs (job-write-sql.ts).
      const locked = await tx.$queryRaw<(Locked & Previous & { fresh: number; studies: number })[]>`
        WITH
          m AS (INSERT INTO "ProcessedMessage" ("id","consumerGroup","messageId")
            SELECT gen_random_uuid()::text, ${dedupe?.consumerGroup ?? ""}::text, ${dedupe?.messageId ?? ""}::text WHERE ${dedupe !== undefined}::boolean
            ON CONFLICT DO NOTHING RETURNING id),
          a AS MATERIALIZED (SELECT a.id, a."tenantId", a."studyId", a.task, a.status, a."modelName", a."modelVersion", a."bundleSha256",
              a."reliabilityLevel", a."reliabilityScore", a."reliabilityReasons", a."frontalProbability", a."oodDistance"
            FROM "Analysis" a WHERE a.id = ANY(${ids}::text[]) ORDER BY a.id FOR UPDATE OF a),
          st AS MATERIALIZED (SELECT s.id FROM "Study" s WHERE s.id IN (SELECT "studyId" FROM a) ORDER BY s.id FOR NO KEY UPDATE)
        SELECT a.*, (SELECT count(*) FROM m)::int AS fresh, (SELECT count(*) FROM st)::int AS studies FROM a ORDER BY a.id`;
      const byId = new Map(locked.map((a) => [a.id, a]));
      const missing = ids.find((id) => !byId.has(id));
      if (missing) throw new NotFoundError("Analysis", missing);
      for (const r of succeeded)
        if (byId.get(r.analysisId)!.task !== r.task)
          throw new ValidationError(`analysis ${r.analysisId} is a ${byId.get(r.analysisId)!.task} analysis, not ${r.task}`);
      const statuses = new Map(locked.map((a) => [a.id, a.status]));
      if (dedupe && locked.some((a) => a.fresh === 0)) return { fresh: false, applied: [], statuses };
      const active = (id: string) => ["QUEUED", "RUNNING"].includes(byId.get(id)!.status);
      const writable = succeeded.filter((r) => active(r.analysisId));
      const failing = failed.filter((f) => active(f.analysisId));
      if (writable.length + failing.length === 0) return { fresh: true, applied: [], statuses };

      const updates: OutcomeUpdate[] = [
        ...writable.map((r) => ({
          id: r.analysisId,
          status: "SUCCEEDED" as const,
          errorCode: null,
          errorMessage: null,
          hasReliability: r.reliability !== undefined,
          ...reliabilityColumns(r.reliability),
        })),
        ...failing.map((f) => ({
          id: f.analysisId,
          status: "FAILED" as const,
          errorCode: f.error.code,
          errorMessage: f.error.message.slice(0, 4000),
          hasReliability: false,
        })),
      ];
      const { finished, onCompletion } = await writeOutcomes(tx, {
        byId,
        resultIds: writable.map((r) => r.analysisId),
        rows: resultRows(writable, byId),
        updates,
        provenance: job.provenance,
        errors: new Map(failing.map((f) => [f.analysisId, f.error])),
        topics,
      });
      // SR on completion (tenants that ask for it): its delivery row commits with the results that complete the study
      for (const key of [...new Set(finished.map((a) => `${a.tenantId} ${a.studyId}`))].sort()) {
        const [tenantId, studyId] = key.split(" ") as [string, string];
        if (onCompletion.has(tenantId)) await enqueueCompletionDeliveries(tx, tenantId, studyId, "ON_COMPLETION");
      }
      for (const a of finished) statuses.set(a.id, a.status);
      return { fresh: true, applied: finished.map((a) => a.id), statuses };
    }, TX_OPTIONS);
  }

  /**
   * The worker's end of a job. When every analysis succeeded (the common case) it is one statement with no
   * transaction around it (job-once-sql.ts); a job with failures takes writeJob, whose FAILED events carry columns
   * only its lock reads. `opened`: the analyses as the job's first statement read them (tenant, study, task).
   */
  async function finishJob(job: JobWrite & { dedupe: Dedupe; opened: OpenedAnalysis[] }): Promise<Pick<JobOutcome, "fresh" | "applied">> {
    const succeeded = job.succeeded ?? [];
    const byId = new Map<string, Locked>(job.opened.map((a) => [a.id, a]));
    const atOnce =
      (job.failed ?? []).length === 0 &&
      succeeded.length > 0 &&
      new Set(succeeded.map((r) => r.analysisId)).size === succeeded.length &&
      succeeded.every((r) => byId.get(r.analysisId)?.task === r.task && r.reliability !== undefined);
    if (!atOnce) return writeJob(job);
    for (const result of succeeded) validateJobResult(result);
    const out = await writeSucceededAtOnce(raw, {
      consumerGroup: job.dedupe.consumerGroup,
      messageId: job.dedupe.messageId,
      byId,
      results: succeeded,
      updates: succeeded.map((r) => ({
        id: r.analysisId,
        status: "SUCCEEDED" as const,
        errorCode: null,
        errorMessage: null,
        hasReliability: true,
        ...reliabilityColumns(r.reliability),
      })),
      provenance: job.provenance,
      topics,
    });
    // Both rare and both safe after the commit: a raced study is refreshed from committed state, and an SR due on
    // completion is found from committed state too (the dispatcher's sweep would also find it after a crash here).
    if (out.raced.length > 0) await prisma.$transaction((tx) => refreshStudies(tx, [...out.raced].sort()), TX_OPTIONS);
    const applied = new Set(out.applied);
    for (const key of [...new Set(job.opened.filter((a) => applied.has(a.id)).map((a) => `${a.tenantId} ${a.studyId}`))].sort()) {
      const [tenantId, studyId] = key.split(" ") as [string, string];
      if (out.completionTenants.includes(tenantId))
        await prisma.$transaction((tx) => enqueueCompletionDeliveries(tx, tenantId, studyId, "ON_COMPLETION"), TX_OPTIONS);
    }
    return { fresh: out.fresh, applied: out.applied };
  }

  return {
    writeJob,
    finishJob,
    /**
     * A consumed job's first statement: whether this consumer group processed the message already, the analyses it
     * names as stored before the claim, the image row (tenant-scoped), and the claim of its first try. The claim
     * (QUEUED or RUNNING -> RUNNING, attempts + 1, as claim() below) is made only when the message is new, every
     * analysis exists and agrees with the job (tenant, study, image, and the v1 event's task), and only for
     * analyses with tries left in this request generation (attempts - (attempt - 1) < maxAttempts): the same rules
     * the worker applies to the rows, so a message it dead-letters or skips has claimed nothing. It replaced four
     * statements per job.
     */
    async open(job: {
      consumerGroup: string;
      messageId: string;
      analysisIds: string[];
      tenantId: string;
      studyId: string;
      imageId: string;
      expectedTask: AnalysisTask | null;
      attempt: number;
      maxAttempts: number;
    }) {
      const ids = job.analysisIds;
      const [row] = await raw<{ processed: boolean; analyses: OpenedAnalysis[]; claimed: OpenedAnalysis[]; image: OpenedImage | null }>(
        "job_open",
        Prisma.sql`
        WITH
          p AS (SELECT EXISTS (SELECT 1 FROM "ProcessedMessage" WHERE "consumerGroup" = ${job.consumerGroup}::text AND "messageId" = ${job.messageId}::text) AS done),
          a AS MATERIALIZED (SELECT a.id, a."tenantId", a."studyId", a."imageId", a.task, a.status, a.attempts, a.question
            FROM "Analysis" a WHERE a.id = ANY(${ids}::text[])),
          go AS (SELECT NOT p.done
              AND (SELECT count(*) FROM a) = (SELECT count(DISTINCT x) FROM unnest(${ids}::text[]) x)
              AND NOT EXISTS (SELECT 1 FROM a WHERE a."tenantId" <> ${job.tenantId}::text OR a."studyId" <> ${job.studyId}::text
                OR a."imageId" <> ${job.imageId}::text OR (${job.expectedTask}::text IS NOT NULL AND a.task::text <> ${job.expectedTask}::text)) AS ok
            FROM p),
          c AS (UPDATE "Analysis" u SET "status" = 'RUNNING', "attempts" = u."attempts" + 1,
              "startedAt" = (now() AT TIME ZONE 'UTC'), "updatedAt" = (now() AT TIME ZONE 'UTC')
            FROM go WHERE go.ok AND u.id = ANY(${ids}::text[]) AND u.status IN ('QUEUED','RUNNING')
              AND GREATEST(0, u."attempts" - (${job.attempt}::int - 1)) < ${job.maxAttempts}::int
            RETURNING u.id, u."tenantId", u."studyId", u."imageId", u.task, u.status, u.attempts, u.question)
        SELECT (SELECT done FROM p) AS processed,
          COALESCE((SELECT json_agg(a ORDER BY a.id) FROM a), '[]'::json) AS analyses,
          COALESCE((SELECT json_agg(c ORDER BY c.id) FROM c), '[]'::json) AS claimed,
          (SELECT json_build_object('id', i.id, 'sha256', i.sha256, 'storageKey', i."storageKey", 'derivedPngKey', i."derivedPngKey",
              'analysisKey', i."analysisKey")
            FROM "Image" i WHERE i.id = ${job.imageId}::text AND i."tenantId" = ${job.tenantId}::text) AS image`,
      );
      return row!;
    },
    /**
     * Claim a job's analyses for an attempt (QUEUED or RUNNING -> RUNNING, attempts + 1) in one statement. RUNNING
     * is accepted because a worker that died mid-job leaves it RUNNING and the redelivered message must finish it.
     * Analyses that are terminal (done, cancelled) are not returned.
     */
    async claim(ids: string[]) {
      return prisma.$queryRaw<(Locked & { attempts: number; question: string | null; imageId: string })[]>`
        UPDATE "Analysis" SET "status" = 'RUNNING', "attempts" = "attempts" + 1, "startedAt" = (now() AT TIME ZONE 'UTC'), "updatedAt" = (now() AT TIME ZONE 'UTC')
        WHERE id = ANY(${ids}::text[]) AND status IN ('QUEUED','RUNNING')
        RETURNING id, "tenantId", "studyId", "imageId", task, status, attempts, question`;
    },
  };
}

export type JobResultRepository = ReturnType<typeof createJobResultRepository>;
