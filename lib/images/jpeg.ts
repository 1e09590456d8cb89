import { createRequire } from "node:module";
import { ImageError, describeThrown } from "./errors.ts";
import { checkDimensions, type ImageLimits } from "./limits.ts";
import { checkDecodeBudget, jpegDecodeEstimate } from "./budget.ts";
import { rgbToGray } from "./gray.ts";

const require = createRequire(import.meta.url);
const jpeg = require("jpeg-js") as typeof import("jpeg-js");

export interface JpegHeader {
  width: number;
  height: number;
  precision: number;
  components: number;
  /** SOF marker number: 0 baseline, 1 extended, 2 progressive, 3 lossless, ... */
  sof: number;
}

const SOF_NAMES: Record<number, string> = {
  0: "baseline",
  1: "extended sequential",
  2: "progressive",
  3: "lossless",
  5: "differential sequential",
  6: "differential progressive",
  7: "differential lossless",
  9: "arithmetic sequential",
  10: "arithmetic progressive",
  11: "arithmetic lossless",
  13: "differential arithmetic sequential",
  14: "differential arithmetic progressive",
  15: "differential arithmetic lossless",
};

function corrupt(what: string, message: string, cause?: unknown): ImageError {
  return new ImageError("CORRUPT_IMAGE", `Corrupt ${what}: ${message}`, {}, cause === undefined ? undefined : { cause });
}

/** Walks marker segments up to the frame header (SOFn); nothing is decompressed. */
export function readJpegHeader(bytes: Uint8Array, what = "JPEG"): JpegHeader {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw corrupt(what, "no JPEG start-of-image marker.");
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) throw corrupt(what, `expected a marker at byte ${pos}.`);
    const marker = bytes[pos + 1]!;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // EOI or SOS before any frame header
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // markers without a length
      continue;
    }
    const length = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
    if (length < 2 || pos + 2 + length > bytes.length) throw corrupt(what, `the segment at byte ${pos} runs past the end of the data.`);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (length < 8) throw corrupt(what, "the frame header is too short.");
      return {
        sof: marker - 0xc0,
        precision: bytes[pos + 4]!,
        height: (bytes[pos + 5]! << 8) | bytes[pos + 6]!,
        width: (bytes[pos + 7]! << 8) | bytes[pos + 8]!,
        components: bytes[pos + 9]!,
      };
    }
    pos += 2 + length;
  }
  throw corrupt(what, "no frame header (SOF) before the image data; the file is truncated or not a JPEG.");
}

/** True when an end-of-image marker closes the stream (DICOM pads fragments with a trailing 0x00). */
function hasEndOfImage(bytes: Uint8Array): boolean {
  let end = bytes.length;
  while (end > 2 && bytes[end - 1] === 0x00) end--;
  for (let i = end - 2; i >= Math.max(2, end - 64); i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  }
  return false;
}

export interface JpegGray {
  header: JpegHeader;
  pixels: Uint8Array;
}

/**
 * Decodes an 8-bit DCT JPEG (baseline, extended or progressive) to gray. `what` names the source in
 * messages ("JPEG", "DICOM JPEG frame"). colorTransform: whether 3-component data is YCbCr.
 */
export function decodeJpegGray(bytes: Uint8Array, limits: ImageLimits, what = "JPEG", colorTransform?: boolean): JpegGray {
  const header = readJpegHeader(bytes, what);
  if (header.sof > 2) {
    throw new ImageError(
      "UNSUPPORTED_PIXEL_FORMAT",
      `${what} uses ${SOF_NAMES[header.sof] ?? `SOF${header.sof}`} coding; only baseline, extended and progressive 8-bit JPEG are supported.`,
      { sof: header.sof },
    );
  }
  if (header.precision !== 8) {
    throw new ImageError("UNSUPPORTED_PIXEL_FORMAT", `${what} has ${header.precision}-bit samples; only 8-bit JPEG is supported.`, {
      precision: header.precision,
    });
  }
  if (header.components !== 1 && header.components !== 3) {
    throw new ImageError(
      "UNSUPPORTED_PIXEL_FORMAT",
      `${what} has ${header.components} colour components; 1 (gray) or 3 (colour) are supported.`,
    );
  }
  checkDimensions(header.width, header.height, limits, `The ${what} header`);
  checkDecodeBudget(jpegDecodeEstimate(header, bytes.length), header.width, header.height, limits, `The ${what} header`);
  if (!hasEndOfImage(bytes)) throw corrupt(what, "the data is truncated (no end-of-image marker).");

  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      // undefined lets jpeg-js follow the file's JFIF/Adobe markers; DICOM states it explicitly.
      ...(colorTransform === undefined ? {} : { colorTransform }),
      maxResolutionInMP: Math.ceil(limits.maxPixels / 1e6),
      // RGB output buffer plus the decoder's component planes, with room to spare.
      maxMemoryUsageInMB: Math.ceil((limits.maxPixels * 3 * 4) / (1024 * 1024)) + 64,
    });
  } catch (err) {
    throw corrupt(what, `the compressed data could not be decoded (${describeThrown(err)}).`, err);
  }
  if (decoded.width !== header.width || decoded.height !== header.height) {
    throw corrupt(what, `decoded size ${decoded.width}×${decoded.height} differs from the header's ${header.width}×${header.height}.`);
  }
  const count = header.width * header.height;
  // jpeg-js always returns 3 channels here; for one-component JPEGs they are equal.
  const pixels = rgbToGray(decoded.data, count, 3, new Uint8Array(count), header.components === 1);
  return { header, pixels };
}
