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
