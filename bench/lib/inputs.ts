// Bench inputs: real radiographs (NIH ChestX-ray14 PNGs from ../shared/data by default) as stored bytes, their
// sha256 (the worker's cache key) and decoded pixels. `variant(i)` makes distinct copies (one pixel changed,
// re-encoded) when a run needs more unique images than there are files: every study must miss the
// worker's encoder cache, as new images do in production.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { PNG } from "pngjs";
import { decodeImage } from "../../workers/analysis/src/image/decode.ts";
import type { GrayImage } from "../../workers/analysis/src/image/preprocess.ts";

export interface BenchImage {
  name: string;
  /** the file it was read from (variants: none) */
  file?: string;
  bytes: Buffer;
  sha256: string;
  image: GrayImage;
}

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function listImages(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export function loadImages(imagesDir: string, bundleDir: string, max: number): { images: BenchImage[]; source: string } {
  let files = listImages(imagesDir);
  let source = imagesDir;
  if (files.length === 0) {
    source = path.join(bundleDir, "golden", "images");
    files = listImages(source);
  }
  if (files.length === 0) throw new Error(`no bench images in ${imagesDir} nor in ${source}`);
  const images = files.slice(0, max).map((f) => {
    const bytes = readFileSync(f);
    return { name: path.basename(f), file: f, bytes, sha256: sha256(bytes), image: decodeImage(bytes) };
  });
  return { images, source };
}

/** A distinct 8-bit grayscale PNG derived from `base` (pixel 0 set to a value derived from `n`). */
export function variant(base: BenchImage, n: number): BenchImage {
  const { width, height, data, maxValue } = base.image;
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  const gray = Buffer.alloc(width * height);
  const scale = maxValue > 255 ? 255 / maxValue : 1;
  for (let i = 0; i < gray.length; i++) gray[i] = Math.round(Number(data[i]) * scale);
  // a short run of pixels in the top-left corner encodes n: invisible, but a new content hash
  for (let k = 0; k < 4; k++) gray[k] = (n >> (8 * k)) & 0xff;
  png.data = gray;
  const bytes = PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  return { name: `${base.name}#${n}`, bytes, sha256: sha256(bytes), image: decodeImage(bytes) };
}

/** `count` distinct images: the files first, then variants of them. */
export function uniqueImages(base: BenchImage[], count: number, offset = 0): BenchImage[] {
  const out: BenchImage[] = [];
  for (let i = 0; i < count; i++) {
    const j = offset + i;
    out.push(j < base.length ? base[j]! : variant(base[j % base.length]!, j + 1));
  }
  return out;
}
