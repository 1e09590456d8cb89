/**
 * Stored image bytes (PGM analysis copy, PNG or JPEG) → GrayImage for preprocess().
 *
 * Contract step 1: 8-bit / 255, 16-bit PNG / 65535, RGB → 0.299 R + 0.587 G + 0.114 B. Gray PNGs
 * keep their integer samples (16-bit ones unscaled); colour images become float64 gray values with
 * maxValue 255 (or 65535). DICOM never reaches the worker: the gateway's ingest turns it into PNG.
 */
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { InferenceError } from "../bundle/errors.ts";
import { decodeGray8Png } from "./fast-png.ts";
import { decodePgm, isPgm } from "./pgm.ts";
import type { GrayImage } from "./preprocess.ts";

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const startsWith = (b: Uint8Array, magic: number[]) => magic.every((v, i) => b[i] === v);

export interface DecodeLimits {
  maxPixels: number;
}

const DEFAULT_LIMITS: DecodeLimits = { maxPixels: 50_000_000 };

function toGray(rgba: ArrayLike<number>, width: number, height: number, color: boolean, maxValue: number): GrayImage {
  const n = width * height;
  if (!color) {
    const data = maxValue > 255 ? new Uint16Array(n) : new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = rgba[4 * i]!;
    return { width, height, data, maxValue };
  }
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = 0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!;
  return { width, height, data, maxValue };
}

export function decodePng(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): GrayImage {
  return decodeGray8Png(bytes, limits.maxPixels) ?? decodePngGeneral(bytes, limits);
}

/** Every PNG type, through pngjs (the fallback of decodePng; exported so tests can compare the two). */
export function decodePngGeneral(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): GrayImage {
  let png: PNG;
  try {
    // skipRescale keeps 16-bit samples as they are (pngjs then returns a Uint16Array of RGBA).
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (e) {
    throw new InferenceError("IMAGE_INVALID", `PNG cannot be decoded: ${(e as Error).message}`, { cause: e });
  }
  const { width, height, depth, colorType } = png as PNG & { depth: number; colorType: number };
  if (width * height > limits.maxPixels) throw new InferenceError("IMAGE_INVALID", `PNG has ${width}x${height} pixels, over the limit`);
  // colorType: 0 gray, 4 gray+alpha, 2 RGB, 6 RGBA, 3 palette. Sub-8-bit gray keeps raw sample values.
  const color = colorType === 2 || colorType === 6 || colorType === 3;
  const maxValue = depth === 16 ? 65535 : colorType === 3 ? 255 : 2 ** Math.min(depth, 8) - 1;
  return toGray(png.data as unknown as ArrayLike<number>, width, height, color, maxValue);
}

export function decodeJpeg(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): GrayImage {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: limits.maxPixels / 1e6 });
  } catch (e) {
    throw new InferenceError("IMAGE_INVALID", `JPEG cannot be decoded: ${(e as Error).message}`, { cause: e });
  }
  // jpeg-js expands one-component (gray) JPEGs to R=G=B; keep those as integer gray samples.
  let color = false;
  for (let i = 0; i < img.width * img.height && !color; i++) {
    color = img.data[4 * i] !== img.data[4 * i + 1] || img.data[4 * i] !== img.data[4 * i + 2];
  }
  return toGray(img.data, img.width, img.height, color, 255);
}

/** Sniffs the format from the magic bytes. */
export function decodeImage(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): GrayImage {
  if (startsWith(bytes, PNG_MAGIC)) return decodePng(bytes, limits);
  if (startsWith(bytes, JPEG_MAGIC)) return decodeJpeg(bytes, limits);
  if (isPgm(bytes)) return decodePgm(bytes, limits.maxPixels);
  throw new InferenceError("IMAGE_INVALID", "image is neither PGM, PNG nor JPEG (DICOM must be converted by the ingest first)");
}
