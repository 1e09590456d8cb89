import { createRequire } from "node:module";
import zlib from "node:zlib";
import { ImageError, describeThrown } from "./errors.ts";
import { checkDimensions, type ImageLimits } from "./limits.ts";
import { checkDecodeBudget, pngDecodeEstimate } from "./budget.ts";
import { rgbToGray, scale16To8 } from "./gray.ts";
import type { DecodedImage } from "./types.ts";

const require = createRequire(import.meta.url);
const { PNG } = require("pngjs") as typeof import("pngjs");

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

const VALID_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const PHOTOMETRIC: Record<number, string> = { 0: "MONOCHROME2", 2: "RGB", 3: "PALETTE COLOR", 4: "MONOCHROME2", 6: "RGB" };

function corrupt(message: string, cause?: unknown): ImageError {
  return new ImageError("CORRUPT_IMAGE", `Corrupt PNG: ${message}`, {}, cause === undefined ? undefined : { cause });
}

interface Chunk {
  type: string;
  data: Uint8Array;
  /** byte range of the whole chunk (length, type, data, CRC) in the file */
  start: number;
  end: number;
}

/**
 * Chunks a PNG may have. Each becomes objects here and in pngjs; encoders write a few dozen (IDAT in 8–64 KB
 * pieces), while 32 MB of empty chunks would be 2.8 million objects on a decoder's capped heap.
 */
export const MAX_PNG_CHUNKS = 100_000;

/** Walks every chunk, checking lengths and CRCs, up to IEND. */
function readChunks(bytes: Uint8Array): Chunk[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Chunk[] = [];
  let pos = 8;
  for (;;) {
    if (pos + 12 > bytes.length) throw corrupt("the file is truncated (no IEND chunk).");
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) throw corrupt(`invalid chunk type at byte ${pos}.`);
    if (pos + 12 + length > bytes.length) throw corrupt(`the file is truncated inside the ${type} chunk.`);
    const expectedCrc = view.getUint32(pos + 8 + length);
    const actualCrc = zlib.crc32(bytes.subarray(pos + 4, pos + 8 + length));
    if (expectedCrc !== actualCrc) throw corrupt(`CRC mismatch in the ${type} chunk at byte ${pos}.`);
    if (chunks.length >= MAX_PNG_CHUNKS) {
      throw new ImageError("HEADER_TOO_LARGE", `The PNG file holds more than ${MAX_PNG_CHUNKS} chunks; encoders write a few dozen.`, {
        maxChunks: MAX_PNG_CHUNKS,
      });
    }
    chunks.push({ type, data: bytes.subarray(pos + 8, pos + 8 + length), start: pos, end: pos + 12 + length });
    pos += 12 + length;
    if (type === "IEND") return chunks;
  }
}

/** Reads and checks IHDR only: cheap enough to run before anything is decompressed. */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  if (bytes.length < 33) throw corrupt("the file is too short to hold an IHDR chunk.");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (type !== "IHDR" || view.getUint32(8) !== 13) throw corrupt("the first chunk is not a 13-byte IHDR.");
  if (view.getUint32(29) !== zlib.crc32(bytes.subarray(12, 29))) throw corrupt("CRC mismatch in the IHDR chunk.");
  const header: PngHeader = {
    width: view.getUint32(16),
    height: view.getUint32(20),
    bitDepth: bytes[24]!,
    colorType: bytes[25]!,
    interlaced: bytes[28] === 1,
  };
  if (!VALID_DEPTHS[header.colorType]?.includes(header.bitDepth)) {
    throw corrupt(`bit depth ${header.bitDepth} with colour type ${header.colorType} is not allowed by the PNG spec.`);
  }
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28]! > 1) throw corrupt("unknown compression, filter or interlace method.");
  return header;
}

/** Exact size of the filtered (inflated) image data, so inflation can be capped at it. */
function inflatedSize(h: PngHeader): number {
  const bitsPerPixel = CHANNELS[h.colorType]! * h.bitDepth;
  const rowBytes = (w: number): number => (w === 0 ? 0 : 1 + Math.ceil((w * bitsPerPixel) / 8));
  if (!h.interlaced) return rowBytes(h.width) * h.height;
  // Adam7 passes: [x0, y0, dx, dy]
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ] as const;
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((h.width - x0) / dx);
    const rows = Math.ceil((h.height - y0) / dy);
    if (w > 0 && rows > 0) total += rowBytes(w) * rows;
  }
  return total;
}

export function decodePng(bytes: Uint8Array, limits: ImageLimits): DecodedImage {
  const header = readPngHeader(bytes);
  checkDimensions(header.width, header.height, limits, "The PNG header");
  checkDecodeBudget(pngDecodeEstimate(header, bytes.length), header.width, header.height, limits, "The PNG header");
  const chunks = readChunks(bytes);
  const idat = chunks.filter((c) => c.type === "IDAT");
  if (idat.length === 0) throw corrupt("no IDAT (image data) chunk.");
  if (header.colorType === 3 && !chunks.some((c) => c.type === "PLTE")) throw corrupt("a palette image without a PLTE chunk.");

  // Inflate once with a hard cap: zlib errors become CORRUPT_IMAGE, and a stream that inflates to
  // more than the header promises is refused before pngjs (which does not cap interlaced images) sees it.
  const expected = inflatedSize(header);
  let inflated: Buffer;
  try {
    inflated = zlib.inflateSync(Buffer.concat(idat.map((c) => c.data)), { maxOutputLength: expected + 1 });
  } catch (err) {
    if (err instanceof RangeError) throw corrupt(`the image data inflates to more than the ${expected} bytes its header declares.`, err);
    throw corrupt(`the compressed image data is invalid (${describeThrown(err)}).`, err);
  }
  if (inflated.length !== expected) {
    throw corrupt(`the image data inflates to ${inflated.length} bytes; the header implies ${expected}.`);
  }

  const is16 = header.bitDepth === 16;
  // Alpha is ignored, so tRNS goes too: pngjs would otherwise zero the colour of every pixel that
  // matches the transparent key, changing the gray values.
  const trns = chunks.find((c) => c.type === "tRNS");
  const forPngjs = trns
    ? Buffer.concat([bytes.subarray(0, trns.start), bytes.subarray(trns.end)])
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let rgba: { data: ArrayLike<number> };
  try {
    rgba = PNG.sync.read(forPngjs, { skipRescale: is16 } as never);
  } catch (err) {
    throw corrupt(describeThrown(err), err);
  }
  const pixelCount = header.width * header.height;
  const grayInput = header.colorType === 0 || header.colorType === 4;
  let pixels: Uint8Array;
  let pixels16: Uint16Array | undefined;
  if (is16) {
    pixels16 = rgbToGray(rgba.data, pixelCount, 4, new Uint16Array(pixelCount), grayInput);
    pixels = scale16To8(pixels16);
  } else {
    pixels = rgbToGray(rgba.data, pixelCount, 4, new Uint8Array(pixelCount), grayInput);
  }
  const warnings: string[] = [];
  if (header.colorType === 4 || header.colorType === 6 || trns) warnings.push("alpha channel ignored");
  return {
    format: "PNG",
    width: header.width,
    height: header.height,
    bitsStored: header.bitDepth,
    photometric: PHOTOMETRIC[header.colorType]!,
    pixels,
    ...(pixels16 ? { pixels16 } : {}),
    warnings,
  };
}
