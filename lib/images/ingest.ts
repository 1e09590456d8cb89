import { decodeImage } from './decode.ts';
import { deidentifyDicom, deidentifyMetadata } from './deidentify.ts';
import { encodeGrayPng } from './encode.ts';
import { resolveImageLimits, type ImageLimits } from './limits.ts';
import type { ImageStore, StoredObject } from './store.ts';
import type { DicomMetadata, ImageFormat } from './types.ts';

const EXT: Record<ImageFormat, string> = { PNG: 'png', JPEG: 'jpg', DICOM: 'dcm' };
const MEDIA_TYPE: Record<ImageFormat, string> = { PNG: 'image/png', JPEG: 'image/jpeg', DICOM: 'application/dicom' };

export interface IngestOptions {
  filenameHint?: string;
  contentTypeHint?: string;
  /**
   * DICOM only: store the file with PHI_TAGS blanked (see deidentifyDicom) instead of the bytes as
   * uploaded, and leave patientId out of the record. The record's sha256 is then that of the
   * stored (de-identified) bytes.
   */
  deidentify?: boolean;
}

/** What the database row for an image needs. No pixels, no patient name or birth date. */
export interface ImageRecord {
  /** SHA-256 (hex) of the stored original, which is also its content address */
  sha256: string;
  format: ImageFormat;
  mediaType: string;
  width: number;
  height: number;
  /** size of the stored original in bytes */
  bytes: number;
  bitsStored: number;
  photometric: string;
  originalKey: string;
  /**
   * 8-bit grayscale PNG after windowing/inversion, for the model and the viewer. Equal to
   * originalKey when the upload already is an 8-bit grayscale PNG.
   */
  displayKey: string;
  displaySha256: string;
  displayBytes: number;
  /** false when these exact bytes had been ingested before */
  created: boolean;
  dicom?: DicomMetadata;
  warnings: string[];
}

/**
 * Validates and decodes an upload, then stores the original and the derived display PNG.
 * Nothing is written unless decoding succeeded; if writing the display image fails after the
 * original was newly written, the original is removed again.
 */
export async function ingestImage(
  bytes: Uint8Array,
  store: ImageStore,
  limits: Partial<ImageLimits> = {},
  options: IngestOptions = {},
): Promise<ImageRecord> {
  const resolved = resolveImageLimits(limits);
  const image = decodeImage(bytes, { limits: resolved, ...hints(options) });
  // An 8-bit grayscale PNG without alpha already is its own display image: store it once.
  const isOwnDisplay = image.format === 'PNG' && image.photometric === 'MONOCHROME2' && image.bitsStored === 8 && image.warnings.length === 0;

  let original = bytes;
  let dicom = image.dicom;
  if (options.deidentify && image.format === 'DICOM') {
    original = deidentifyDicom(bytes, resolved).bytes;
    if (dicom) dicom = deidentifyMetadata(dicom);
  }

  const stored: StoredObject = await store.put(original, EXT[image.format]);
  let displayStored: StoredObject;
  try {
    displayStored = isOwnDisplay ? stored : await store.put(encodeGrayPng(image.pixels, image.width, image.height), 'png');
  } catch (err) {
    if (stored.created) await store.delete(stored.key).catch(() => undefined);
    throw err;
  }
  return {
    sha256: stored.sha256,
    format: image.format,
    mediaType: MEDIA_TYPE[image.format],
    width: image.width,
    height: image.height,
    bytes: original.length,
    bitsStored: image.bitsStored,
    photometric: image.photometric,
    originalKey: stored.key,
    displayKey: displayStored.key,
    displaySha256: displayStored.sha256,
    displayBytes: displayStored.bytes,
    created: stored.created,
    ...(dicom ? { dicom } : {}),
    warnings: image.warnings,
  };
}

function hints(options: IngestOptions): { filenameHint?: string; contentTypeHint?: string } {
  const out: { filenameHint?: string; contentTypeHint?: string } = {};
  if (options.filenameHint !== undefined) out.filenameHint = options.filenameHint;
  if (options.contentTypeHint !== undefined) out.contentTypeHint = options.contentTypeHint;
  return out;
}
