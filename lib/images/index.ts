/** Image ingest: decode and validate PNG/JPEG/DICOM uploads, store them content-addressed. */
export { decodeImage } from './decode.js';
export { detectFormat, type DetectedFormat } from './detect.js';
export { ingestImage, type ImageRecord, type IngestOptions } from './ingest.js';
export { encodeGrayPng } from './encode.js';
export { ImageError, isImageError, IMAGE_ERROR_STATUS, type ImageErrorCode } from './errors.js';
export { imageLimitsSchema, DEFAULT_IMAGE_LIMITS, resolveImageLimits, type ImageLimits } from './limits.js';
export {
  createLocalDiskImageStore,
  storageKey,
  parseStorageKey,
  sha256Hex,
  type ImageStore,
  type LocalDiskImageStore,
  type StoredObject,
} from './store.js';
export { deidentifyDicom, deidentifyMetadata, pseudonymousUid, PHI_TAGS } from './deidentify.js';
export { applyWindow, type Window, type VoiFunction } from './dicom/voi.js';
export { SUPPORTED_TRANSFER_SYNTAXES } from './dicom/syntax.js';
export type { DecodedImage, DecodeOptions, DicomMetadata, ImageFormat } from './types.js';
