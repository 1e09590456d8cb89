import { decodeImage } from "./decode.ts";
import { deidentifyDicom, deidentifyMetadata } from "./deidentify.ts";
import { detectFormat } from "./detect.ts";
import { parseDicomBytes } from "./dicom/parse.ts";
import { encodeGrayPgm, encodeGrayPng } from "./encode.ts";
import { resolveImageLimits, type ImageLimits } from "./limits.ts";
import { sha256Hex, type ImageStore, type StoredObject } from "./store.ts";
import type { DicomMetadata, ImageFormat } from "./types.ts";

const EXT: Record<ImageFormat, string> = { PNG: "png", JPEG: "jpg", DICOM: "dcm" };
const MEDIA_TYPE: Record<ImageFormat, string> = { PNG: "image/png", JPEG: "image/jpeg", DICOM: "application/dicom" };

export interface IngestOptions {
  filenameHint?: string;
  contentTypeHint?: string;
  /**
   * DICOM only, on unless false: store a copy with the PS3.15 Basic Profile applied (deidentifyDicom) instead
   * of the bytes as uploaded, and leave patientId out of the record. The record's sha256 is then that of the
   * stored (de-identified) bytes. Whether false is allowed is the caller's policy (the gateway: a tenant setting).
   */
  deidentify?: boolean;
  /** Key for UID pseudonyms when de-identifying; without one UIDs are kept (Retain UIDs Option). */
  uidKey?: string;
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
  /**
   * The analysis copy: the display image's 8-bit pixels as binary PGM (encodeGrayPgm), which the worker reads
   * without decoding a PNG. null when the store keeps none (the PACS store).
   */
  analysisKey: string | null;
  /** false when these exact bytes had been ingested before */
  created: boolean;
  /** true when the stored original is a de-identified copy (DICOM only) */
  deidentified: boolean;
  /** the confidentiality profile applied, or null when the original is stored as uploaded */
  deidentificationProfile: string | null;
  dicom?: DicomMetadata;
  warnings: string[];
}

/**
 * The CPU-bound half of ingest (decode, de-identify, encode the display PNG, hash), with no I/O: what a decoder
 * thread runs. Every buffer in it may be transferred to another thread.
 */
export interface PreparedImage {
  format: ImageFormat;
  width: number;
  height: number;
  bitsStored: number;
  photometric: string;
  /** the bytes to store as the original (a de-identified copy for DICOM unless switched off) */
  original: Uint8Array;
  originalSha256: string;
  /** null when the upload is its own display image (an 8-bit gray PNG without alpha) */
  display: Uint8Array | null;
  displaySha256: string;
  /** the display pixels as binary PGM (the analysis copy) */
  analysis: Uint8Array;
  analysisSha256: string;
  deidentified: boolean;
  deidentificationProfile: string | null;
  dicom?: DicomMetadata;
  warnings: string[];
}

export function prepareImage(bytes: Uint8Array, limits: Partial<ImageLimits> = {}, options: IngestOptions = {}): PreparedImage {
  const resolved = resolveImageLimits(limits);
  const image = decodeImage(bytes, { limits: resolved, ...hints(options) });
  // An 8-bit grayscale PNG without alpha already is its own display image: store it once.
  const isOwnDisplay =
    image.format === "PNG" && image.photometric === "MONOCHROME2" && image.bitsStored === 8 && image.warnings.length === 0;
  const warnings = [...image.warnings];

  let original = bytes;
  let dicom = image.dicom;
  let profile: string | null = null;
  if (image.format === "DICOM" && options.deidentify !== false) {
    const out = deidentifyDicom(bytes, { limits: resolved, ...(options.uidKey === undefined ? {} : { uidKey: options.uidKey }) });
    checkRewritten(out.bytes, bytes, resolved);
    original = out.bytes;
    profile = out.profile;
    warnings.push(...out.warnings);
    if (dicom) dicom = deidentifyMetadata(dicom, options.uidKey === undefined ? {} : { remapUids: { key: options.uidKey } });
  }
  const display = isOwnDisplay ? null : encodeGrayPng(image.pixels, image.width, image.height);
  const analysis = encodeGrayPgm(image.pixels, image.width, image.height);
  const originalSha256 = sha256Hex(original);
  return {
    format: image.format,
    width: image.width,
    height: image.height,
    bitsStored: image.bitsStored,
    photometric: image.photometric,
    original,
    originalSha256,
    display,
    displaySha256: display ? sha256Hex(display) : originalSha256,
    analysis,
    analysisSha256: sha256Hex(analysis),
    deidentified: profile !== null,
    deidentificationProfile: profile,
    ...(dicom ? { dicom } : {}),
    warnings,
  };
}

