// The shapes resolvers pass around as GraphQL parents. They mirror the Prisma rows (structurally, so a
// Prisma row is assignable) but are declared here so that the gateway's types do not depend on the
// generated Prisma client being present when codegen runs.
import type { AnalysisStatus, AnalysisTask, Role as ApiRole, StudyStatus } from "../generated/resolvers.ts";

// Enums shared by the database and the API are spelled identically (test/core/enums.test.ts), so the rows'
// values are the generated GraphQL types and nothing translates between them.
export type Role = ApiRole;
export type DbAnalysisStatus = AnalysisStatus;
export type DbAnalysisTask = AnalysisTask;
export type DbStudyStatus = StudyStatus;

export interface TenantModel {
  id: string;
  name: string;
}

export interface ViewerModel {
  id: string;
  tenantId: string;
  email: string;
  name: string;
  role: Role;
}

export interface PatientModel {
  id: string;
  tenantId: string;
  mrn: string;
  name: string | null;
  birthYear: number | null;
  sex: string | null;
  createdAt: Date;
}

export interface StudyModel {
  id: string;
  tenantId: string;
  patientId: string;
  accession: string;
  modality: string;
  studyDate: Date | null;
  status: DbStudyStatus;
  description: string | null;
  studyInstanceUid: string | null;
  source?: "UPLOAD" | "PACS";
  sourceAet?: string | null;
  createdAt: Date;
}

export interface ImageModel {
  id: string;
  tenantId: string;
  studyId: string;
  sha256: string;
  format: "PNG" | "JPEG" | "DICOM";
  width: number;
  height: number;
  bytes: number;
  bitDepth: number;
  photometric: string | null;
  view: string | null;
  seriesInstanceUid: string | null;
  sopInstanceUid: string | null;
  storageKey: string;
  derivedPngKey: string | null;
  createdAt: Date;
}

export interface AnalysisModel {
  id: string;
  tenantId: string;
  studyId: string;
  imageId: string;
  task: DbAnalysisTask;
  question: string | null;
  status: DbAnalysisStatus;
  attempts: number;
  errorCode: string | null;
  errorMessage: string | null;
  requestedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  idempotencyKey: string;
  modelName: string | null;
  modelVersion: string | null;
  bundleSha256: string | null;
  /** the worker's reliability assessment (null until it succeeds, and for older results) */
  reliabilityLevel?: DbReliabilityLevel | null;
  reliabilityScore?: number | null;
  /** [{ code, message }] */
  reliabilityReasons?: unknown;
  frontalProbability?: number | null;
  oodDistance?: number | null;
}

export type DbReliabilityLevel = "OK" | "CAUTION" | "ABSTAIN";

/** Analysis.reliability: resolved from the analysis row's columns (graphql/reliability.ts). */
export interface ReliabilityModel {
  level: DbReliabilityLevel;
  score: number;
  reasons: { code: string; message: string }[];
  frontalProbability: number | null;
  oodDistance: number | null;
}

export interface RegionScore {
  region: string;
  score: number;
}

export interface FindingModel {
  analysisId: string;
  label: string;
  probability: number;
  rawProbability?: number | null;
  threshold: number;
  positive: boolean;
  validatedOnRealData?: boolean;
  regions: unknown;
  knowledgeSentence: string | null;
}

export interface BoxRow {
  analysisId: string;
  label: string;
  rank: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}

export interface HeatmapModel {
  analysisId: string;
  label: string;
  heatmap: unknown;
  heatmapWidth: number | null;
  heatmapHeight: number | null;
}

export interface ClassificationResultModel {
  __typename: "ClassificationResult";
  analysis: AnalysisModel;
}

export interface LocalizationResultModel {
  __typename: "LocalizationResult";
  analysis: AnalysisModel;
}

export interface SentenceRow {
  index: number;
  section: string;
  text: string;
  regions: unknown;
  labels: unknown;
  uncertain?: boolean;
  uncertainReason?: string | null;
}

export interface ReportModel {
  __typename: "Report";
  id: string;
  tenantId: string;
  analysisId: string;
  findingsText: string;
  impressionText: string;
  decoding: string;
  sentences: SentenceRow[];
}

export interface VqaAnswerModel {
  __typename: "VqaAnswer";
  analysisId: string;
  question: string;
  answer: string;
  confidence: number;
  answerType: string;
  regions: unknown;
  imageBased?: boolean;
  answeredFrom?: string;
  answeredFromFinding?: string | null;
}

export interface ReviewModel {
  id: string;
  tenantId: string;
  analysisId: string;
  reviewerId: string;
  action: "ACCEPT" | "AMEND" | "REJECT";
  amendedText: string | null;
  comment: string | null;
  createdAt: Date;
}

export interface ModelVersionModel {
  id: string;
  name: string;
  version: string;
  bundleSha256: string;
  manifest: unknown;
  metrics: unknown;
  status: "CANDIDATE" | "ACTIVE" | "RETIRED";
  trainedOn: string | null;
  createdAt: Date;
}

export interface WorkerModel {
  workerId: string;
  host: string;
  bundle: string | null;
  bundleSha256: string | null;
  status: string;
  inFlight: number;
  processed: number;
  lastSeenAt: Date;
}

export interface AuditEventModel {
  id: string;
  /** null: a platform-scope event (operators only) */
  tenantId: string | null;
  actor: string;
  action: string;
  targetType: string;
  targetId: string | null;
  at: Date;
  details: unknown;
}

/** A subscription message: the analysis row as it was when the transition was observed. */
export interface AnalysisUpdateModel {
  analysis: AnalysisModel;
  status: DbAnalysisStatus;
  at: Date;
  /** the transition's place in the log (lib/db/repositories/transitions.ts) and its client form */
  position: { txid: bigint; id: bigint };
  cursor: string;
}

/** A Delivery row (lib/db/repositories/deliveries.ts); lease and review columns stay inside. */
export type { Delivery as DeliveryModel } from "../../../../lib/db/index.ts";
