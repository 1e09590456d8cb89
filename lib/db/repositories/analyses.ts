// Analyses: idempotent requests (analysis row + AnalysisRequested outbox row in ONE transaction), guarded
// status transitions for workers, retry and cancel. Completion events go through the outbox too, in the
// transaction that makes the analysis terminal, so "completed" is announced exactly when it is true.
import { randomUUID } from "node:crypto";
import type { Analysis, AnalysisStatus, AnalysisTask, PrismaClient } from "../generated/client.ts";
import type { Tx } from "../client.ts";
import { isUniqueViolation } from "../client.ts";
import { ConflictError, NotFoundError, ValidationError } from "../../errors/index.ts";
import { encodeEvent, MAX_JOB_ANALYSES, type TopicNames } from "../../events/index.ts";
import { completedEvent } from "./completions.ts";
import { createJobResultRepository } from "./job-results.ts";
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

/** Enqueue AnalysisRequested (attempt n) and record the QUEUED transition, inside the transaction that queues. */
/**
 * One AnalysisRequested (v2, ids only) per requested image, keyed by study: a study's analyses travel and are
 * processed together, and different studies spread over the partitions. Each analysis gets its QUEUED transition.
 */
async function enqueueJobs(tx: Tx, analyses: Analysis[], topics: TopicNames, attempt: number): Promise<void> {
  const requestedAt = new Date();
  const byImage = new Map<string, Analysis[]>();
  for (const analysis of analyses) byImage.set(analysis.imageId, [...(byImage.get(analysis.imageId) ?? []), analysis]);
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
      await enqueueOutbox(tx, {
        topic: topics.requested,
        key: first.studyId,
        payload: JSON.parse(payload),
        eventId,
        tenantId: first.tenantId,
      });
    }
  for (const analysis of analyses) await recordTransition(tx, analysis, "QUEUED", requestedAt);
}

/**
 * Study status follows its analyses: IN_PROGRESS while any is active, else ANALYSED (REVIEWED is kept).
 *
 * The study row is locked first. Two results of one study committing at once would otherwise each
 * count the other as still active (read committed) and both leave IN_PROGRESS behind for good; the
 * console's browser test caught a study stuck "In progress" with all four results in. NO KEY UPDATE,
 * not UPDATE: inserting an analysis holds KEY SHARE on its study (the foreign key), and two
 * concurrent requests upgrading that to UPDATE deadlock.
 */
export async function refreshStudyStatus(tx: Tx, studyId: string): Promise<void> {
  await tx.$queryRaw`SELECT 1 FROM "Study" WHERE "id" = ${studyId} FOR NO KEY UPDATE`;
  const active = await tx.analysis.count({ where: { studyId, status: { in: ACTIVE_STATUSES } } });
  await tx.study.updateMany({
    where: { id: studyId, status: { not: "REVIEWED" } },
    data: { status: active > 0 ? "IN_PROGRESS" : "ANALYSED" },
  });
}

/** Record a processed message in the transaction; false when it had been processed already. */
export async function recordProcessed(tx: Tx, dedupe: Dedupe | undefined): Promise<boolean> {
  if (!dedupe) return true;
  const { count } = await tx.processedMessage.createMany({ data: [dedupe], skipDuplicates: true });
  return count === 1;
}

export function createAnalysisRepository(prisma: PrismaClient, topics: TopicNames) {
  const jobs = createJobResultRepository(prisma, topics);
  async function requestInTx(tx: Tx, input: AnalysisRequestInput): Promise<RequestOutcome> {
    const question = normaliseQuestion(input);
    const existing = await tx.analysis.findUnique({
      where: { tenantId_idempotencyKey: { tenantId: input.tenantId, idempotencyKey: input.idempotencyKey } },
    });
    if (existing) {
      const same =
        existing.studyId === input.studyId &&
        existing.imageId === input.imageId &&
        existing.task === input.task &&
        existing.question === question;
      if (!same)
        throw new ConflictError(`idempotency key ${input.idempotencyKey} was used for a different request`, { field: "idempotencyKey" });
      return { analysis: existing, created: false };
    }
    const image = await tx.image.findFirst({
      where: { id: input.imageId, tenantId: input.tenantId, studyId: input.studyId },
      select: { id: true },
    });
    if (!image) {
      const study = await tx.study.findFirst({ where: { id: input.studyId, tenantId: input.tenantId }, select: { id: true } });
      if (!study) throw new NotFoundError("Study", input.studyId, { field: "studyId" });
      throw new NotFoundError("Image", input.imageId, { field: "imageId" });
    }
    const analysis = await tx.analysis.create({
      data: {
        tenantId: input.tenantId,
        studyId: input.studyId,
        imageId: input.imageId,
        task: input.task,
        question,
        idempotencyKey: input.idempotencyKey,
        requestedBy: input.requestedBy ?? null,
      },
    });
    return { analysis, created: true };
  }

  async function requestAnalyses(inputs: AnalysisRequestInput[]): Promise<RequestOutcome[]> {
    // A concurrent request with the same key makes one of the transactions hit the unique index: run it again,
    // and it then finds the other's analysis.
    for (let round = 0; ; round++) {
      try {
        return await prisma.$transaction(async (tx) => {
          const outcomes: RequestOutcome[] = [];
          for (const input of inputs) outcomes.push(await requestInTx(tx, input));
          const created = outcomes.filter((o) => o.created).map((o) => o.analysis);
          if (created.length) await enqueueJobs(tx, created, topics, 1);
          for (const studyId of new Set(outcomes.filter((o) => o.created).map((o) => o.analysis.studyId)))
            await refreshStudyStatus(tx, studyId);
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
      const rows = await prisma.analysis.findMany({
        where: { tenantId, studyId: { in: [...studyIds] } },
        orderBy: [{ requestedAt: "desc" }, { id: "desc" }],
      });
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
        await refreshStudyStatus(tx, analysis.studyId);
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
        await refreshStudyStatus(tx, analysis.studyId);
        return analysis;
      });
    },
  };
}
