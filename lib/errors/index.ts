// The platform's error hierarchy. Every expected failure is an AppError with a stable machine-readable
// code, an HTTP status for the upload endpoint / GraphQL typed errors, and a `retriable` flag that the
// worker's retry policy and clients use (retry Unavailable; never retry Validation).
export type ErrorDetails = Record<string, unknown>;

export interface AppErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
  /** the input field the error is about, for typed GraphQL errors ({ code, message, field }) */
  field?: string;
}

export class AppError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly retriable: boolean;
  readonly details: ErrorDetails;
  readonly field?: string;

  constructor(code: string, message: string, httpStatus: number, retriable: boolean, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = httpStatus;
    this.retriable = retriable;
    this.details = options.details ?? {};
    this.field = options.field;
  }

  /** A plain object safe to send to a client or put in an event/dead-letter payload. */
  toJSON(): { code: string; message: string; retriable: boolean; field?: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, retriable: this.retriable, field: this.field, details: this.details };
  }
}

export class ValidationError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super("VALIDATION", message, 400, false, options);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = "authentication required", options: AppErrorOptions = {}) {
    super("UNAUTHENTICATED", message, 401, false, options);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = "not allowed", options: AppErrorOptions = {}) {
    super("FORBIDDEN", message, 403, false, options);
  }
}

export class NotFoundError extends AppError {
  constructor(entity: string, id?: string, options: AppErrorOptions = {}) {
    super("NOT_FOUND", id === undefined ? `${entity} not found` : `${entity} ${id} not found`, 404, false, {
      ...options,
      details: { entity, ...(id === undefined ? {} : { id }), ...options.details },
    });
  }
}

export class ConflictError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super("CONFLICT", message, 409, false, options);
  }
}

/** The target exists but is in a state that does not allow the change (e.g. reviewing an unfinished report). */
export class InvalidStateError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super("INVALID_STATE", message, 409, false, options);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super("PAYLOAD_TOO_LARGE", message, 413, false, options);
  }
}

export class UnsupportedMediaError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super("UNSUPPORTED_MEDIA", message, 415, false, options);
  }
}

export class LimitExceededError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super("LIMIT_EXCEEDED", message, 400, false, options);
  }
}

/** A dependency (database, broker, model runtime) is temporarily unavailable: retry with backoff. */
export class UnavailableError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super("UNAVAILABLE", message, 503, true, options);
  }
}

/** The model failed on this input (bad bundle, inference error). Not retriable by default. */
export class ModelError extends AppError {
  constructor(message: string, options: AppErrorOptions & { retriable?: boolean } = {}) {
    super("MODEL_ERROR", message, 500, options.retriable ?? false, options);
  }
}

/** An event payload that does not match its schema: a poison message, dead-lettered at once. */
export class InvalidEventError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super("INVALID_EVENT", message, 400, false, options);
  }
}

/** Configuration is invalid; message lists every problem. */
export class ConfigError extends AppError {
  readonly issues: string[];
  constructor(scope: string, issues: string[]) {
    super("CONFIG", `invalid ${scope} configuration:\n  - ${issues.join("\n  - ")}`, 500, false, { details: { issues } });
    this.issues = issues;
  }
}

export class InternalError extends AppError {
  constructor(message = "internal error", options: AppErrorOptions = {}) {
    super("INTERNAL", message, 500, false, options);
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** Wrap anything thrown into an AppError; unknown errors become INTERNAL (their message is not for clients). */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new InternalError(error instanceof Error ? error.message : String(error), { cause: error });
}

/** Whether an error should be retried: AppErrors say so themselves; unknown errors are treated as retriable
 *  (connection resets, timeouts) so that a transient failure does not dead-letter a good message. */
export function isRetriable(error: unknown): boolean {
  return error instanceof AppError ? error.retriable : true;
}
