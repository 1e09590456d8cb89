// Analyses: idempotent requests (analysis row + AnalysisRequested outbox row in ONE transaction), guarded
// status transitions for workers, retry and cancel. Completion events go through the outbox too, in the
// transaction that makes the analysis terminal, so "completed" is announced exactly when it is true.
import { sqlThroughPrisma, type SqlClient } from "../sql.ts";
import type { Analysis, AnalysisStatus, AnalysisTask, PrismaClient } from "../generated/client.ts";
import type { Tx } from "../client.ts";
import { isUniqueViolation } from "../client.ts";
import { ConflictError, NotFoundError, ValidationError } from "../../errors/index.ts";
import type { TopicNames } from "../../events/index.ts";
import { completedEvent } from "./completions.ts";
import { createJobResultRepository, refreshStudies } from "./job-results.ts";
import { insertEvents } from "./job-sql.ts";
import { jobEvents, requestInOneStatement, type StudyRequest } from "./request-sql.ts";
import { enqueueOutbox } from "./outbox.ts";
import { recordTransition } from "./transitions.ts";
import { groupByKey, orderByIds } from "./pagination.ts";

export interface AnalysisRequestInput {
  tenantId: string;
  studyId: string;
  imageId: string;
  task: AnalysisTask;
  /** VQA: the question (required). LOCALIZATION: optionally the finding label to localize. */
  question?: string | null;
  /** unique per tenant; the same key again returns the existing analysis */
  idempotencyKey: string;
  /** "user:<id>" | "apikey:<id>" */
  requestedBy?: string | null;
}

export interface RequestOutcome {
  analysis: Analysis;
  /** false when the idempotency key had been used already (nothing new was written) */
  created: boolean;
}

export interface Provenance {
  modelName: string;
  modelVersion: string;
  bundleSha256: string;
}

export interface ErrorInfo {
  code: string;
  message: string;
  retriable?: boolean;
}

/** Optional dedupe record written in the same transaction (consumer group + Kafka message id). */
export interface Dedupe {
  consumerGroup: string;
  messageId: string;
}

/** requestAtOnce takes up to this many analyses (the API asks for at most the four tasks) */
const MAX_REQUEST_ITEMS = 64;

export const ACTIVE_STATUSES: AnalysisStatus[] = ["QUEUED", "RUNNING"];

/** Derive one idempotency key per task/image/question from a client's request key. */
export function deriveIdempotencyKey(requestKey: string, task: AnalysisTask, imageId: string, question?: string | null): string {
  return [requestKey, task, imageId, question ?? ""].join("|");
}

function normaliseQuestion(input: AnalysisRequestInput): string | null {
  const question = input.question?.trim() || null;
  if (input.task === "VQA" && !question) throw new ValidationError("a VQA analysis needs a question", { field: "question" });
  if (question && input.task !== "VQA" && input.task !== "LOCALIZATION") {
    throw new ValidationError(`task ${input.task} takes no question`, { field: "question" });
  }
  if (question && question.length > 2000) throw new ValidationError("question is longer than 2000 characters", { field: "question" });
  return question;
}

/** The stored reliability as the event carries it (absent for analyses from before the assessment existed). */
export async function enqueueCompleted(tx: Tx, analysis: Analysis, topics: TopicNames, error?: ErrorInfo): Promise<void> {
  const { eventId, finishedAt, payload } = completedEvent(analysis, error);
  await enqueueOutbox(tx, { topic: topics.completed, key: analysis.studyId, payload, eventId, tenantId: analysis.tenantId });
  await recordTransition(tx, analysis, analysis.status, finishedAt);
}

/** Enqueue AnalysisRequested (attempt n) and record the QUEUED transitions, inside the transaction that queues. */
async function enqueueJobs(tx: Tx, analyses: Analysis[], topics: TopicNames, attempt: number, queueStudies = false): Promise<void> {
  const { jobs, queued } = jobEvents(analyses, topics, attempt, new Date());
  // one statement; with queueStudies it also sets the studies IN_PROGRESS (the caller then skips refreshStudies)
  await insertEvents(tx, jobs, queued, { queued: queueStudies ? [...new Set(analyses.map((a) => a.studyId))].sort() : [] });
}

