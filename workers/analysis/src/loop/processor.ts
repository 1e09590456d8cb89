// What the worker does with one AnalysisRequested message: a job of one study image and the analyses requested
// for it. The image is read and encoded once; every task runs on it; every result, status, the processed-message
// mark and every completion of the job are written in one transaction (lib/db/repositories/job-results.ts).
// Every path ends in a terminal outcome that makes committing the offset safe: stored results, a skip, or a dead
// letter (plus FAILED for the analyses that exist). Only when even that cannot be done (database or broker down)
// does it throw, and the batch is not committed.
//
// Retries are in-process (see README "Retries"): up to maxAttempts tries per request generation, counted in
// Analysis.attempts, which also makes a message that kills its worker (SIGKILL, OOM) give up after maxAttempts
// deliveries instead of crash-looping the partition.
import type { Analysis } from "../../../../lib/db/generated/client.ts";
import type { Dedupe, ErrorInfo } from "../../../../lib/db/repositories/analyses.ts";
import type {
  JobFailure,
  JobResult,
  JobResultRepository,
  OpenedAnalysis,
  OpenedImage,
} from "../../../../lib/db/repositories/job-results.ts";
import { AppError, InvalidEventError, NotFoundError, isAppError } from "../../../../lib/errors/index.ts";
import { decodeEvent, jobOf, type AnalysisJob } from "../../../../lib/events/index.ts";
import type { Engine } from "../inference/engine.ts";
import { classifyError, errorInfo } from "../errors.ts";
import { backoffDelay, sleepWithHeartbeat, type BackoffPolicy } from "./backoff.ts";
import type { ImageLoader } from "./images.ts";
import { jobResultOf, provenanceOf, runTask } from "./tasks.ts";
import type { ConsumedMessage, DeadLetterSink, Logger, Outcome } from "./types.ts";

export interface ProcessorDeps {
  engine: Engine;
  jobs: Pick<JobResultRepository, "open" | "claim" | "finishJob">;
  images: ImageLoader;
  deadLetter: DeadLetterSink;
  logger: Logger;
  groupId: string;
  retry: BackoffPolicy & { maxAttempts: number };
  /** longest sleep between consumer heartbeats */
  heartbeatSliceMs: number;
  /** aborted on shutdown: a backoff in progress ends at once and the message is left uncommitted */
  signal: AbortSignal;
}

export interface AnalysisReport {
  analysisId: string;
  task: string;
  outcome: Exclude<Outcome, "dead-lettered">;
  error?: ErrorInfo;
}

export interface MessageReport {
  /** the job as a whole: failed when any analysis failed, dead-lettered when none could be touched */
  outcome: Outcome;
  analyses: AnalysisReport[];
  /** tries made by this delivery */
  tries: number;
  /** read + decode of the image and encoder (0 when cached), all task heads, the one result write (ms) */
  timings?: { loadMs: number; encodeMs: number; inferMs: number; writeMs: number; totalMs: number };
  error?: ErrorInfo;
}

/** Thrown when shutdown interrupts a retry backoff: the message is neither done nor failed. */
export class Interrupted extends Error {}

const ACTIVE = new Set(["QUEUED", "RUNNING"]);
const crashed = (used: number) =>
  new AppError(
    "WORKER_CRASHED",
    `gave up after ${used} attempts: the analysis was started but never finished (worker killed or stopped)`,
    500,
    false,
  );

