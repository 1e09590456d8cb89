/**
 * Region boxes measured from the anatomy head's masks (docs/contracts/model-bundle.md, "anatomy_boxes").
 *
 * The region head's lung boxes were no better than one fixed box on real films, while the anatomy
 * masks match held-out JSRT/OpenIST lungs with a Dice of about 0.93. For each listed region the box
 * becomes the extent of the largest 4-connected component of its mask (probability >= threshold), in
 * grid cells over the model square; the region head's box stays where the mask is empty. The same rule
 * as training/gkmvlp/model/anatomy_boxes.py, held to it by the bundle's golden vectors.
 */
import type { AnatomyBoxes } from "../bundle/manifest-v2.ts";

/**
 * Extent [x0, y0, x1, y1] (normalised by the grid) of the largest 4-connected component of
 * `prob >= threshold` on a g × g grid starting at `offset`; on a tie in size the component whose first
 * cell comes first in row-major order. null when no cell reaches the threshold. Linear in the grid.
 */
export function maskGridBox(prob: ArrayLike<number>, offset: number, g: number, threshold: number): number[] | null {
  const n = g * g;
  const label = new Int32Array(n);
  const queue = new Int32Array(n);
  let best: number[] | null = null;
  let bestSize = 0;
  let next = 0;
  for (let start = 0; start < n; start++) {
    if (label[start] !== 0 || !(prob[offset + start]! >= threshold)) continue;
    next += 1;
    label[start] = next;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    let x0 = g;
    let y0 = g;
    let x1 = -1;
    let y1 = -1;
    while (head < tail) {
      const c = queue[head++]!;
      const y = Math.floor(c / g);
      const x = c - y * g;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      const visit = (nc: number) => {
        if (label[nc] === 0 && prob[offset + nc]! >= threshold) {
          label[nc] = next;
          queue[tail++] = nc;
        }
      };
      if (y > 0) visit(c - g);
      if (y < g - 1) visit(c + g);
      if (x > 0) visit(c - 1);
      if (x < g - 1) visit(c + 1);
    }
    if (tail > bestSize) {
      bestSize = tail;
      best = [x0 / g, y0 / g, (x1 + 1) / g, (y1 + 1) / g];
    }
  }
  return best;
}

export interface AnatomyBoxPlan {
  /** [index in anatomy.regions, index in regions] of each listed region */
  pairs: [number, number][];
  threshold: number;
  grid: number;
  channels: number;
}

export function anatomyBoxPlan(
  spec: AnatomyBoxes,
  anatomyRegions: readonly string[],
  regions: readonly string[],
  grid: number,
): AnatomyBoxPlan {
  return {
    pairs: spec.regions.map((r) => [anatomyRegions.indexOf(r), regions.indexOf(r)] as [number, number]),
    threshold: spec.threshold,
    grid,
    channels: anatomyRegions.length,
  };
}

/**
 * Overwrites, in place, the listed regions' boxes of one image (`boxes`: 4 values per region) from its
 * masks (`masks`: channels × grid × grid, anatomy.regions order, starting at `maskOffset`).
 */
export function refineRegionBoxes(boxes: Float32Array, masks: ArrayLike<number>, maskOffset: number, plan: AnatomyBoxPlan): void {
  const plane = plan.grid * plan.grid;
  for (const [a, r] of plan.pairs) {
    const box = maskGridBox(masks, maskOffset + a * plane, plan.grid, plan.threshold);
    if (box) boxes.set(box, r * 4);
  }
}
