import { detectFormat } from "./detect.ts";
import { checkByteSize, checkDimensions } from "./limits.ts";
import { checkDecodeBudget, jpegDecodeEstimate, pngDecodeEstimate } from "./budget.ts";
import { readPngHeader } from "./png.ts";
import { readJpegHeader } from "./jpeg.ts";
import type { DecodeOptions, ImageFormat } from "./types.ts";

/**
 * The checks that are cheap enough for the event loop, run before a file is handed to a decoder: size, format
 * by magic bytes, and for PNG and JPEG the dimensions and the pixel budget from the fixed-size header (IHDR,
 * SOFn). A refusal here costs no decoder time at all. A DICOM header is not parsed here: it can hold a million
 * elements, and parsing belongs in a decoder whose heap is capped; the decoder checks Rows/Columns before pixels.
 */
export function precheckImage(bytes: Uint8Array, options: DecodeOptions): { format: ImageFormat; width?: number; height?: number } {
  const { limits } = options;
  checkByteSize(bytes, limits);
  const detected = detectFormat(bytes, options);
  if (detected.format === "PNG") {
    const h = readPngHeader(bytes);
    checkDimensions(h.width, h.height, limits, "The PNG header");
    checkDecodeBudget(pngDecodeEstimate(h, bytes.length), h.width, h.height, limits, "The PNG header");
    return { format: "PNG", width: h.width, height: h.height };
  }
  if (detected.format === "JPEG") {
    const h = readJpegHeader(bytes);
    checkDimensions(h.width, h.height, limits, "The JPEG header");
    checkDecodeBudget(jpegDecodeEstimate(h, bytes.length), h.width, h.height, limits, "The JPEG header");
    return { format: "JPEG", width: h.width, height: h.height };
  }
  return { format: "DICOM" };
}
