export { BundleError, InferenceError } from "./errors.ts";
export type { BundleErrorCode, InferenceErrorCode } from "./errors.ts";
export { manifestSchema, parseManifest, requiredGraphs, GRAPH_IO, TASKS, TASK_GRAPHS, FORMAT_VERSIONS } from "./manifest.ts";
export type { Calibration, CtrDerivation, Derived, PlattParams, ReliabilitySpec } from "./manifest-v2.ts";
export type { Manifest, Task, GraphName, GraphSpec, TensorSpec } from "./manifest.ts";
export { loadBundle, DEFAULT_SESSION_OPTIONS } from "./load.ts";
export type { Bundle, SessionOptions, ExecutionProvider, GraphSession, TensorData } from "./load.ts";
export { parseVocab, SPECIAL_TOKENS } from "./vocab.ts";
