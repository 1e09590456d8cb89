/**
 * Grayscale pipeline of PS3.3 C.11 for one stored-value range: Modality LUT (rescale slope and
 * intercept), then VOI (window, or min–max of the modality values when the file has no window),
 * then the presentation step (MONOCHROME1 is inverted so that the output is always
 * "higher = brighter"). Everything is folded into one lookup table indexed by stored value.
 */

export type VoiFunction = "LINEAR" | "LINEAR_EXACT" | "SIGMOID";

export interface Window {
  center: number;
  width: number;
  fn: VoiFunction;
}

/** VOI LUT functions of PS3.3 C.11.2.1.2, output in [yMin, yMax]. */
export function applyWindow(x: number, w: Window, yMin = 0, yMax = 255): number {
  const { center: c, width } = w;
  if (w.fn === "SIGMOID") return (yMax - yMin) / (1 + Math.exp((-4 * (x - c)) / width)) + yMin;
  if (w.fn === "LINEAR_EXACT") {
    if (x <= c - width / 2) return yMin;
    if (x > c + width / 2) return yMax;
    return ((x - c) / width + 0.5) * (yMax - yMin) + yMin;
  }
  // LINEAR (C.11.2.1.2.1); width 1 is a threshold at c - 0.5.
  if (x <= c - 0.5 - (width - 1) / 2) return yMin;
  if (x > c - 0.5 + (width - 1) / 2) return yMax;
  return ((x - (c - 0.5)) / (width - 1) + 0.5) * (yMax - yMin) + yMin;
}

export interface DisplayLutInput {
  /** Smallest and largest stored value the LUT must cover (e.g. 0..1023 or -2048..2047). */
  minStored: number;
  maxStored: number;
  slope: number;
  intercept: number;
  window?: Window | undefined;
  /** Table VOI LUT (from the VOI LUT Sequence), used when there is no window. */
  voiTable?: { firstMapped: number; data: ArrayLike<number>; bits: number } | undefined;
  /** Actual range of the stored values in this image: for the min–max fallback. */
  observedMin: number;
  observedMax: number;
  invert: boolean;
}

export interface DisplayLut {
  /** table[stored - offset] is the 8-bit display value */
  table: Uint8Array;
  offset: number;
  description: string;
}

export function buildDisplayLut(input: DisplayLutInput): DisplayLut {
  const { minStored, maxStored, slope, intercept, window, voiTable, invert } = input;
  const size = maxStored - minStored + 1;
  const table = new Uint8Array(size);
  let map: (modality: number) => number;
  let description: string;
  if (window) {
    map = (m) => applyWindow(m, window);
    description = `window C=${window.center} W=${window.width} ${window.fn}`;
  } else if (voiTable && voiTable.data.length > 0) {
    const { firstMapped, data, bits } = voiTable;
    const outMax = 2 ** bits - 1;
    map = (m) => {
      const i = Math.min(Math.max(Math.round(m) - firstMapped, 0), data.length - 1);
      return (data[i]! / outMax) * 255;
    };
    description = `VOI LUT table (${data.length} entries, ${bits} bits)`;
  } else {
    const a = input.observedMin * slope + intercept;
    const b = input.observedMax * slope + intercept;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    map = hi > lo ? (m) => ((m - lo) / (hi - lo)) * 255 : () => 0;
    description = `min-max ${lo}..${hi}`;
  }
  for (let i = 0; i < size; i++) {
    const modality = (minStored + i) * slope + intercept;
    let y = Math.round(map(modality));
    y = y < 0 ? 0 : y > 255 ? 255 : y;
    table[i] = invert ? 255 - y : y;
  }
  if (slope !== 1 || intercept !== 0) description = `rescale ${slope}x+${intercept}, ${description}`;
  if (invert) description += ", MONOCHROME1 inverted";
  return { table, offset: minStored, description };
}