/**
 * The de-identified copy must still be a file this platform can read, with the same pixel data: a bug in the
 * rewriter must fail the upload, not store a damaged original beside a good display image.
 */
function checkRewritten(copy: Uint8Array, original: Uint8Array, limits: ImageLimits): void {
  const pixels = (bytes: Uint8Array): number => {
    const detected = detectFormat(bytes);
    if (detected.format !== "DICOM") return -1;
    return parseDicomBytes(bytes, detected.layout, limits).dataSet.elements.x7fe00010?.length ?? -1;
  };
  if (pixels(copy) !== pixels(original)) throw new Error("de-identification changed the pixel data (a bug): upload refused");
}

/**
 * The I/O half: stores the prepared original, display PNG and analysis copy; nothing is left behind if a later
 * write fails.
 */
export async function storePrepared(p: PreparedImage, store: ImageStore): Promise<ImageRecord> {
  const stored: StoredObject = await store.put(p.original, EXT[p.format], { sha256: p.originalSha256 });
  let displayStored: StoredObject | undefined;
  let analysisStored: StoredObject | null = null;
  try {
    displayStored = p.display ? await store.put(p.display, "png", { sha256: p.displaySha256 }) : stored;
    if (store.analysisCopies !== false) analysisStored = await store.put(p.analysis, "pgm", { sha256: p.analysisSha256 });
  } catch (err) {
    if (displayStored?.created && displayStored !== stored) await store.delete(displayStored.key).catch(() => undefined);
    if (stored.created) await store.delete(stored.key).catch(() => undefined);
    throw err;
  }
  return record(p, stored, displayStored, analysisStored);
}

function record(p: PreparedImage, stored: StoredObject, displayStored: StoredObject, analysisStored: StoredObject | null): ImageRecord {
  return {
    sha256: stored.sha256,
    format: p.format,
    mediaType: MEDIA_TYPE[p.format],
    width: p.width,
    height: p.height,
    bytes: p.original.length,
    bitsStored: p.bitsStored,
    photometric: p.photometric,
    originalKey: stored.key,
    displayKey: displayStored.key,
    displaySha256: displayStored.sha256,
    displayBytes: displayStored.bytes,
    analysisKey: analysisStored?.key ?? null,
    created: stored.created,
    deidentified: p.deidentified,
    deidentificationProfile: p.deidentificationProfile,
    ...(p.dicom ? { dicom: p.dicom } : {}),
    warnings: p.warnings,
  };
}

/**
 * Validates and decodes an upload in this thread, then stores the original and the derived display PNG.
 * Nothing is written unless decoding succeeded. A server should use the decoder pool (pool/decode-pool.ts),
 * which runs prepareImage on worker threads with a memory cap.
 */
export async function ingestImage(
  bytes: Uint8Array,
  store: ImageStore,
  limits: Partial<ImageLimits> = {},
  options: IngestOptions = {},
): Promise<ImageRecord> {
  return storePrepared(prepareImage(bytes, limits, options), store);
}

function hints(options: IngestOptions): { filenameHint?: string; contentTypeHint?: string } {
  const out: { filenameHint?: string; contentTypeHint?: string } = {};
  if (options.filenameHint !== undefined) out.filenameHint = options.filenameHint;
  if (options.contentTypeHint !== undefined) out.contentTypeHint = options.contentTypeHint;
  return out;
}
