/**
 * The shapes the console works with, taken from the types `npm run codegen` generates for its own documents
 * (queries.ts → generated/operations.ts). Nothing here is written by hand: a field the console reads but does
 * not ask for, or asks for under another type, is a compile error.
 */
import type * as Op from "./generated/operations.ts";

type Item<T> = T extends readonly (infer U)[] ? U : never;
type Of<U, N extends string> = Extract<U, { __typename: N }>;

export type Role = Op.Role;
export type AnalysisTask = Op.AnalysisTask;
export type AnalysisStatus = Op.AnalysisStatus;
export type StudyStatus = Op.StudyStatus;
export type ReviewAction = Op.ReviewAction;
export type ModelStatus = Op.ModelStatus;
export type ReliabilityLevel = Op.ReliabilityLevel;

// Values of schema enums the console offers as choices; `satisfies` ties each list to the generated type.
export const ALL_TASKS = ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"] as const satisfies readonly AnalysisTask[];
export const STUDY_STATUSES = ["REGISTERED", "IN_PROGRESS", "ANALYSED", "REVIEWED"] as const satisfies readonly StudyStatus[];
// ...and fails to compile when the schema gains a value the lists lack
type Complete<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : never;
export const LISTS_ARE_COMPLETE: Complete<AnalysisTask, (typeof ALL_TASKS)[number]> &
  Complete<StudyStatus, (typeof STUDY_STATUSES)[number]> = true;

export type UserError = Item<NonNullable<Op.LoginMutation["login"]>["errors"]>;
export type Viewer = Op.ViewerFieldsFragment;
export type PageInfo = Op.StudiesQuery["studies"]["pageInfo"];

export type Study = Op.StudyFieldsFragment;
export type Patient = Study["patient"];
export type StudyDetail = NonNullable<Op.StudyQuery["study"]>;
export type ImageInfo = Item<StudyDetail["images"]>;
export type Analysis = Item<StudyDetail["analyses"]>;
export type Delivery = Item<StudyDetail["deliveries"]>;
export type Reliability = Op.ReliabilityFieldsFragment;

export type AnalysisResult = Op.ResultFieldsFragment;
export type Finding = Item<Of<AnalysisResult, "ClassificationResult">["findings"]>;
export type GroundedRegion = Item<Finding["regions"]>;
export type Box = Item<Of<AnalysisResult, "LocalizationResult">["boxes"]>;
export type Heatmap = Item<Of<AnalysisResult, "LocalizationResult">["heatmaps"]>;
export type RegionBox = Item<Of<AnalysisResult, "LocalizationResult">["regions"]>;
export type ReportSentence = Item<Of<AnalysisResult, "Report">["sentences"]>;
export type Review = Item<Of<AnalysisResult, "Report">["reviews"]>;

export type Worker = Op.WorkerFieldsFragment;
export type ModelVersion = Item<Op.ModelsQuery["models"]>;
export type RealFilmMetric = Item<ModelVersion["realFilmMetrics"]>;
export type AuditEvent = Item<Op.AuditQuery["auditEvents"]["edges"]>["node"];
