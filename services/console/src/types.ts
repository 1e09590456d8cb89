/** Client-side shapes of the GraphQL types the console reads (subset of schema.graphql). */
export type Role = "OPERATOR" | "ADMIN" | "RADIOLOGIST" | "CLINICIAN" | "AUDITOR" | "WORKER";
export type AnalysisTask = "CLASSIFICATION" | "LOCALIZATION" | "REPORT" | "VQA";
export type AnalysisStatus = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
export type StudyStatus = "REGISTERED" | "IN_PROGRESS" | "ANALYSED" | "REVIEWED";
export type ReviewAction = "ACCEPT" | "AMEND" | "REJECT";
export type ModelStatus = "CANDIDATE" | "ACTIVE" | "RETIRED";

export const ALL_TASKS: AnalysisTask[] = ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"];
export const STUDY_STATUSES: StudyStatus[] = ["REGISTERED", "IN_PROGRESS", "ANALYSED", "REVIEWED"];

export interface UserError {
  code: string;
  message: string;
  field?: string | null;
}
export interface Viewer {
  id: string;
  email: string;
  name: string;
  role: Role;
  tenant: { id: string; name: string };
}
export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Patient {
  id: string;
  externalId: string;
  displayName?: string | null;
  birthYear?: number | null;
  sex?: string | null;
}
export interface ImageInfo {
  id: string;
  format: string;
  width: number;
  height: number;
  bytes: number;
  url: string;
  bitsStored?: number | null;
  photometric?: string | null;
  viewPosition?: string | null;
  sha256: string;
}
export interface GroundedRegion {
  region: string;
  weight: number;
}
export interface Finding {
  label: string;
  probability: number;
  threshold: number;
  positive: boolean;
  regions: GroundedRegion[];
  knowledge?: string | null;
  /** the head's own probability before calibration (audit) */
  rawProbability?: number | null;
  validatedOnRealData: boolean;
}
export type ReliabilityLevel = "OK" | "CAUTION" | "ABSTAIN";
export interface Reliability {
  level: ReliabilityLevel;
  score: number;
  reasons: { code: string; message: string }[];
  frontalProbability?: number | null;
  oodDistance?: number | null;
}
export interface Box {
  label: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}
export interface Heatmap {
  label: string;
  width: number;
  height: number;
  values: number[];
}
export interface RegionBox {
  region: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}
export interface ReportSentence {
  index: number;
  section: string;
  text: string;
  regions: string[];
  labels: string[];
  uncertain: boolean;
  uncertainReason?: string | null;
}
export interface Review {
  id: string;
  action: ReviewAction;
  amendedText?: string | null;
  comment?: string | null;
  createdAt: string;
  reviewer: { id: string; name: string; email: string };
}

export type AnalysisResult =
  | { __typename: "ClassificationResult"; analysisId: string; findings: Finding[] }
  | { __typename: "LocalizationResult"; analysisId: string; boxes: Box[]; heatmaps: Heatmap[]; regions: RegionBox[] }
  | {
      __typename: "Report";
      analysisId: string /** aliased: `findings` clashes with ClassificationResult.findings */;
      findingsText: string;
      impression: string;
      decoding: string;
      sentences: ReportSentence[];
      reviews: Review[];
      reviewStatus: ReviewAction | null;
    }
  | {
      __typename: "VqaAnswer";
      analysisId: string;
      question: string;
      answer: string;
      confidence: number;
      answerType: string;
      regions: GroundedRegion[];
      imageBased: boolean;
    };

export interface Analysis {
  id: string;
  task: AnalysisTask;
  status: AnalysisStatus;
  question?: string | null;
  attempts: number;
  errorCode?: string | null;
  errorMessage?: string | null;
  requestedAt: string;
  finishedAt?: string | null;
  durationMs?: number | null;
  image?: { id: string } | null;
  model?: { name: string; version: string; bundleSha256: string } | null;
  reliability?: Reliability | null;
  result?: AnalysisResult | null;
}

export interface Study {
  id: string;
  accessionNumber?: string | null;
  description?: string | null;
  modality: string;
  studyDate?: string | null;
  status: StudyStatus;
  createdAt: string;
  patient: Patient;
}
export interface StudyDetail extends Study {
  images: ImageInfo[];
  analyses: Analysis[];
}

export interface Worker {
  id: string;
  host: string;
  status: string;
  bundleSha256?: string | null;
  modelVersion?: string | null;
  inFlight: number;
  processed: number;
  lastSeenAt: string;
  healthy: boolean;
}
export interface ModelVersion {
  id: string;
  name: string;
  version: string;
  bundleSha256: string;
  status: ModelStatus;
  trainedOn: string;
  trainingData?: "SYNTHETIC" | "REAL" | "MIXED" | null;
  calibrated: boolean;
  checksInput: boolean;
  validatedOnRealData: string[];
  metrics: unknown;
  tasks: AnalysisTask[];
  createdAt: string;
  workers: Worker[];
}
export interface AuditEvent {
  id: string;
  actor: string;
  action: string;
  targetType: string;
  targetId?: string | null;
  details: unknown;
  at: string;
}
