// What the worker does with one AnalysisRequested message. Every path ends in a terminal outcome that makes
// committing the offset safe: a stored result, a skip, or a dead letter (plus FAILED when the analysis exists).
// Only when even that cannot be done (database or broker down) does it throw, and the batch is not committed.
//
// Retries are in-process (see README "Retries"): up to maxAttempts tries per request generation, counted in
// Analysis.attempts, which also makes a message that kills its worker (SIGKILL, OOM) give up after maxAttempts
// deliveries instead of crash-looping the partition.
import type { Analysis } from "../../../../lib/db/generated/client.ts";
import type { Dedupe, ErrorInfo } from "../../../../lib/db/repositories/analyses.ts";
import type { WriteOutcome } from "../../../../lib/db/repositories/results.ts";
import { AppError, InvalidEventError, NotFoundError, isAppError } from "../../../../lib/errors/index.ts";
import { decodeEvent, type AnalysisRequested } from "../../../../lib/events/index.ts";
import type { Engine } from "../inference/engine.ts";
import { classifyError, errorInfo } from "../errors.ts";
import { backoffDelay, sleepWithHeartbeat, type BackoffPolicy } from "./backoff.ts";
import type { ImageLoader } from "./images.ts";
import { provenanceOf, runTask, storeResult, type ResultRepository } from "./tasks.ts";
import type { ConsumedMessage, DeadLetterSink, Logger, Outcome } from "./types.ts";

export interface AnalysisStore {
  findByIdAnyTenant(id: string): Promise<Analysis | null>;
  startAttempt(id: string): Promise<Analysis | null>;
  markFailed(id: string, error: ErrorInfo, options: { dedupe?: Dedupe }): Promise<{ applied: boolean; analysis: Analysis | null }>;
}

export interface ProcessedStore {
  isProcessed(consumerGroup: string, messageId: string): Promise<boolean>;
}

