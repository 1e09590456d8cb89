// Versioned, validated event payloads shared by producers (gateway outbox, worker) and consumers.
// Every payload carries `type` and `version` so a consumer can tell what it got; decoding validates
// with zod and throws InvalidEventError naming every bad field (a poison message, never retried).
// Compatibility rule: additive, optional fields may be added to a version; anything else is a new version,
// which consumers read beside the old one until no old message can be on a topic.
import { z } from "zod";
import { InvalidEventError } from "../errors/index.ts";

import { AnalysisTask, ReliabilityLevel } from "../db/generated/enums.ts";

// Enum values come from the generated client (prisma/schema.prisma, spelled as schema.graphql: test/core/enums.test.ts)
export const ANALYSIS_TASKS = Object.values(AnalysisTask) as [AnalysisTask, ...AnalysisTask[]];
export type AnalysisTaskName = AnalysisTask;
export const TERMINAL_STATUSES = ["SUCCEEDED", "FAILED", "CANCELLED"] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

const id = z.string().min(1).max(200);
const isoTime = z.iso.datetime({ offset: true });
const errorInfo = z.object({ code: z.string().min(1), message: z.string(), retriable: z.boolean().optional() });
const modelRef = z.object({ name: z.string().min(1), version: z.string().min(1), bundleSha256: z.string().min(1) });

export const RELIABILITY_LEVELS = Object.values(ReliabilityLevel) as [ReliabilityLevel, ...ReliabilityLevel[]];
/** The worker's reliability assessment of the analysed image (model bundle contract, format version 2). */
const reliability = z.object({
  level: z.enum(RELIABILITY_LEVELS),
  score: z.number().min(0).max(1),
  reasons: z.array(z.object({ code: z.string().min(1).max(100), message: z.string().max(1000) })).max(20),
  frontalProbability: z.number().finite().nullable().optional(),
  oodDistance: z.number().finite().nullable().optional(),
});
export type ReliabilityPayload = z.infer<typeof reliability>;

/** Version 1: one analysis per message (still read: messages already on the topic when v2 shipped). */
export const AnalysisRequestedV1 = z.object({
  type: z.literal("AnalysisRequested"),
  version: z.literal(1),
  eventId: id,
  tenantId: id,
  studyId: id,
  analysisId: id,
  imageId: id,
  task: z.enum(ANALYSIS_TASKS),
  question: z.string().min(1).max(2000).optional(),
  /** request generation: 1 for the first request, n+1 after a manual retry */
  attempt: z.number().int().min(1),
  requestedAt: isoTime,
});

/** Most analyses one job message may carry (a request names a few tasks and questions per image). */
export const MAX_JOB_ANALYSES = 64;

/**
 * Version 2: one message per requested image, ids only. The worker reads task and question from the analysis
 * rows, loads the image once and writes every result of the job in one transaction.
 */
export const AnalysisRequestedV2 = z.object({
  type: z.literal("AnalysisRequested"),
  version: z.literal(2),
  eventId: id,
  tenantId: id,
  studyId: id,
  imageId: id,
  analysisIds: z
    .array(id)
    .min(1)
    .max(MAX_JOB_ANALYSES)
    .refine((ids) => new Set(ids).size === ids.length, "analysis ids must be distinct"),
  /** request generation: 1 for the first request, n+1 after a manual retry */
  attempt: z.number().int().min(1),
  requestedAt: isoTime,
});
export const AnalysisRequestedAny = z.discriminatedUnion("version", [AnalysisRequestedV1, AnalysisRequestedV2]);
export type AnalysisRequestedV1Event = z.infer<typeof AnalysisRequestedV1>;
export type AnalysisRequested = z.infer<typeof AnalysisRequestedAny>;

/** What a worker acts on, whichever version the message was. */
export interface AnalysisJob {
  eventId: string;
  tenantId: string;
  studyId: string;
  imageId: string;
  analysisIds: string[];
  attempt: number;
  /** v1 messages name the task and question; the worker checks them against the analysis row */
  expected?: { task: AnalysisTaskName; question: string | null };
}

export function jobOf(event: AnalysisRequested): AnalysisJob {
  const { eventId, tenantId, studyId, imageId, attempt } = event;
  if (event.version === 2) return { eventId, tenantId, studyId, imageId, attempt, analysisIds: event.analysisIds };
  return {
    eventId,
    tenantId,
    studyId,
    imageId,
    attempt,
    analysisIds: [event.analysisId],
    expected: { task: event.task, question: event.question ?? null },
  };
}

