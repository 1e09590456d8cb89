// Maps everything a message's processing can throw onto lib/errors' hierarchy, so the retry policy has one
// question to ask: `retriable`? The engine's BundleError/InferenceError carry their own codes and flag.
import { AppError, ModelError, UnavailableError, ValidationError, toAppError } from "../../../lib/errors/index.ts";
import { BundleError, InferenceError } from "./bundle/errors.ts";

/** Errors worth retrying because the cause is outside this message: a database or broker hiccup. */
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "57P01",
  "57P03",
  "53300",
  "40001",
  "40P01",
]);
/** Prisma's "can't reach / timed out / pool timeout / transaction closed" codes. */
const PRISMA_TRANSIENT = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2028", "P2034"]);

/** Prisma's driver adapter (@prisma/adapter-pg) throws a DriverAdapterError without a code of its own: the
 *  PostgreSQL SQLSTATE is on its `cause` (`originalCode`), and socket failures are named by `cause.kind`. */
const ADAPTER_TRANSIENT_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  const cause = (error as { name?: unknown; cause?: { originalCode?: unknown; kind?: unknown } } | null)?.cause;
  if ((error as { name?: unknown } | null)?.name !== "DriverAdapterError" || !cause) return undefined;
  if (typeof cause.originalCode === "string") return cause.originalCode;
  return typeof cause.kind === "string" && ADAPTER_TRANSIENT_KINDS.has(cause.kind) ? "ECONNRESET" : undefined;
}

/** node-postgres's errors for a pooled connection that died under a query (no code: matched by their text). */
const PG_DEAD_CONNECTION =
  /^(Client has encountered a connection error and is not queryable|Connection terminated unexpectedly|Connection terminated|Client was closed and is not queryable)$/;

export function classifyError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof InferenceError) {
    switch (error.code) {
      case "IMAGE_INVALID":
      case "INPUT_INVALID":
      case "TASK_NOT_SUPPORTED":
        return new ValidationError(error.message, { cause: error, details: { engineCode: error.code } });
      case "ENGINE_CLOSED":
        return new UnavailableError(error.message, { cause: error, details: { engineCode: error.code } });
      default:
        return new ModelError(error.message, { cause: error, retriable: error.retriable, details: { engineCode: error.code } });
    }
  }
  if (error instanceof BundleError) return new ModelError(error.message, { cause: error, details: { engineCode: error.code } });
  const code = errorCodeOf(error) ?? (error instanceof Error && PG_DEAD_CONNECTION.test(error.message) ? "ECONNRESET" : undefined);
  if (code !== undefined && (TRANSIENT_CODES.has(code) || PRISMA_TRANSIENT.has(code))) {
    return new UnavailableError(error instanceof Error ? error.message : String(error), { cause: error, details: { code } });
  }
  // Unknown errors (including ONNX Runtime's plain Errors) are treated as INTERNAL and not retriable: the same
  // input fails the same way, and retrying an unknown failure three times only delays the FAILED status.
  const app = toAppError(error);
  return app;
}

/** The { code, message, retriable } stored on the analysis and put on the dead-letter/completion events. */
export function errorInfo(error: AppError): { code: string; message: string; retriable: boolean } {
  return { code: error.code, message: error.message, retriable: error.retriable };
}
