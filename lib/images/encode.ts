import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { PNG } = require("pngjs") as typeof import("pngjs");

/** Encodes an 8-bit grayscale image as a PNG (colour type 0, bit depth 8). */
export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Buffer {
  if (pixels.length !== width * height) throw new Error(`encodeGrayPng: ${pixels.length} pixels for ${width}×${height}`);
  // With input and output colour type both 0 (gray) at 8 bits pngjs takes the samples as they are.
  const data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write({ width, height, data } as never, {
    colorType: 0,
    inputColorType: 0,
    inputHasAlpha: false,
    bitDepth: 8,
    deflateLevel: 6,
  });
}

/**
 * The analysis copy of an 8-bit grayscale image: binary PGM (Netpbm P5, maxval 255), a 15-odd-byte header and then
 * the samples as they are. The worker reads it instead of the display PNG: the same pixels with nothing to inflate
 * or unfilter (decoding a 1024² display PNG cost the worker 12 ms a film, 7x the contract's preprocessing).
 */
export function encodeGrayPgm(pixels: Uint8Array, width: number, height: number): Buffer {
  if (pixels.length !== width * height) throw new Error(`encodeGrayPgm: ${pixels.length} pixels for ${width}×${height}`);
  // padded with spaces (whitespace between fields is free in PGM) to a multiple of 8 bytes, so that the samples of a
  // file read into its own buffer start on a word boundary: the worker's preprocessing reads four pixels at a time
  const fields = `${width} ${height}\n255\n`;
  const header = Buffer.from(`P5\n${" ".repeat((8 - ((3 + fields.length) % 8)) % 8)}${fields}`, "ascii");
  const out = Buffer.allocUnsafe(header.length + pixels.length);
  header.copy(out, 0);
  out.set(pixels, header.length);
  return out;
}