export function createProcessor(deps: ProcessorDeps) {
  const { engine, logger } = deps;
  const provenance = provenanceOf(engine);

  async function deadLetterOnly(message: ConsumedMessage, error: AppError, tries: number): Promise<MessageReport> {
    await deps.deadLetter.publish(message, error, tries);
    logger.warn("message dead-lettered", { offset: message.offset, partition: message.partition, code: error.code, reason: error.message });
    return { outcome: "dead-lettered", analyses: [], tries, error: errorInfo(error) };
  }

  /** Does every analysis row agree with the job? A disagreeing message is not allowed to touch any of them. */
  function mismatch(job: AnalysisJob, rows: OpenedAnalysis[]): string | null {
    for (const a of rows) {
      const fields: string[] = [];
      if (a.tenantId !== job.tenantId) fields.push("tenantId");
      if (a.studyId !== job.studyId) fields.push("studyId");
      if (a.imageId !== job.imageId) fields.push("imageId");
      if (job.expected && a.task !== job.expected.task) fields.push("task");
      if (fields.length) return `event disagrees with analysis ${a.id} on ${fields.join(", ")}`;
    }
    return null;
  }

  /** Write the job's end; a job with failures is dead-lettered first (a crash before the write dead-letters again). */
  async function finish(
    message: ConsumedMessage,
    dedupe: Dedupe,
    opened: OpenedAnalysis[],
    succeeded: JobResult[],
    failed: (JobFailure & { task: string; appError: AppError })[],
    tries: number,
  ) {
    if (failed.length) await deps.deadLetter.publish(message, failed[0]!.appError, tries);
    const written = await deps.jobs.finishJob({
      provenance,
      succeeded,
      failed: failed.map(({ analysisId, error }) => ({ analysisId, error })),
      dedupe,
      opened,
    });
    const analyses: AnalysisReport[] = [
      ...succeeded.map((r) => ({
        analysisId: r.analysisId,
        task: r.task,
        outcome: written.applied.includes(r.analysisId) ? ("succeeded" as const) : ("skipped" as const),
      })),
      ...failed.map((f) => ({
        analysisId: f.analysisId,
        task: f.task,
        outcome: written.applied.includes(f.analysisId) ? ("failed" as const) : ("skipped" as const),
        error: f.error,
      })),
    ];
    for (const f of failed)
      logger.warn("analysis failed", { analysisId: f.analysisId, task: f.task, tries, code: f.error.code, reason: f.error.message });
    const outcome: Outcome = analyses.some((a) => a.outcome === "failed")
      ? "failed"
      : analyses.some((a) => a.outcome === "succeeded")
        ? "succeeded"
        : "skipped";
    const report: MessageReport = { outcome, analyses, tries, ...(failed.length ? { error: failed[0]!.error } : {}) };
    return report;
  }

  /** One try: the image once, then every claimed task on it. A retriable failure of any part throws (all retry). */
  async function runJob(
    job: AnalysisJob,
    claimed: { id: string; task: Analysis["task"]; question: string | null }[],
    image: OpenedImage | null,
  ) {
    const started = performance.now();
    const { encoded, loadMs, encodeMs } = await deps.images.get(job.tenantId, job.imageId, image);
    const inferStart = performance.now();
    const succeeded: JobResult[] = [];
    const failed: (JobFailure & { task: string; appError: AppError })[] = [];
    for (const a of claimed) {
      try {
        const result = await runTask(engine, encoded, { task: a.task, question: a.question ?? job.expected?.question ?? null });
        succeeded.push(jobResultOf(a.id, result));
      } catch (raw) {
        const error = classifyError(raw);
        if (error.retriable) throw error;
        failed.push({ analysisId: a.id, task: a.task, error: errorInfo(error), appError: error });
      }
    }
    return { succeeded, failed, loadMs, encodeMs, inferMs: performance.now() - inferStart, started };
  }

  async function handle(message: ConsumedMessage, heartbeat: () => Promise<void>): Promise<MessageReport> {
    let job: AnalysisJob;
    try {
      job = jobOf(decodeEvent("AnalysisRequested", message.value));
    } catch (error) {
      return deadLetterOnly(message, isAppError(error) ? error : new InvalidEventError(String(error)), 0);
    }
    const skippedAll = (tries: number): MessageReport => ({ outcome: "skipped", analyses: [], tries });
    const { maxAttempts } = deps.retry;
    // One statement: processed already?, the analyses as stored, the image row (for the image loader), and the
    // first try's claim, made by the same rules as below (so a message skipped or dead-lettered claimed nothing).
    const opened = await deps.jobs.open({
      consumerGroup: deps.groupId,
      messageId: job.eventId,
      analysisIds: job.analysisIds,
      tenantId: job.tenantId,
      studyId: job.studyId,
      imageId: job.imageId,
      expectedTask: job.expected?.task ?? null,
      attempt: job.attempt,
      maxAttempts,
    });
    if (opened.processed) return skippedAll(0);

    const rows = opened.analyses;
    const missing = job.analysisIds.find((id) => !rows.some((r) => r.id === id));
    if (missing) return deadLetterOnly(message, new NotFoundError("Analysis", missing), 0);
    const disagreement = mismatch(job, rows);
    if (disagreement) return deadLetterOnly(message, new InvalidEventError(disagreement), 0);
    const dedupe: Dedupe = { consumerGroup: deps.groupId, messageId: job.eventId };
    // Tries of this request generation so far: the gateway's retry sends attempt = attempts + 1.
    const usedOf = (attempts: number) => Math.max(0, attempts - (job.attempt - 1));

    const active = rows.filter((r) => ACTIVE.has(r.status));
    if (active.length === 0) return skippedAll(0);
    const exhausted = active.filter((r) => usedOf(r.attempts) >= maxAttempts);
    const gaveUp = exhausted.map((r) => ({
      analysisId: r.id,
      task: r.task,
      error: errorInfo(crashed(usedOf(r.attempts))),
      appError: crashed(usedOf(r.attempts)),
    }));
    let remaining = active.filter((r) => !exhausted.includes(r)).map((r) => r.id);

    let tries = 0;
    let firstClaim: typeof opened.claimed | undefined = opened.claimed;
    for (;;) {
      const claimed = firstClaim ?? (remaining.length ? await deps.jobs.claim(remaining) : []);
      firstClaim = undefined;
      if (claimed.length === 0) return finish(message, dedupe, rows, [], gaveUp, tries);
      tries += 1;
      const used = Math.max(...claimed.map((c) => usedOf(c.attempts)));
      try {
        const run = await runJob(job, claimed, opened.image);
        const writeStart = performance.now();
        const report = await finish(message, dedupe, rows, run.succeeded, [...gaveUp, ...run.failed], tries);
        const end = performance.now();
        const timings = {
          loadMs: run.loadMs,
          encodeMs: run.encodeMs,
          inferMs: writeStart - run.started - run.loadMs - run.encodeMs,
          writeMs: end - writeStart,
          totalMs: end - run.started,
        };
        logger.info("job finished", {
          eventId: job.eventId,
          analyses: claimed.length,
          outcome: report.outcome,
          tries,
          ms: Math.round(timings.totalMs),
          writeMs: Math.round(timings.writeMs),
        });
        return { ...report, timings };
      } catch (raw) {
        const error = classifyError(raw);
        if (!error.retriable || used >= maxAttempts) {
          const failed = claimed.map((c) => ({ analysisId: c.id, task: c.task, error: errorInfo(error), appError: error }));
          return finish(message, dedupe, rows, [], [...gaveUp, ...failed], tries);
        }
        const delay = backoffDelay(deps.retry, used + 1);
        logger.warn("job attempt failed, retrying", {
          eventId: job.eventId,
          try: used,
          of: maxAttempts,
          inMs: delay,
          code: error.code,
          reason: error.message,
        });
        if (!(await sleepWithHeartbeat(delay, deps.heartbeatSliceMs, heartbeat, deps.signal)))
          throw new Interrupted("stopping during a retry backoff");
        remaining = claimed.map((c) => c.id);
      }
    }
  }

  return { handle };
}

export type Processor = ReturnType<typeof createProcessor>;
