// Fast path for the images the worker actually gets: 8-bit grayscale, non-interlaced PNGs (the display PNGs the
// gateway's ingest stores). Node's native zlib + an unfilter specialised for 1 byte per pixel, instead of pngjs,
// which inflates in JavaScript and expands every pixel to RGBA (measured 2.1-2.4x faster by bench/proto, same
// pixels). Anything else - other bit depths or colour types, interlacing, damaged data - returns null and the
// caller falls back to pngjs, which also produces the error messages for invalid files.
import { inflateSync } from "node:zlib";
import type { GrayImage } from "./preprocess.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function decodeGray8Png(bytes: Uint8Array, maxPixels: number): GrayImage | null {
  if (bytes.length < 33 || SIGNATURE.some((v, i) => bytes[i] !== v)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    if (pos + 12 + len > bytes.length) return null; // truncated: let the general decoder report it
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      const [bitDepth, colorType, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (bitDepth !== 8 || colorType !== 0 || interlace !== 0) return null;
      if (width * height > maxPixels) return null; // the general decoder rejects it with the usual error
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    pos += 12 + len;
  }
  if (!width || !height || idat.length === 0) return null;
  const stride = width + 1;
  let raw: Buffer;
  try {
    // bounded output: a stream that inflates to more than the image needs is not trusted here
    raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat), { maxOutputLength: stride * height });
  } catch {
    return null; // corrupt or oversized data: the general decoder raises IMAGE_INVALID
  }
  if (raw.length < stride * height) return null;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * stride]!;
    const src = y * stride + 1;
    const dst = y * width;
    const up = dst - width; // previous output row (already unfiltered)
    switch (filter) {
      case 0:
        out.set(raw.subarray(src, src + width), dst);
        break;
      case 1: {
        let left = 0;
        for (let x = 0; x < width; x++) left = out[dst + x] = (raw[src + x]! + left) & 0xff;
        break;
      }
      case 2:
        if (y === 0) out.set(raw.subarray(src, src + width), dst);
        else for (let x = 0; x < width; x++) out[dst + x] = (raw[src + x]! + out[up + x]!) & 0xff;
        break;
      case 3:
        for (let x = 0; x < width; x++) {
          const a = x > 0 ? out[dst + x - 1]! : 0;
          const b = y > 0 ? out[up + x]! : 0;
          out[dst + x] = (raw[src + x]! + ((a + b) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let x = 0; x < width; x++) {
          const a = x > 0 ? out[dst + x - 1]! : 0;
          const b = y > 0 ? out[up + x]! : 0;
          const c = x > 0 && y > 0 ? out[up + x - 1]! : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          out[dst + x] = (raw[src + x]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
        }
        break;
      default:
        return null;
    }
  }
  return { width, height, data: out, maxValue: 255 };
}
