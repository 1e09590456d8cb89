/**
 * The contract's image preprocessing (docs/contracts/model-bundle.md, "Preprocessing"):
 * grayscale float64 in [0,1] → letterbox to a square (pad before = floor(pad/2)) → separable exact
 * area-average resize (rows, then columns) in float64 → (v - mean) / std → float32 NCHW [1,1,S,S].
 *
 * The letterbox square is never materialised: a 3000×2500 radiograph would need a 72 MB float64
 * canvas. Source positions outside the image contribute pad_value, term by term in the same order,
 * so the sums are those over the padded square (bit-identical to the numpy reference).
 */
import { createHash } from "node:crypto";
import { InferenceError } from "../bundle/errors.ts";

/** A decoded single-channel image; values are in 0..maxValue (integers for PNG, any for RGB→gray). */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array | Uint16Array | Float32Array | Float64Array;
  maxValue: number;
}

export interface PreprocessConfig {
  image_size: number;
  mean: number;
  std: number;
  pad_value: number;
}

/** How model-input coordinates map back to the original image: x_orig = x_model / scale - padX. */
export interface Letterbox {
  width: number;
  height: number;
  /** image_size / long side */
  scale: number;
  /** padding added before the image, in original pixels */
  padX: number;
  padY: number;
  /** model input side (pixels) */
  size: number;
}

export interface Preprocessed {
  /** float32 NCHW [1, 1, size, size] */
  tensor: Float32Array;
  letterbox: Letterbox;
}

interface Tap {
  first: number;
  weights: Float64Array;
}

/** For each output index, the source indices it covers and their fractional weights (sum to 1). */
export function areaWeights(side: number, size: number): Tap[] {
  const s = side / size;
  const taps: Tap[] = [];
  for (let i = 0; i < size; i++) {
    const lo = i * s;
    const hi = (i + 1) * s;
    const first = Math.floor(lo);
    const last = Math.min(side, Math.ceil(hi)) - 1;
    const weights = new Float64Array(last - first + 1);
    for (let k = first; k <= last; k++) weights[k - first] = (Math.min(hi, k + 1) - Math.max(lo, k)) / s;
    taps.push({ first, weights });
  }
  return taps;
}

export function computeLetterbox(width: number, height: number, size: number): Letterbox {
  const side = Math.max(width, height);
  return {
    width,
    height,
    size,
    scale: size / side,
    padX: Math.floor((side - width) / 2),
    padY: Math.floor((side - height) / 2),
  };
}

