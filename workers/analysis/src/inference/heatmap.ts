/**
 * Heatmap → boxes: threshold the patch-grid probabilities, take 8-connected components, turn each
 * component's cell bounding box into image pixels through the inverse letterbox, score it, and
 * drop boxes that are too small (or lie entirely in the letterbox padding).
 */
import type { Letterbox } from "./preprocess.ts";
import { boxArea, modelBoxToImage } from "./geometry.ts";
import type { LocalizedBox, PixelBox } from "./types.ts";

export interface BoxOptions {
  threshold: number;
  /** minimum box area as a fraction of the image area */
  minAreaFrac: number;
  /** at most this many boxes, best first */
  maxBoxes?: number;
}

/** Labels 8-connected cells with value >= threshold; returns the cell lists of each component. */
export function connectedComponents(values: ArrayLike<number>, grid: number, threshold: number): number[][] {
  const seen = new Uint8Array(grid * grid);
  const comps: number[][] = [];
  for (let start = 0; start < grid * grid; start++) {
    if (seen[start] || !(values[start]! >= threshold)) continue;
    const cells: number[] = [];
    const stack = [start];
    seen[start] = 1;
    while (stack.length) {
      const c = stack.pop()!;
      cells.push(c);
      const r = Math.floor(c / grid);
      const col = c % grid;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr;
          const cc = col + dc;
          if (rr < 0 || cc < 0 || rr >= grid || cc >= grid) continue;
          const n = rr * grid + cc;
          if (!seen[n] && values[n]! >= threshold) {
            seen[n] = 1;
            stack.push(n);
          }
        }
      }
    }
    comps.push(cells.sort((a, b) => a - b));
  }
  return comps;
}

export function heatmapToBoxes(values: ArrayLike<number>, grid: number, lb: Letterbox, opts: BoxOptions): LocalizedBox[] {
  if (values.length !== grid * grid) throw new RangeError(`heatmap has ${values.length} values, expected ${grid}x${grid}`);
  const cell = lb.size / grid;
  const imageArea = lb.width * lb.height;
  const boxes: LocalizedBox[] = [];
  for (const cells of connectedComponents(values, grid, opts.threshold)) {
    let r0 = grid,
      c0 = grid,
      r1 = -1,
      c1 = -1,
      max = -Infinity,
      sum = 0;
    for (const c of cells) {
      const r = Math.floor(c / grid);
      const col = c % grid;
      r0 = Math.min(r0, r);
      r1 = Math.max(r1, r);
      c0 = Math.min(c0, col);
      c1 = Math.max(c1, col);
      max = Math.max(max, values[c]!);
      sum += values[c]!;
    }
    const box = modelBoxToImage(lb, c0 * cell, r0 * cell, (c1 + 1) * cell, (r1 + 1) * cell);
    const areaFrac = boxArea(box) / imageArea;
    if (areaFrac <= 0 || areaFrac < opts.minAreaFrac) continue;
    boxes.push({ box, score: max, meanScore: sum / cells.length, cells: [c0, r0, c1 + 1, r1 + 1], areaFrac });
  }
  boxes.sort((a, b) => b.score - a.score || b.areaFrac - a.areaFrac);
  return opts.maxBoxes === undefined ? boxes : boxes.slice(0, opts.maxBoxes);
}

/**
 * The single box around every cell >= threshold (training/gkmvlp/metrics/localization.py's
 * heatmap_box, the rule the model's localization metrics were measured with), in image pixels.
 */
export function extentBox(values: ArrayLike<number>, grid: number, lb: Letterbox, threshold: number): PixelBox | null {
  let r0 = grid,
    c0 = grid,
    r1 = -1,
    c1 = -1;
  for (let c = 0; c < grid * grid; c++) {
    if (!(values[c]! >= threshold)) continue;
    const r = Math.floor(c / grid);
    const col = c % grid;
    r0 = Math.min(r0, r);
    r1 = Math.max(r1, r);
    c0 = Math.min(c0, col);
    c1 = Math.max(c1, col);
  }
  if (r1 < 0) return null;
  const cell = lb.size / grid;
  return modelBoxToImage(lb, c0 * cell, r0 * cell, (c1 + 1) * cell, (r1 + 1) * cell);
}
