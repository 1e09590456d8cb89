/** Image ingest: decode and validate PNG/JPEG/DICOM uploads, store them content-addressed. */
export { decodeImage } from './decode.ts';
export { detectFormat, type DetectedFormat } from './detect.ts';
export { ingestImage, type ImageRecord, type IngestOptions } from './ingest.ts';
export { encodeGrayPng } from './encode.ts';
export { ImageError, isImageError, IMAGE_ERROR_STATUS, type ImageErrorCode } from './errors.ts';
export { imageLimitsSchema, DEFAULT_IMAGE_LIMITS, resolveImageLimits, type ImageLimits } from './limits.ts';
export {
  createLocalDiskImageStore,
  storageKey,
  parseStorageKey,
  sha256Hex,
  type ImageStore,
  type LocalDiskImageStore,
  type StoredObject,
} from './store.ts';
export { deidentifyDicom, deidentifyMetadata, pseudonymousUid, PHI_TAGS } from './deidentify.ts';
export { applyWindow, type Window, type VoiFunction } from './dicom/voi.ts';
export { SUPPORTED_TRANSFER_SYNTAXES } from './dicom/syntax.ts';
export type { DecodedImage, DecodeOptions, DicomMetadata, ImageFormat } from './types.ts';