function validate(img: GrayImage): void {
  const { width, height, data, maxValue } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InferenceError("IMAGE_INVALID", `image dimensions must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height) {
    throw new InferenceError("IMAGE_INVALID", `image data has ${data.length} values, expected ${width}x${height}=${width * height}`);
  }
  if (!(maxValue > 0) || !Number.isFinite(maxValue))
    throw new InferenceError("IMAGE_INVALID", `image maxValue must be > 0, got ${maxValue}`);
}

/**
 * v / maxValue for every value an integer image can hold, when the image has many more pixels than values: the
 * same division once per value instead of once per pixel (the values, and so the tensor, stay bit-identical).
 */
function grayTable(img: GrayImage): Float64Array | null {
  const { data, maxValue } = img;
  const values = data instanceof Uint8Array ? 256 : data instanceof Uint16Array ? 65536 : 0;
  if (values === 0 || img.width * img.height < 4 * values) return null;
  const table = new Float64Array(values);
  for (let v = 0; v < values; v++) table[v] = v / maxValue;
  return table;
}

export function preprocess(img: GrayImage, cfg: PreprocessConfig): Preprocessed {
  validate(img);
  const { width, height, data, maxValue } = img;
  const size = cfg.image_size;
  const lb = computeLetterbox(width, height, size);
  const side = Math.max(width, height);
  const taps = areaWeights(side, size);
  const pad = cfg.pad_value;

  // Pass 1 (rows): tmp[i][x] over the square's columns x; square row k = image row k - padY.
  // Terms are added in the reference order (source row ascending). With the contract's pad value 0
  // the padding terms are exact zeros that leave every sum unchanged, so they are skipped.
  const tmp = new Float64Array(size * side);
  const gray = new Float64Array(width);
  let grayRow = -1;
  const table = grayTable(img);
  // 8-bit samples: w * (v / maxValue) for all 256 values of each distinct weight, the same products the loop
  // below would compute pixel by pixel (one table when the side is a multiple of the model size)
  const weighted = table && data instanceof Uint8Array ? new Map<number, Float64Array>() : null;
  const weightedOf = (w: number) => {
    let t = weighted!.get(w);
    if (!t) {
      t = new Float64Array(256);
      for (let v = 0; v < 256; v++) t[v] = w * table![v]!;
      weighted!.set(w, t);
    }
    return t;
  };
  for (let i = 0; i < size; i++) {
    const { first, weights } = taps[i]!;
    const row = tmp.subarray(i * side, (i + 1) * side);
    if (weighted && pad === 0) {
      addRowsFused(row, lb.padX, data as Uint8Array, width, height, first - lb.padY, weights, weightedOf);
      continue;
    }
    for (let t = 0; t < weights.length; t++) {
      const w = weights[t]!;
      const y = first + t - lb.padY;
      if (y < 0 || y >= height) {
        if (pad !== 0) for (let x = 0; x < side; x++) row[x] = row[x]! + w * pad;
        continue;
      }
      if (pad !== 0) {
        for (let x = 0; x < lb.padX; x++) row[x] = row[x]! + w * pad;
        for (let x = lb.padX + width; x < side; x++) row[x] = row[x]! + w * pad;
      }
      const off = lb.padX;
      const base = y * width;
      if (weighted) {
        const wt = weightedOf(w);
        const px = data as Uint8Array;
        for (let x = 0; x < width; x++) row[off + x] = row[off + x]! + wt[px[base + x]!]!;
        continue;
      }
      if (y !== grayRow) {
        if (table) for (let x = 0; x < width; x++) gray[x] = table[data[base + x]!]!;
        else for (let x = 0; x < width; x++) gray[x] = data[base + x]! / maxValue;
        grayRow = y;
      }
      for (let x = 0; x < width; x++) row[off + x] = row[off + x]! + w * gray[x]!;
    }
  }
  // Pass 2 (columns), then normalise and cast to float32.
  const out = new Float32Array(size * size);
  for (let i = 0; i < size; i++) {
    const row = tmp.subarray(i * side, (i + 1) * side);
    for (let j = 0; j < size; j++) {
      const { first, weights } = taps[j]!;
      let acc = 0;
      for (let t = 0; t < weights.length; t++) acc += weights[t]! * row[first + t]!;
      out[i * size + j] = (acc - cfg.mean) / cfg.std;
    }
  }
  return { tensor: out, letterbox: lb };
}

const ZERO_TABLE = new Float64Array(256);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Pass 1 for 8-bit images with the contract's pad value 0: the source rows `y0 + t` of one output row, added
 * four at a time per sweep instead of one, so that each running sum is loaded and stored once per four terms.
 * The additions keep the reference order ((row + a) + b) + ..., and rows outside the image (exact zero terms)
 * are skipped as in the general loop; a short last group is filled with exact zeros (x + 0 = x for the
 * non-negative sums here), so the sums stay bit-identical.
 */
function addRowsFused(
  row: Float64Array,
  off: number,
  px: Uint8Array,
  width: number,
  height: number,
  y0: number,
  weights: Float64Array,
  weightedOf: (w: number) => Float64Array,
): void {
  const bases: number[] = [];
  const tables: Float64Array[] = [];
  for (let t = 0; t < weights.length; t++) {
    const y = y0 + t;
    if (y < 0 || y >= height) continue;
    bases.push(y * width);
    tables.push(weightedOf(weights[t]!));
  }
  while (bases.length % 4 !== 0) {
    bases.push(bases[0] ?? 0);
    tables.push(ZERO_TABLE);
  }
  // four pixels per 32-bit load when every row starts on a 4-byte boundary (little-endian: pixel x is byte x % 4)
  const words =
    LITTLE_ENDIAN && width % 4 === 0 && px.byteOffset % 4 === 0 ? new Uint32Array(px.buffer, px.byteOffset, px.length >> 2) : null;
  for (let g = 0; g < bases.length; g += 4) {
    const [b0, b1, b2, b3] = [bases[g]!, bases[g + 1]!, bases[g + 2]!, bases[g + 3]!];
    const [t0, t1, t2, t3] = [tables[g]!, tables[g + 1]!, tables[g + 2]!, tables[g + 3]!];
    if (words) {
      const [q0, q1, q2, q3] = [b0 >> 2, b1 >> 2, b2 >> 2, b3 >> 2];
      for (let q = 0; q < width >> 2; q++) {
        const a = words[q0 + q]!;
        const b = words[q1 + q]!;
        const c = words[q2 + q]!;
        const d = words[q3 + q]!;
        const o = off + 4 * q;
        row[o] = row[o]! + t0[a & 255]! + t1[b & 255]! + t2[c & 255]! + t3[d & 255]!;
        row[o + 1] = row[o + 1]! + t0[(a >>> 8) & 255]! + t1[(b >>> 8) & 255]! + t2[(c >>> 8) & 255]! + t3[(d >>> 8) & 255]!;
        row[o + 2] = row[o + 2]! + t0[(a >>> 16) & 255]! + t1[(b >>> 16) & 255]! + t2[(c >>> 16) & 255]! + t3[(d >>> 16) & 255]!;
        row[o + 3] = row[o + 3]! + t0[a >>> 24]! + t1[b >>> 24]! + t2[c >>> 24]! + t3[d >>> 24]!;
      }
      continue;
    }
    for (let x = 0; x < width; x++) {
      let acc = row[off + x]!;
      acc += t0[px[b0 + x]!]!;
      acc += t1[px[b1 + x]!]!;
      acc += t2[px[b2 + x]!]!;
      acc += t3[px[b3 + x]!]!;
      row[off + x] = acc;
    }
  }
}

/** sha256 of the tensor's float32 little-endian bytes (what golden.json records). */
export function tensorSha256(t: Float32Array): string {
  const bytes = new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("big-endian hosts are not supported");
  return createHash("sha256").update(bytes).digest("hex");
}

/** Model-input pixel coordinates → original image pixels, clipped to the image. */
export function toImagePixels(lb: Letterbox, xModel: number, yModel: number): [number, number] {
  const x = xModel / lb.scale - lb.padX;
  const y = yModel / lb.scale - lb.padY;
  return [Math.min(Math.max(x, 0), lb.width), Math.min(Math.max(y, 0), lb.height)];
}