export const AnalysisCompletedV1 = z.object({
  type: z.literal("AnalysisCompleted"),
  version: z.literal(1),
  eventId: id,
  tenantId: id,
  studyId: id,
  analysisId: id,
  task: z.enum(ANALYSIS_TASKS),
  status: z.enum(TERMINAL_STATUSES),
  error: errorInfo.optional(),
  finishedAt: isoTime,
  modelVersion: modelRef.optional(),
  /** SUCCEEDED analyses from a worker that assesses reliability: subscribers can warn without a query */
  reliability: reliability.optional(),
});
export type AnalysisCompleted = z.infer<typeof AnalysisCompletedV1>;

export const DeadLetterV1 = z.object({
  type: z.literal("DeadLetter"),
  version: z.literal(1),
  eventId: id,
  /** the message as it was consumed: value is the raw text (it may not even be JSON) */
  original: z.object({
    topic: z.string(),
    partition: z.number().int(),
    offset: z.string(),
    key: z.string().nullable(),
    value: z.string().nullable(),
    headers: z.record(z.string(), z.string()).optional(),
  }),
  error: errorInfo,
  failedAt: isoTime,
  attempts: z.number().int().min(0),
});
export type DeadLetter = z.infer<typeof DeadLetterV1>;

export const eventSchemas = {
  AnalysisRequested: AnalysisRequestedAny,
  AnalysisCompleted: AnalysisCompletedV1,
  DeadLetter: DeadLetterV1,
} as const;
export type EventType = keyof typeof eventSchemas;
export type EventOf<T extends EventType> = z.infer<(typeof eventSchemas)[T]>;
export type AnyEvent = EventOf<EventType>;

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join(".") : "(payload)"}: ${issue.message}`).join("; ");
}

/** Validate an event object (throws InvalidEventError listing every problem). */
export function validateEvent<T extends EventType>(type: T, event: unknown): EventOf<T> {
  const result = eventSchemas[type].safeParse(event);
  if (!result.success) {
    throw new InvalidEventError(`invalid ${type} event: ${describeIssues(result.error)}`, {
      details: { type, issues: result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) },
    });
  }
  return result.data as EventOf<T>;
}

/** Validate and serialise to the JSON text put on the wire (and into the outbox). */
export function encodeEvent<T extends EventType>(type: T, event: EventOf<T>): string {
  return JSON.stringify(validateEvent(type, event));
}

const READABLE_VERSIONS: Record<EventType, readonly number[]> = { AnalysisRequested: [1, 2], AnalysisCompleted: [1], DeadLetter: [1] };

/** Parse and validate a message value (Buffer or string). Throws InvalidEventError for anything malformed. */
export function decodeEvent<T extends EventType>(type: T, value: Buffer | string | null | undefined): EventOf<T> {
  if (value === null || value === undefined || value.length === 0) {
    throw new InvalidEventError(`invalid ${type} event: empty message`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === "string" ? value : value.toString("utf8"));
  } catch (error) {
    throw new InvalidEventError(`invalid ${type} event: not JSON (${(error as Error).message})`);
  }
  if (typeof parsed === "object" && parsed !== null) {
    const { type: got, version } = parsed as { type?: unknown; version?: unknown };
    if (got !== undefined && got !== type) throw new InvalidEventError(`expected a ${type} event, got type ${JSON.stringify(got)}`);
    const readable = READABLE_VERSIONS[type];
    if (version !== undefined && !readable.includes(version as number)) {
      throw new InvalidEventError(
        `unsupported ${type} event version ${JSON.stringify(version)} (this consumer reads version ${readable.join(" and ")})`,
      );
    }
  }
  return validateEvent(type, parsed);
}

/** Topic names, optionally prefixed (tests use a unique prefix per test). */
export interface TopicNames {
  requested: string;
  completed: string;
  deadLetter: string;
}

export function topicNames(prefix = ""): TopicNames {
  return {
    requested: `${prefix}analysis.requested`,
    completed: `${prefix}analysis.completed`,
    deadLetter: `${prefix}analysis.dead-letter`,
  };
}
