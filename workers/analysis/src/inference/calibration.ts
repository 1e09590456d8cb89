/**
 * From the classifier's probabilities (the head's, or an ensemble's combined ones: heads.ts) to the
 * probabilities the platform reports (docs/contracts/model-bundle.md, "Format version 2"): Platt scaling
 * per label, and findings derived from measured anatomy (the cardiothoracic ratio of the region head's
 * boxes) replacing the head's guess. Thresholds apply to the result. Pure arithmetic, shared by
 * classification, localization and the report's sentence marks so that all three agree on one number per label.
 */
import type { Manifest } from "../bundle/manifest.ts";
import type { CtrDerivation } from "../bundle/manifest-v2.ts";

/** The contract clamps p before the logit so that a saturated head (0 or 1) stays finite. */
export const P_CLAMP = 1e-6;

export type ProbabilitySource = "head" | "calibrated" | "derived";

export interface FinalProbability {
  label: string;
  /** what the platform reports and thresholds */
  probability: number;
  /** the classifier's output, kept for audit: the classification head's, or the ensemble's combined value */
  raw: number;
  source: ProbabilitySource;
  /** derived findings: the measured cardiothoracic ratio */
  ctr?: number;
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function logit(p: number): number {
  const q = Math.min(1 - P_CLAMP, Math.max(P_CLAMP, p));
  return Math.log(q / (1 - q));
}

/** p' = sigmoid(a * logit(p) + b) */
export const platt = (p: number, a: number, b: number) => sigmoid(a * logit(p) + b);

/**
 * Heart box width over the width of the union of the thorax boxes, from normalized xyxy boxes
 * (`region_boxes`, 4 values per region in `regions` order). null when the thorax has no width: a
 * ratio of a degenerate box would be a number that means nothing.
 */
export function cardiothoracicRatio(
  boxes: ArrayLike<number>,
  regions: readonly string[],
  d: Pick<CtrDerivation, "heart_region" | "thorax_regions">,
): number | null {
  const box = (name: string) => {
    const r = regions.indexOf(name);
    return r < 0 ? null : [boxes[r * 4]!, boxes[r * 4 + 1]!, boxes[r * 4 + 2]!, boxes[r * 4 + 3]!];
  };
  const heart = box(d.heart_region);
  const thorax = d.thorax_regions.map(box);
  if (!heart || thorax.some((b) => b === null)) return null;
  const left = Math.min(...thorax.map((b) => b![0]!));
  const right = Math.max(...thorax.map((b) => b![2]!));
  const width = right - left;
  if (!(width > 0)) return null;
  return Math.max(0, heart[2]! - heart[0]!) / width;
}

/**
 * The reported probability of every label, in manifest order. A derived finding replaces the head's
 * probability (calibration is not applied on top); when its anatomy cannot be measured it falls back
 * to the (calibrated) head rather than inventing a value.
 */
export function finalProbabilities(
  m: Pick<Manifest, "labels" | "regions" | "calibration" | "derived">,
  raw: ArrayLike<number>,
  regionBoxes: ArrayLike<number> | null,
): FinalProbability[] {
  return m.labels.map((label, k) => {
    const p = raw[k]!;
    const derived = m.derived?.[label];
    if (derived && regionBoxes) {
      const ctr = cardiothoracicRatio(regionBoxes, m.regions, derived);
      if (ctr !== null) {
        // head_weight (when fitted on real films that know the label): the ratio together with the head's own evidence
        const z = derived.a * ctr + derived.b + (derived.head_weight ?? 0) * logit(p);
        return { label, probability: sigmoid(z), raw: p, source: "derived", ctr };
      }
    }
    const c = m.calibration?.labels[label];
    if (c) return { label, probability: platt(p, c.a, c.b), raw: p, source: "calibrated" };
    return { label, probability: p, raw: p, source: "head" };
  });
}
