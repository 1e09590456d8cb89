// Versioned, validated event payloads shared by producers (gateway outbox, worker) and consumers.
// Every payload carries `type` and `version` so a consumer can tell what it got; decoding validates
// with zod and throws InvalidEventError naming every bad field (a poison message, never retried).
// Compatibility rule: additive, optional fields may be added to v1; anything else is a new version.
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
export type AnalysisRequested = z.infer<typeof AnalysisRequestedV1>;

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
  AnalysisRequested: AnalysisRequestedV1,
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
    if (version !== undefined && version !== 1) {
      throw new InvalidEventError(`unsupported ${type} event version ${JSON.stringify(version)} (this consumer reads version 1)`);
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
