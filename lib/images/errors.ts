import { AppError } from "../errors/index.ts";

/**
 * Typed errors for image ingest. Every expected failure (bad upload) is an ImageError with a
 * stable code, a message a person can act on, and the HTTP status the upload endpoint should send.
 * Unexpected failures (disk full, bugs) are left as ordinary errors for the caller to mask.
 * ImageError is an AppError (lib/errors), so the platform's generic error handling applies to it.
 */

export const IMAGE_ERROR_STATUS = {
  EMPTY_FILE: 400,
  TOO_LARGE: 413,
  UNSUPPORTED_FORMAT: 415,
  UNSUPPORTED_TRANSFER_SYNTAX: 415,
  UNSUPPORTED_PIXEL_FORMAT: 415,
  CORRUPT_IMAGE: 422,
  INVALID_DIMENSIONS: 422,
  DIMENSIONS_TOO_LARGE: 422,
  /** the header's dimensions need more memory to decode than a decoder may use (see budget.ts) */
  DECODE_BUDGET_EXCEEDED: 422,
  /** more DICOM elements or PNG chunks than any radiograph has: each would become parser objects on the heap */
  HEADER_TOO_LARGE: 422,
  /** a decoder thread reached its memory cap on this file and was stopped */
  DECODER_OUT_OF_MEMORY: 422,
} as const;

export type ImageErrorCode = keyof typeof IMAGE_ERROR_STATUS;

export class ImageError extends AppError {
  declare readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    // Bad input stays bad: retrying the same bytes can never succeed.
    super(code, message, IMAGE_ERROR_STATUS[code], false, { details, ...(options?.cause === undefined ? {} : { cause: options.cause }) });
  }
}

export function isImageError(err: unknown): err is ImageError {
  return err instanceof ImageError;
}

/** Message of an unknown thrown value (dicom-parser throws strings and plain objects). */
export function describeThrown(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  if (err && typeof err === "object" && "exception" in err) return describeThrown((err as { exception: unknown }).exception);
  return String(err);
}
