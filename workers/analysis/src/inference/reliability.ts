/**
 * How far to trust the outputs on one image (docs/contracts/model-bundle.md, "Format version 2"):
 * the level, score and reasons of the contract, from the input_check graph's outputs and the blank
 * check. Pure: the engine gathers the measurements once per image (encoder.ts) and calls this.
 */
import type { Manifest } from "../bundle/manifest.ts";

export type ReliabilityLevel = "OK" | "CAUTION" | "ABSTAIN";
export type ReliabilityCode = "NOT_FRONTAL_CXR" | "BLANK_IMAGE" | "OUT_OF_DISTRIBUTION" | "NO_RELIABILITY_MODEL" | "SYNTHETIC_ONLY_MODEL";

export interface ReliabilityReason {
  code: ReliabilityCode;
  message: string;
}

export interface Reliability {
  level: ReliabilityLevel;
  /** 0..1: frontal probability × exp(-max(0, ood_distance - caution)) */
  score: number;
  reasons: ReliabilityReason[];
  frontalProbability: number | null;
  oodDistance: number | null;
}

/** What the engine measures on one preprocessed image (input_check outputs are null without that graph). */
export interface InputMeasurements {
  /** std of the model input in [0,1] pixel units (normalisation undone) */
  pixelStd: number;
  frontalProbability: number | null;
  oodDistance: number | null;
}

/**
 * Score of a bundle without a reliability model: the contract's formula has nothing to work on, and
 * neither trust (1) nor distrust (0) is measured, so the midpoint is reported with level CAUTION.
 */
export const UNKNOWN_SCORE = 0.5;

const RANK: Record<ReliabilityLevel, number> = { OK: 0, CAUTION: 1, ABSTAIN: 2 };
const f2 = (v: number) => v.toFixed(2);
const f3 = (v: number) => v.toFixed(3);

const synthetic = (m: Pick<Manifest, "trained_on">): ReliabilityReason[] =>
  m.trained_on === "synthetic"
    ? [
        {
          code: "SYNTHETIC_ONLY_MODEL",
          message: "The model was trained on synthetic images only: its outputs on real films are not validated.",
        },
      ]
    : [];

export function assessReliability(m: Pick<Manifest, "reliability" | "trained_on">, x: InputMeasurements): Reliability {
  const spec = m.reliability;
  if (!spec || x.frontalProbability === null || x.oodDistance === null) {
    return {
      level: "CAUTION",
      score: UNKNOWN_SCORE,
      reasons: [
        {
          code: "NO_RELIABILITY_MODEL",
          message:
            "This model has no input check: nothing verifies that the image is a frontal chest radiograph like the films it was trained on.",
        },
        ...synthetic(m),
      ],
      frontalProbability: x.frontalProbability,
      oodDistance: x.oodDistance,
    };
  }
  const reasons: ReliabilityReason[] = [];
  let level: ReliabilityLevel = "OK";
  const raise = (to: ReliabilityLevel, reason: ReliabilityReason) => {
    if (RANK[to] > RANK[level]) level = to;
    reasons.push(reason);
  };
  const frontal = x.frontalProbability;
  const ood = x.oodDistance;
  const { caution, abstain } = spec.ood_thresholds;
  if (x.pixelStd < spec.blank_std) {
    raise("ABSTAIN", {
      code: "BLANK_IMAGE",
      message: `The image is blank or nearly uniform (pixel spread ${f3(x.pixelStd)}, below ${f3(spec.blank_std)}).`,
    });
  }
  if (frontal < spec.frontal_threshold) {
    raise("ABSTAIN", {
      code: "NOT_FRONTAL_CXR",
      message: `The image is not read as a frontal chest radiograph (probability ${f2(frontal)}, below ${f2(spec.frontal_threshold)}).`,
    });
  }
  if (ood >= caution) {
    const hard = ood >= abstain;
    raise(hard ? "ABSTAIN" : "CAUTION", {
      code: "OUT_OF_DISTRIBUTION",
      message: `The image is unlike the films the model was trained on (distance ${f2(ood)}; caution from ${f2(caution)}, abstain from ${f2(abstain)}).`,
    });
  }
  for (const r of synthetic(m)) raise("CAUTION", r);
  const score = Math.min(1, Math.max(0, frontal * Math.exp(-Math.max(0, ood - caution))));
  return { level, score, reasons, frontalProbability: frontal, oodDistance: ood };
}

/** Population std (numpy's default) of a normalised tensor, back in [0,1] pixel units. */
export function pixelStd(tensor: ArrayLike<number>, std: number): number {
  const n = tensor.length;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += tensor[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (tensor[i]! - mean) ** 2;
  return Math.sqrt(sq / n) * std;
}
