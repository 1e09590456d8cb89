// Typed inputs of the result writers (lib/db/repositories/job-results.ts), as the worker produces them.
export interface GroundedRegion {
  region: string;
  score: number;
}

export interface FindingInput {
  label: string;
  /** the reported (calibrated or derived) probability that threshold applies to */
  probability: number;
  /** the classification head's own output */
  rawProbability?: number | null;
  threshold: number;
  /** defaults to probability >= threshold */
  positive?: boolean;
  regions: GroundedRegion[];
  topRegion?: string | null;
  knowledgeSentence?: string | null;
  /** defaults to false: nothing is validated on real films unless the bundle says so */
  validatedOnRealData?: boolean;
}

export interface BoxInput {
  label: string;
  rank?: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  heatmapKey?: string | null;
  /** row-major heatmap values (heatmapWidth x heatmapHeight) */
  heatmap?: number[] | null;
  heatmapWidth?: number | null;
  heatmapHeight?: number | null;
}

export interface ReportSentenceInput {
  index: number;
  section?: "FINDINGS" | "IMPRESSION";
  text: string;
  regions: GroundedRegion[];
  labels: string[];
  uncertain?: boolean;
  uncertainReason?: string | null;
}

export interface ReportInput {
  findingsText: string;
  impressionText: string;
  decoding: string;
  sentences: ReportSentenceInput[];
}

export interface VqaInput {
  question: string;
  answer: string;
  confidence: number;
  answerType: "CLOSED" | "OPEN";
  regions: GroundedRegion[];
  /** false when a blank image of the same size gets the same answer (default true) */
  imageBased?: boolean;
  /** "FINDING": a presence question answered from the reported finding `answeredFromFinding` (default "VQA_HEAD") */
  answeredFrom?: "VQA_HEAD" | "FINDING";
  answeredFromFinding?: string | null;
}

export type ReliabilityLevel = "OK" | "CAUTION" | "ABSTAIN";

/** The worker's reliability assessment of the analysed image (model bundle contract, format version 2). */
export interface ReliabilityInput {
  level: ReliabilityLevel;
  score: number;
  reasons: { code: string; message: string }[];
  frontalProbability: number | null;
  oodDistance: number | null;
}
