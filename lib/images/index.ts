/** Image ingest: decode and validate PNG/JPEG/DICOM uploads, store them content-addressed. */
export { decodeImage } from "./decode.ts";
export { detectFormat, type DetectedFormat } from "./detect.ts";
export { ingestImage, prepareImage, storePrepared, type ImageRecord, type IngestOptions, type PreparedImage } from "./ingest.ts";
export { precheckImage } from "./precheck.ts";
export { checkDecodeBudget, pngDecodeEstimate, jpegDecodeEstimate, dicomDecodeEstimate, type BudgetEstimate } from "./budget.ts";
export { createDecodePool, decodeMemoryPlan, type DecodePool, type DecodePoolOptions } from "./pool/decode-pool.ts";
export {
  createWorkerPool,
  DecodeBusyError,
  DecoderUnavailableError,
  type PoolEvent,
  type PoolStats,
  type WorkerDeath,
  type WorkerPool,
  type WorkerPoolOptions,
} from "./pool/worker-pool.ts";
export { encodeGrayPgm, encodeGrayPng } from "./encode.ts";
export { ImageError, isImageError, IMAGE_ERROR_STATUS, type ImageErrorCode } from "./errors.ts";
export { imageLimitsSchema, DEFAULT_IMAGE_LIMITS, resolveImageLimits, type ImageLimits } from "./limits.ts";
export {
  createLocalDiskImageStore,
  storageKey,
  parseStorageKey,
  sha256Hex,
  type ImageStore,
  type LocalDiskImageStore,
  type StoredObject,
} from "./store.ts";
export {
  BASIC_PROFILE_NAME,
  deidentifyDicom,
  deidentifyMetadata,
  pseudonymousUid,
  PHI_TAGS,
  PROFILE_ATTRIBUTES,
  type DeidentifiedDicom,
  type DeidentifyOptions,
} from "./deidentify.ts";
export { applyWindow, type Window, type VoiFunction } from "./dicom/voi.ts";
export { SUPPORTED_TRANSFER_SYNTAXES } from "./dicom/syntax.ts";
export type { DecodedImage, DecodeOptions, DicomMetadata, ImageFormat } from "./types.ts";