export interface ProcessorDeps {
  engine: Engine;
  analyses: AnalysisStore;
  results: ResultRepository;
  processed: ProcessedStore;
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

export interface MessageReport {
  outcome: Outcome;
  task?: string;
  analysisId?: string;
  /** tries made by this delivery */
  tries: number;
  /** read + decode of the image, encoder (0 when cached), head/decoder, result write (ms) */
  timings?: { loadMs: number; encodeMs: number; inferMs: number; writeMs: number; totalMs: number };
  error?: ReturnType<typeof errorInfo>;
}

/** Thrown when shutdown interrupts a retry backoff: the message is neither done nor failed. */
export class Interrupted extends Error {}

export function createProcessor(deps: ProcessorDeps) {
  const { engine, logger } = deps;
  const provenance = provenanceOf(engine);

  async function deadLetterOnly(message: ConsumedMessage, error: AppError, tries: number): Promise<MessageReport> {
    await deps.deadLetter.publish(message, error, tries);
    logger.warn("message dead-lettered", { offset: message.offset, partition: message.partition, code: error.code, reason: error.message });
    return { outcome: "dead-lettered", tries, error: errorInfo(error) };
  }

  async function fail(message: ConsumedMessage, event: AnalysisRequested, error: AppError, tries: number): Promise<MessageReport> {
    // Dead letter first: if the process dies before FAILED is written, the redelivery dead-letters again
    // (a duplicate entry) rather than leaving a FAILED analysis with no dead letter.
    await deps.deadLetter.publish(message, error, tries);
    const info = errorInfo(error);
    await deps.analyses.markFailed(event.analysisId, info, { dedupe: dedupeOf(event) });
    logger.warn("analysis failed", { analysisId: event.analysisId, task: event.task, tries, code: error.code, reason: error.message });
    return { outcome: "failed", task: event.task, analysisId: event.analysisId, tries, error: info };
  }

  const dedupeOf = (event: AnalysisRequested): Dedupe => ({ consumerGroup: deps.groupId, messageId: event.eventId });

  /** Does the analysis row agree with the event? A disagreeing event is not allowed to touch the analysis. */
  function mismatch(event: AnalysisRequested, analysis: Analysis): string | null {
    const fields: string[] = [];
    if (analysis.tenantId !== event.tenantId) fields.push("tenantId");
    if (analysis.studyId !== event.studyId) fields.push("studyId");
    if (analysis.imageId !== event.imageId) fields.push("imageId");
    if (analysis.task !== event.task) fields.push("task");
    return fields.length ? `event disagrees with analysis ${analysis.id} on ${fields.join(", ")}` : null;
  }

  async function tryOnce(
    event: AnalysisRequested,
    analysis: Analysis,
  ): Promise<{ write: WriteOutcome; timings: NonNullable<MessageReport["timings"]> }> {
    const started = performance.now();
    const { encoded, loadMs, encodeMs } = await deps.images.get(event.tenantId, event.imageId);
    const inferStart = performance.now();
    const result = await runTask(engine, encoded, { task: event.task, question: analysis.question ?? event.question ?? null });
    const writeStart = performance.now();
    const write = await storeResult(deps.results, event.analysisId, provenance, result, dedupeOf(event));
    const end = performance.now();
    return { write, timings: { loadMs, encodeMs, inferMs: writeStart - inferStart, writeMs: end - writeStart, totalMs: end - started } };
  }

  async function handle(message: ConsumedMessage, heartbeat: () => Promise<void>): Promise<MessageReport> {
    let event: AnalysisRequested;
    try {
      event = decodeEvent("AnalysisRequested", message.value);
    } catch (error) {
      return deadLetterOnly(message, isAppError(error) ? error : new InvalidEventError(String(error)), 0);
    }
    const base = { task: event.task, analysisId: event.analysisId };
    if (await deps.processed.isProcessed(deps.groupId, event.eventId)) return { outcome: "skipped", ...base, tries: 0 };

    const current = await deps.analyses.findByIdAnyTenant(event.analysisId);
    if (!current) return deadLetterOnly(message, new NotFoundError("Analysis", event.analysisId), 0);
    const disagreement = mismatch(event, current);
    if (disagreement) return deadLetterOnly(message, new InvalidEventError(disagreement), 0);
    if (current.status !== "QUEUED" && current.status !== "RUNNING") return { outcome: "skipped", ...base, tries: 0 };

    // Tries of this request generation so far: the gateway's retry sends attempt = attempts + 1.
    let used = Math.max(0, current.attempts - (event.attempt - 1));
    const { maxAttempts } = deps.retry;
    if (used >= maxAttempts) {
      const crashed = new AppError(
        "WORKER_CRASHED",
        `gave up after ${used} attempts: the analysis was started but never finished (worker killed or stopped)`,
        500,
        false,
      );
      return fail(message, event, crashed, 0);
    }

    let tries = 0;
    for (;;) {
      const claimed = await deps.analyses.startAttempt(event.analysisId);
      if (!claimed) return { outcome: "skipped", ...base, tries }; // cancelled or finished meanwhile
      tries += 1;
      used += 1;
      try {
        const { write, timings } = await tryOnce(event, claimed);
        if (!write.applied) return { outcome: "skipped", ...base, tries };
        logger.info("analysis succeeded", { ...base, tries, ms: Math.round(timings.totalMs), inferMs: Math.round(timings.inferMs) });
        return { outcome: "succeeded", ...base, tries, timings };
      } catch (raw) {
        const error = classifyError(raw);
        if (!error.retriable || used >= maxAttempts) return fail(message, event, error, tries);
        const delay = backoffDelay(deps.retry, used + 1);
        logger.warn("analysis attempt failed, retrying", {
          ...base,
          try: used,
          of: maxAttempts,
          inMs: delay,
          code: error.code,
          reason: error.message,
        });
        if (!(await sleepWithHeartbeat(delay, deps.heartbeatSliceMs, heartbeat, deps.signal)))
          throw new Interrupted("stopping during a retry backoff");
      }
    }
  }

  return { handle };
}

export type Processor = ReturnType<typeof createProcessor>;
