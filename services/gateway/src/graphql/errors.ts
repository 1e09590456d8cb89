// Error handling at the GraphQL edge.
// - Expected failures inside mutations are returned as data (`errors: [UserError]`), see userErrors().
// - Errors a client caused at the protocol level (parse/validation, bad arguments, auth) keep their message.
// - Anything else is masked to "Internal server error" with an error id; the original is logged with the
//   operation and the caller, under the same id, so support can find it.
import { randomUUID } from "node:crypto";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { AppError, isAppError } from "../../../../lib/errors/index.ts";

/** Codes whose message is written for the client and may be shown as is. */
const CLIENT_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "QUERY_TOO_DEEP",
  "QUERY_TOO_COSTLY",
  "QUERY_TOO_LARGE",
  "QUERY_TOO_MANY_TOKENS",
  "FRAGMENT_CYCLE",
  "TOO_MANY_ALIASES",
  "TOO_MANY_ROOT_FIELDS",
  "TOO_MANY_SELECTIONS",
  "RATE_LIMITED",
  "OVERLOADED",
  // a subscription's `after` (subscriptions/cursor.ts)
  "INVALID_CURSOR",
  "RESYNC_REQUIRED",
]);

export type ErrorCode =
  | "VALIDATION"
  | "NOT_FOUND"
  | "FORBIDDEN"
  | "CONFLICT"
  | "INVALID_STATE"
  | "RATE_LIMITED"
  | "NOT_ANALYSED"
  | "NOT_CONFIGURED"
  | "EGRESS_NOT_ALLOWED";

export interface UserError {
  code: ErrorCode;
  message: string;
  field: string | null;
}

export function userError(code: ErrorCode, message: string, field?: string): UserError {
  return { code, message, field: field ?? null };
}

/** The AppError codes that mutations turn into UserErrors (others are unexpected and rethrown). */
const APP_TO_USER: Record<string, ErrorCode> = {
  VALIDATION: "VALIDATION",
  LIMIT_EXCEEDED: "VALIDATION",
  NOT_FOUND: "NOT_FOUND",
  FORBIDDEN: "FORBIDDEN",
  CONFLICT: "CONFLICT",
  INVALID_STATE: "INVALID_STATE",
  NOT_ANALYSED: "NOT_ANALYSED",
  NOT_CONFIGURED: "NOT_CONFIGURED",
  EGRESS_NOT_ALLOWED: "EGRESS_NOT_ALLOWED",
};

export function asUserError(error: unknown): UserError | null {
  if (!isAppError(error)) return null;
  const code = APP_TO_USER[error.code];
  return code ? userError(code, error.message, error.field) : null;
}

/** Runs a mutation body; expected failures become `{ errors: [UserError] }` merged into `empty`. */
export async function withUserErrors<P extends { errors: UserError[] }>(
  /** the payload's other fields when it fails, e.g. `{ patient: null }` */
  empty: Record<string, null | never[] | boolean>,
  body: () => Promise<P>,
): Promise<P> {
  try {
    return await body();
  } catch (error) {
    const mapped = asUserError(error);
    if (mapped) return { ...empty, errors: [mapped] } as unknown as P;
    throw error;
  }
}

export function unauthenticated(message = "Authentication required: send `Authorization: Bearer <token>` or `x-api-key`.") {
  return new GraphQLError(message, { extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
}

export function forbidden(message: string) {
  return new GraphQLError(message, { extensions: { code: "FORBIDDEN", http: { status: 403 } } });
}

export function badInput(message: string, argumentName?: string) {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", ...(argumentName ? { argumentName } : {}) } });
}

/** Error ids assigned when an unexpected error is logged, read back when it is formatted. */
const errorIds = new WeakMap<object, string>();

function hasClientCode(error: unknown): boolean {
  const code = error instanceof GraphQLError ? error.extensions?.code : undefined;
  return typeof code === "string" && CLIENT_CODES.has(code);
}

export function isClientError(error: unknown): boolean {
  // Apollo wraps validation/parse errors (code on the wrapper); resolvers' errors are wrapped by graphql-js
  // (code copied from the original). A wrapped plain Error has no code anywhere: unexpected.
  if (hasClientCode(error)) return true;
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof GraphQLError) return hasClientCode(original);
  // An AppError that reached the top (not caught by a mutation) with a client-facing code.
  return (
    original instanceof AppError && ["VALIDATION", "NOT_FOUND", "UNAUTHENTICATED", "FORBIDDEN", "LIMIT_EXCEEDED"].includes(original.code)
  );
}

/** Assigns (once) and returns the error id of an unexpected error. */
export function errorIdOf(error: unknown): string {
  const key = (error instanceof GraphQLError ? (error.originalError ?? error) : error) as object;
  if (typeof key !== "object" || key === null) return randomUUID();
  let id = errorIds.get(key);
  if (!id) errorIds.set(key, (id = randomUUID()));
  return id;
}

/** graphql-js appends `Did you mean "x"?` to unknown fields, arguments, types and enum values. */
const SUGGESTION = / ?Did you mean .+?\?$/s;

/** The same error without schema suggestions (used when introspection is off, so field names stay private). */
export function withoutSuggestions(formatted: GraphQLFormattedError): GraphQLFormattedError {
  return SUGGESTION.test(formatted.message) ? { ...formatted, message: formatted.message.replace(SUGGESTION, "") } : formatted;
}

/** Apollo's formatError: keep client errors, mask everything else. */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (isClientError(error)) {
    const original = error instanceof GraphQLError ? error.originalError : undefined;
    if (original instanceof AppError) {
      return { ...formatted, extensions: { ...formatted.extensions, code: original.code } };
    }
    // Do not leak stack traces even where Apollo would include them.
    const { stacktrace: _omit, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    return { ...formatted, extensions };
  }
  return {
    message: "Internal server error",
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: "INTERNAL_SERVER_ERROR", errorId: errorIdOf(error) },
  };
}