export function createAnalysisRepository(prisma: PrismaClient, topics: TopicNames, sql: SqlClient = sqlThroughPrisma(prisma)) {
  const jobs = createJobResultRepository(prisma, topics);
  /**
   * The whole request in a fixed number of statements, however many analyses it names: existing keys in one read,
   * the images checked in one read, the new analyses in one insert, their jobs and transitions in one each.
   */
  /** One tenant's part of a request. */
  async function requestInTx(tx: Tx, inputs: AnalysisRequestInput[], queueStudies: boolean): Promise<RequestOutcome[]> {
    const questions = inputs.map(normaliseQuestion);
    const tenantId = inputs[0]!.tenantId;
    const existing = new Map(
      (await tx.analysis.findMany({ where: { tenantId, idempotencyKey: { in: [...new Set(inputs.map((i) => i.idempotencyKey))] } } })).map(
        (a) => [a.idempotencyKey, a],
      ),
    );
    const sameRequest = (
      a: Pick<Analysis, "studyId" | "imageId" | "task" | "question">,
      input: AnalysisRequestInput,
      question: string | null,
    ) => a.studyId === input.studyId && a.imageId === input.imageId && a.task === input.task && a.question === question;
    for (const [i, input] of inputs.entries()) {
      const found = existing.get(input.idempotencyKey);
      if (found && !sameRequest(found, input, questions[i]!))
        throw new ConflictError(`idempotency key ${input.idempotencyKey} was used for a different request`, { field: "idempotencyKey" });
    }
    const fresh = inputs.map((input, i) => ({ input, question: questions[i]! })).filter(({ input }) => !existing.has(input.idempotencyKey));
    const byKey = new Map<string, { input: AnalysisRequestInput; question: string | null }>();
    for (const item of fresh) {
      const twin = byKey.get(item.input.idempotencyKey);
      if (twin && !sameRequest({ ...twin.input, question: twin.question }, item.input, item.question))
        throw new ConflictError(`idempotency key ${item.input.idempotencyKey} was used for a different request`, {
          field: "idempotencyKey",
        });
      byKey.set(item.input.idempotencyKey, item);
    }
    let created: Analysis[] = [];
    if (byKey.size) {
      const wanted = [...byKey.values()];
      const images = await tx.image.findMany({
        where: { tenantId, id: { in: [...new Set(wanted.map((w) => w.input.imageId))] } },
        select: { id: true, studyId: true },
      });
      for (const { input } of wanted) {
        if (images.some((img) => img.id === input.imageId && img.studyId === input.studyId)) continue;
        const study = await tx.study.findFirst({ where: { id: input.studyId, tenantId }, select: { id: true } });
        if (!study) throw new NotFoundError("Study", input.studyId, { field: "studyId" });
        throw new NotFoundError("Image", input.imageId, { field: "imageId" });
      }
      created = await tx.analysis.createManyAndReturn({
        data: wanted.map(({ input, question }) => ({
          tenantId,
          studyId: input.studyId,
          imageId: input.imageId,
          task: input.task,
          question,
          idempotencyKey: input.idempotencyKey,
          requestedBy: input.requestedBy ?? null,
        })),
      });
      await enqueueJobs(tx, created, topics, 1, queueStudies);
    }
    const byIdempotency = new Map([...existing, ...created.map((a) => [a.idempotencyKey, a] as const)]);
    const createdIds = new Set(created.map((a) => a.id));
    const reported = new Set<string>();
    return inputs.map((input) => {
      const analysis = byIdempotency.get(input.idempotencyKey)!;
      // a key named twice in one request is created once: the second mention reads as existing
      const isNew = createdIds.has(analysis.id) && !reported.has(analysis.id);
      reported.add(analysis.id);
      return { analysis, created: isNew };
    });
  }

  async function requestAnalyses(inputs: AnalysisRequestInput[]): Promise<RequestOutcome[]> {
    // A concurrent request with the same key makes one of the transactions hit the unique index: run it again,
    // and it then finds the other's analysis.
    for (let round = 0; ; round++) {
      try {
        return await prisma.$transaction(async (tx) => {
          // one set of statements per tenant (the API's requests have one; tools and tests may mix them)
          const outcomes = new Array<RequestOutcome>(inputs.length);
          const tenants = new Set(inputs.map((i) => i.tenantId));
          // one tenant: its job statement marks the studies; several refresh once below, all studies locked in id order
          const single = tenants.size === 1;
          for (const tenantId of tenants) {
            const at = inputs.flatMap((input, i) => (input.tenantId === tenantId ? [i] : []));
            (
              await requestInTx(
                tx,
                at.map((i) => inputs[i]!),
                single,
              )
            ).forEach((outcome, k) => {
              outcomes[at[k]!] = outcome;
            });
          }
          if (!single) await refreshStudies(tx, [...new Set(outcomes.filter((o) => o.created).map((o) => o.analysis.studyId))].sort());
          return outcomes;
        });
      } catch (error) {
        if (round < 2 && isUniqueViolation(error)) continue;
        throw error;
      }
    }
  }

  return {
    requestAnalyses,
    /**
     * One study image's request with its audit event as one statement (request-sql.ts); null when a key is taken,
     * the image is not the tenant's on that study, or a concurrent request won: then use requestAnalyses.
     */
    async requestAtOnce(request: StudyRequest): Promise<RequestOutcome[] | null> {
      const keys = new Set(request.items.map((i) => i.idempotencyKey));
      if (keys.size !== request.items.length || request.items.length > MAX_REQUEST_ITEMS) return null;
      for (const item of request.items) normaliseQuestion({ ...request, ...item });
      const created = await requestInOneStatement(sql, topics, request);
      return created?.map((analysis) => ({ analysis, created: true })) ?? null;
    },
    requestAnalysis: async (input: AnalysisRequestInput) => (await requestAnalyses([input]))[0]!,
    findById: (tenantId: string, id: string) => prisma.analysis.findFirst({ where: { id, tenantId } }),
    /** For workers, which act on any tenant's analysis named by an event. */
    findByIdAnyTenant: (id: string) => prisma.analysis.findUnique({ where: { id } }),
    /** For workers: the analyses a job names, whichever tenant (the worker checks them against the job). */
    findManyAnyTenant: (ids: readonly string[]) => prisma.analysis.findMany({ where: { id: { in: [...ids] } } }),
    async findManyByIds(tenantId: string, ids: readonly string[]): Promise<(Analysis | undefined)[]> {
      return orderByIds(ids, await prisma.analysis.findMany({ where: { tenantId, id: { in: [...ids] } } }));
    },
    async listByStudyIds(tenantId: string, studyIds: readonly string[]): Promise<Analysis[][]> {
      const rows = await sql.rows<Analysis>(
        "analyses_by_studies",
        `SELECT * FROM "Analysis" WHERE "tenantId" = $1 AND "studyId" = ANY($2::text[]) ORDER BY "requestedAt" DESC, id DESC`,
        [tenantId, studyIds],
      );
      return groupByKey(studyIds, rows, (row) => row.studyId);
    },
    /** The tenant's queue: open analyses per task and status, those finished in the last hour, failures, recent throughput. */
    async queueCounts(tenantId: string, now = Date.now()) {
      const hourAgo = new Date(now - 3600_000);
      const tenMinutesAgo = new Date(now - 600_000);
      const [open, recent, failedTotal, finishedRecently] = await Promise.all([
        prisma.analysis.groupBy({
          by: ["task", "status"],
          where: { tenantId, status: { in: ["QUEUED", "RUNNING"] } },
          _count: { _all: true },
        }),
        prisma.analysis.groupBy({
          by: ["task", "status"],
          where: { tenantId, status: { in: ["SUCCEEDED", "FAILED"] }, finishedAt: { gte: hourAgo } },
          _count: { _all: true },
        }),
        prisma.analysis.count({ where: { tenantId, status: "FAILED" } }),
        prisma.analysis.count({ where: { tenantId, status: { in: ["SUCCEEDED", "FAILED"] }, finishedAt: { gte: tenMinutesAgo } } }),
      ]);
      const flat = (rows: typeof open) => rows.map((r) => ({ task: r.task, status: r.status, count: r._count._all }));
      return { open: flat(open), recent: flat(recent), failedTotal, finishedRecently };
    },
    /** Counts per status for the console's queue view. */
    async countByStatus(tenantId?: string): Promise<Record<AnalysisStatus, number>> {
      const groups = await prisma.analysis.groupBy({ by: ["status"], where: tenantId ? { tenantId } : {}, _count: { _all: true } });
      const counts = { QUEUED: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0, CANCELLED: 0 } as Record<AnalysisStatus, number>;
      for (const group of groups) counts[group.status] = group._count._all;
      return counts;
    },

    /** Claim one analysis for an attempt (the job writer's claim); null when it is terminal or unknown. */
    async startAttempt(analysisId: string): Promise<Analysis | null> {
      const [claimed] = await jobs.claim([analysisId]);
      return claimed ? prisma.analysis.findUnique({ where: { id: analysisId } }) : null;
    },

    /** Mark FAILED (only from QUEUED/RUNNING) with its AnalysisCompleted, through the one job writer. */
    async markFailed(
      analysisId: string,
      error: ErrorInfo,
      options: { dedupe?: Dedupe } = {},
    ): Promise<{ applied: boolean; analysis: Analysis | null }> {
      const outcome = await jobs.writeJob({ failed: [{ analysisId, error }], ...(options.dedupe ? { dedupe: options.dedupe } : {}) });
      return { applied: outcome.applied.includes(analysisId), analysis: await prisma.analysis.findUnique({ where: { id: analysisId } }) };
    },

    /** Cancel a QUEUED or RUNNING analysis (a worker that finishes later finds it CANCELLED and drops its result). */
    async cancel(tenantId: string, id: string): Promise<Analysis> {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.analysis.updateMany({
          where: { id, tenantId, status: { in: ACTIVE_STATUSES } },
          data: { status: "CANCELLED", finishedAt: new Date() },
        });
        const analysis = await tx.analysis.findFirst({ where: { id, tenantId } });
        if (!analysis) throw new NotFoundError("Analysis", id, { field: "id" });
        if (count === 0) throw new ConflictError(`analysis ${id} is ${analysis.status} and cannot be cancelled`);
        await enqueueCompleted(tx, analysis, topics);
        await refreshStudies(tx, [analysis.studyId]);
        return analysis;
      });
    },

    /** Retry a FAILED or CANCELLED analysis: back to QUEUED with a new AnalysisRequested (attempt n+1). */
    async retry(tenantId: string, id: string): Promise<Analysis> {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.analysis.updateMany({
          where: { id, tenantId, status: { in: ["FAILED", "CANCELLED"] } },
          data: { status: "QUEUED", errorCode: null, errorMessage: null, startedAt: null, finishedAt: null },
        });
        const analysis = await tx.analysis.findFirst({ where: { id, tenantId } });
        if (!analysis) throw new NotFoundError("Analysis", id, { field: "id" });
        if (count === 0) throw new ConflictError(`analysis ${id} is ${analysis.status} and cannot be retried`);
        await enqueueJobs(tx, [analysis], topics, analysis.attempts + 1);
        await refreshStudies(tx, [analysis.studyId]);
        return analysis;
      });
    },
  };
}
