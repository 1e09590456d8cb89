// Binary PGM (Netpbm P5): the analysis copy the gateway's ingest stores beside the display PNG (lib/images/encode.ts,
// encodeGrayPgm). The header is text, the samples follow as they are, so decoding is a view on the bytes: no inflate,
// no unfilter (the 1024² display PNGs took 12 ms each). Maxval up to 255: one byte a sample, kept as integers with
// maxValue = maxval, exactly what the PNG path yields for 8-bit gray (contract step 1: / maxValue); above 255, two
// bytes big-endian. Header comments (#) are skipped as the format allows.
import { InferenceError } from "../bundle/errors.ts";
import type { GrayImage } from "./preprocess.ts";

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;

export const isPgm = (bytes: Uint8Array) => bytes.length >= 3 && bytes[0] === 0x50 && bytes[1] === 0x35 && isSpace(bytes[2]!);

export function decodePgm(bytes: Uint8Array, maxPixels: number): GrayImage {
  const invalid = (why: string) => new InferenceError("IMAGE_INVALID", `PGM cannot be decoded: ${why}`);
  if (!isPgm(bytes)) throw invalid("not a binary PGM (P5)");
  let pos = 2;
  const field = (): number => {
    for (;;) {
      while (pos < bytes.length && isSpace(bytes[pos]!)) pos++;
      if (bytes[pos] !== 0x23) break; // '#': a comment to the end of the line
      while (pos < bytes.length && bytes[pos] !== 0x0a && bytes[pos] !== 0x0d) pos++;
    }
    let value = 0;
    let digits = 0;
    while (pos < bytes.length && bytes[pos]! >= 0x30 && bytes[pos]! <= 0x39 && digits < 10) {
      value = value * 10 + (bytes[pos]! - 0x30);
      pos++;
      digits++;
    }
    if (digits === 0 || digits === 10) throw invalid("malformed header");
    return value;
  };
  const width = field();
  const height = field();
  const maxval = field();
  // exactly one whitespace byte separates the header from the samples
  if (pos >= bytes.length || !isSpace(bytes[pos]!)) throw invalid("malformed header");
  pos++;
  if (width < 1 || height < 1 || maxval < 1 || maxval > 65535) throw invalid(`bad header values ${width}x${height}, maxval ${maxval}`);
  if (width * height > maxPixels) throw invalid(`${width}x${height} pixels, over the limit`);
  const n = width * height;
  if (maxval <= 255) {
    if (bytes.length - pos < n) throw invalid(`${bytes.length - pos} bytes of samples for ${width}x${height}`);
    // a view when the samples start on a 4-byte boundary (the ingest pads its header so), which preprocess reads four
    // pixels at a time; otherwise a copy (about 0.1 ms for 1024²)
    const aligned = (bytes.byteOffset + pos) % 4 === 0;
    const data = aligned ? new Uint8Array(bytes.buffer, bytes.byteOffset + pos, n) : Uint8Array.from(bytes.subarray(pos, pos + n));
    return { width, height, data, maxValue: maxval };
  }
  if (bytes.length - pos < 2 * n) throw invalid(`${bytes.length - pos} bytes of samples for ${width}x${height} at 16 bits`);
  const data = new Uint16Array(n);
  for (let i = 0; i < n; i++) data[i] = (bytes[pos + 2 * i]! << 8) | bytes[pos + 2 * i + 1]!;
  return { width, height, data, maxValue: maxval };
}
