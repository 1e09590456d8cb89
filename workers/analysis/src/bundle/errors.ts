/**
 * Typed errors of the model bundle and the inference engine.
 *
 * They carry a stable `code` and a `retriable` flag like the project's error hierarchy (lib/errors):
 * a bad or tampered bundle is never retriable (retrying cannot fix the files), while a failed
 * inference run may be (e.g. a transient resource problem). The worker loop maps them onto its own
 * hierarchy by `code`, so this module stays free of other packages' internals.
 */

export type BundleErrorCode =
  | "BUNDLE_NOT_FOUND"
  | "MANIFEST_INVALID"
  | "BUNDLE_INCOMPLETE"
  | "BUNDLE_HASH_MISMATCH"
  | "VOCAB_INVALID"
  | "GRAPH_MISMATCH"
  | "EXECUTION_PROVIDER_UNAVAILABLE";

export type InferenceErrorCode = "IMAGE_INVALID" | "INPUT_INVALID" | "TASK_NOT_SUPPORTED" | "INFERENCE_FAILED" | "ENGINE_CLOSED";

abstract class CodedError<C extends string> extends Error {
  readonly code: C;
  readonly retriable: boolean;
  readonly details: readonly string[];

  constructor(code: C, message: string, opts: { retriable?: boolean; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.details = opts.details ?? [];
  }
}

/** The bundle on disk cannot be used: missing, malformed, tampered or not matching its graphs. */
export class BundleError extends CodedError<BundleErrorCode> {
  override readonly name = "BundleError";
}

/** A request could not be answered by the engine. */
export class InferenceError extends CodedError<InferenceErrorCode> {
  override readonly name = "InferenceError";
}
