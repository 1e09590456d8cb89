/** Result types of the engine's four tasks: what the worker loop stores and publishes. */
import type { ProbabilitySource } from "./calibration.ts";
import type { Letterbox } from "../image/preprocess.ts";
import type { InputMeasurements, Reliability } from "./reliability.ts";

export type { InputMeasurements, Reliability, ReliabilityCode, ReliabilityLevel, ReliabilityReason } from "./reliability.ts";
export type { ProbabilitySource } from "./calibration.ts";

/** [x1, y1, x2, y2] in original image pixels (x right, y down), clipped to the image. */
export type PixelBox = [number, number, number, number];

/** The bundle that produced a result (recorded on every result). */
export interface ModelRef {
  name: string;
  version: string;
  bundleHash: string;
  trainedOn: "synthetic" | "real" | "mixed";
}

/** One output of the image encoder for one image, batch axis kept at 1 so it can be fed back. */
export interface FeatureTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface EncodedImage {
  /** cache key: the image's content sha256 (or the tensor's, when the caller gives none) */
  key: string;
  letterbox: Letterbox;
  features: Readonly<Record<string, FeatureTensor>>;
  /** blank check and input_check outputs, measured with the encoder run (the reliability assessment's inputs) */
  input: InputMeasurements;
  /** ms spent in the encoder run that produced this (shared across the batch) */
  encodeMs: number;
  batchSize: number;
}

export interface GroundedRegion {
  region: string;
  index: number;
  /** GK attention weight of the finding's query on this region (a row sums to 1) */
  weight: number;
  /** the model's predicted box of the region, in image pixels */
  box: PixelBox;
}

export interface FindingResult {
  label: string;
  /** calibrated or derived when the bundle says so (what `threshold` applies to) */
  probability: number;
  /** the classifier's output before calibration: the classification head's, or the ensemble's combined value */
  rawProbability: number;
  probabilitySource: ProbabilitySource;
  threshold: number;
  positive: boolean;
  /** the label is in the bundle's reliability.validated_on_real */
  validatedOnRealData: boolean;
  regions: GroundedRegion[];
  /** the finding's knowledge sentence (entity query text) from the manifest */
  knowledge: string | null;
}

export interface ClassificationResult {
  task: "classification";
  model: ModelRef;
  /** of the analysed image (the same for every task on it) */
  reliability: Reliability;
  findings: FindingResult[];
}

export interface LocalizedBox {
  box: PixelBox;
  /** max heatmap probability inside the component */
  score: number;
  meanScore: number;
  /** the component's cells on the patch grid: [col0, row0, col1, row1], exclusive ends */
  cells: [number, number, number, number];
  areaFrac: number;
}

export interface Heatmap {
  /** cells per side (image_size / patch_size) */
  grid: number;
  /** row-major grid×grid probabilities, rounded to 3 decimals */
  values: number[];
  /** where the model's square input lies in image pixels (may extend past the image: letterbox) */
  extent: PixelBox;
}

export interface LocalizedFinding {
  label: string;
  /** reported (calibrated or derived) classification probability and decision (when the bundle has the classification head) */
  probability?: number;
  positive?: boolean;
  maxScore: number;
  /** the absolute heatmap threshold applied (relative_to_max: heatmap_threshold × maxScore) */
  threshold: number;
  /** one box around all cells over the threshold (the rule the model was evaluated with) */
  box: PixelBox | null;
  /** one box per 8-connected component over the threshold, best first */
  boxes: LocalizedBox[];
  heatmap: Heatmap;
}

export interface LocalizationResult {
  task: "localization";
  model: ModelRef;
  reliability: Reliability;
  thresholdMode: "absolute" | "relative_to_max";
  heatmapThreshold: number;
  findings: LocalizedFinding[];
  /** the region head's anatomical boxes (all regions, model order), in image pixels */
  regions: { region: string; box: PixelBox }[];
}

export interface SentenceLink {
  region: string;
  /** 'mention': the sentence names the region; 'finding': a finding it names was grounded there */
  via: "mention" | "finding";
  finding?: string;
  box: PixelBox;
}

/** A finding a sentence (or question) names, read with the Python labeller's rules. */
export interface MentionedLabel {
  label: string;
  status: "positive" | "negative" | "uncertain";
  /** status === 'negative' ("no pneumothorax") */
  negated: boolean;
}

export interface ReportSentence {
  text: string;
  section: "findings" | "impression" | null;
  labels: MentionedLabel[];
  regions: SentenceLink[];
  /** mentions a finding not validated on real films, or states one its probability does not support */
  uncertain: boolean;
  uncertainReason: string | null;
}

export interface ReportResult {
  task: "report";
  model: ModelRef;
  reliability: Reliability;
  text: string;
  findings: string | null;
  impression: string | null;
  sentences: ReportSentence[];
  tokenIds: number[];
  /** sum of token log-probabilities (including the end token when one was emitted) */
  logProb: number;
  /** logProb / (len + 1) ** length_penalty: what beam search maximises */
  score: number;
  decoding: { method: "greedy" | "beam"; beamSize: number; lengthPenalty: number; steps: number; finished: boolean };
}

/** Where a VQA answer came from: the VQA head, or the reported finding a presence question asks about (vqa_presence). */
export type VqaBasis = { kind: "vqa_head" } | { kind: "finding"; label: string; probability: number; threshold: number };

export interface VqaResult {
  task: "vqa";
  model: ModelRef;
  reliability: Reliability;
  question: string;
  questionType: "closed" | "open";
  answer: string;
  confidence: number;
  alternatives: { answer: string; probability: number }[];
  /** regions of the findings the question names (grounding) */
  regions: SentenceLink[];
  basis: VqaBasis;
  /** false: a blank image of the same size gets the same answer */
  imageBased: boolean;
  blankAnswer: string;
}
