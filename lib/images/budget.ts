import { ImageError } from "./errors.ts";
import type { ImageLimits } from "./limits.ts";

/**
 * The pixel budget: how much memory a decode will need, estimated from the header before any pixel is
 * inflated, so that a file whose dimensions are inside maxPixels but whose decode would not fit in a decoder's
 * memory cap (a 310 KB PNG declaring 6000×6000 RGBA16 needed ~1.5 GB) is refused without trying.
 *
 * The per-pixel figures are peak resident bytes of decodeImage + the display PNG + hashing, measured on
 * 3000×3000 images (pngjs 7, jpeg-js 0.4) and rounded up: gray8 PNG 8.0, gray16 PNG 19.5, RGB8 PNG 19.1,
 * RGBA8 PNG 20.2, RGBA16 PNG 41.3, RGB JPEG 47.5, gray JPEG (1024² DICOM) 23, native 16-bit DICOM 8.0,
 * 8-bit DICOM 6.0. Pixel buffers live outside the V8 heap, where a worker's resourceLimits do not reach:
 * this estimate is what bounds them.
 */
const FIXED_OVERHEAD = 32 * 1024 * 1024;
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface BudgetEstimate {
  bytes: number;
  /** bytes per pixel used for the estimate (what the pixel budget divides by) */
  perPixel: number;
  /** bytes that do not scale with the pixel count (input copies, fixed overhead) */
  fixed: number;
}

function estimate(width: number, height: number, perPixel: number, fixed: number): BudgetEstimate {
  return { bytes: width * height * perPixel + fixed, perPixel, fixed };
}

/** Inflated data twice (our capped check, then pngjs), pngjs' unfiltered copy and RGBA output, gray + display. */
export function pngDecodeEstimate(
  h: { width: number; height: number; bitDepth: number; colorType: number },
  inputBytes: number,
): BudgetEstimate {
  const raw = ((PNG_CHANNELS[h.colorType] ?? 4) * h.bitDepth) / 8;
  const sample = h.bitDepth === 16 ? 2 : 1;
  return estimate(h.width, h.height, 3 * raw + 8 * sample + 4, 2 * inputBytes + FIXED_OVERHEAD);
}

/** jpeg-js keeps component planes and always outputs 3 channels; then gray + display. */
export function jpegDecodeEstimate(h: { width: number; height: number; components: number }, inputBytes: number): BudgetEstimate {
  return estimate(h.width, h.height, h.components === 1 ? 28 : 56, 2 * inputBytes + FIXED_OVERHEAD);
}

/**
 * Stored values (Int32), the display image, 16-bit samples, the display PNG; a JPEG frame adds jpeg-js' needs.
 * dataSetBytes: the parsed data set (inflated when deflated), copied once more when de-identified.
 */
export function dicomDecodeEstimate(
  h: { rows: number; columns: number; samplesPerPixel: number; jpeg: boolean },
  dataSetBytes: number,
): BudgetEstimate {
  const native = h.samplesPerPixel === 3 ? 16 : 12;
  const perPixel = h.jpeg ? native + (h.samplesPerPixel === 1 ? 28 : 56) : native;
  return estimate(h.columns, h.rows, perPixel, 2 * dataSetBytes + FIXED_OVERHEAD);
}

const mb = (bytes: number): number => Math.ceil(bytes / (1024 * 1024));

/** Refuses a decode whose estimate exceeds limits.maxDecodeBytes (no budget when unset). */
export function checkDecodeBudget(e: BudgetEstimate, width: number, height: number, limits: ImageLimits, source: string): void {
  const budget = limits.maxDecodeBytes;
  if (budget === undefined || e.bytes <= budget) return;
  const maxPixels = Math.max(0, Math.floor((budget - e.fixed) / e.perPixel));
  throw new ImageError(
    "DECODE_BUDGET_EXCEEDED",
    `${source} declares ${width}×${height} pixels, which needs about ${mb(e.bytes)} MB of memory to decode; ` +
      `an image decoder may use ${mb(budget)} MB, enough for about ${(maxPixels / 1e6).toFixed(1)} megapixels of this kind of image.`,
    { width, height, estimatedBytes: e.bytes, maxDecodeBytes: budget, maxPixels },
  );
}
