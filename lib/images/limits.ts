import { z } from "zod";
import { ImageError } from "./errors.ts";

/**
 * Upload limits. They are checked from the container header (PNG IHDR, JPEG SOF, DICOM
 * Rows/Columns) before any pixel is decompressed, so a decompression bomb costs a few bytes of
 * parsing. The process config module owns the values; this schema gives it defaults and checks.
 */
export const imageLimitsSchema = z.object({
  /** Largest accepted upload, in bytes. */
  maxBytes: z
    .number()
    .int()
    .positive()
    .default(32 * 1024 * 1024),
  maxWidth: z.number().int().positive().default(8192),
  maxHeight: z.number().int().positive().default(8192),
  /** Largest width × height. */
  maxPixels: z.number().int().positive().default(40_000_000),
  /**
   * Peak bytes one decode may allocate, estimated from the header before any pixel is inflated (see
   * budget.ts). Unset in-process; the decoder pool derives it from each worker's memory cap.
   */
  maxDecodeBytes: z.number().int().positive().optional(),
});

export type ImageLimits = z.infer<typeof imageLimitsSchema>;

export const DEFAULT_IMAGE_LIMITS: ImageLimits = Object.freeze(imageLimitsSchema.parse({}));

/** Accepts a partial override (e.g. from config) and fills the rest with defaults. */
export function resolveImageLimits(input: Partial<ImageLimits> = {}): ImageLimits {
  return imageLimitsSchema.parse(input);
}

export function checkByteSize(bytes: Uint8Array, limits: ImageLimits): void {
  if (bytes.length === 0) throw new ImageError("EMPTY_FILE", "The uploaded file is empty (0 bytes).");
  if (bytes.length > limits.maxBytes) {
    throw new ImageError("TOO_LARGE", `The file is ${bytes.length} bytes; the limit is ${limits.maxBytes} bytes.`, {
      bytes: bytes.length,
      maxBytes: limits.maxBytes,
    });
  }
}

/** Call with the dimensions the header declares, before decoding pixels. */
export function checkDimensions(width: number, height: number, limits: ImageLimits, source: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError("INVALID_DIMENSIONS", `${source} declares an image of ${width}×${height} pixels; both sides must be at least 1.`, {
      width,
      height,
    });
  }
  if (width > limits.maxWidth || height > limits.maxHeight || width * height > limits.maxPixels) {
    throw new ImageError(
      "DIMENSIONS_TOO_LARGE",
      `${source} declares ${width}×${height} pixels; the limits are ${limits.maxWidth}×${limits.maxHeight} and ${limits.maxPixels} pixels in total.`,
      { width, height, maxWidth: limits.maxWidth, maxHeight: limits.maxHeight, maxPixels: limits.maxPixels },
    );
  }
}
