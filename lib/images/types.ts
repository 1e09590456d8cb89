import type { ImageLimits } from "./limits.ts";

export type ImageFormat = "PNG" | "JPEG" | "DICOM";

/** DICOM attributes kept from a file. Patient name, birth date and other PHI are never read out. */
export interface DicomMetadata {
  transferSyntaxUid: string;
  /** How the file was laid out: a Part 10 file, or a legacy stream with no preamble/file meta. */
  encoding: "part10" | "part10-no-preamble" | "legacy-implicit-le" | "legacy-explicit-le";
  sopClassUid?: string;
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  modality?: string;
  bodyPartExamined?: string;
  viewPosition?: string;
  /** Listed because the gateway may match patients by it; removed by deidentifyMetadata. */
  patientId?: string;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: 0 | 1;
  numberOfFrames: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter?: number;
  windowWidth?: number;
  voiLutFunction?: string;
  /** [row spacing, column spacing] in mm, when present. */
  pixelSpacing?: [number, number];
  /** How the 8-bit display image was made, e.g. "window C=550 W=1024 LINEAR, inverted". */
  displayMapping: string;
}

export interface DecodedImage {
  format: ImageFormat;
  width: number;
  height: number;
  /** Significant bits per sample in the source (8 for ordinary PNG/JPEG, 10–16 for many DICOMs). */
  bitsStored: number;
  /** DICOM PhotometricInterpretation of the source, or the PNG/JPEG colour model in the same words. */
  photometric: string;
  /** 8-bit grayscale display image (row-major, width × height), after windowing and inversion. */
  pixels: Uint8Array;
  /**
   * Full-range grayscale samples when the source has more than 8 bits: raw stored values, not
   * windowed and not inverted (see README: signed DICOM data is offset by 2^(bitsStored-1)).
   */
  pixels16?: Uint16Array;
  dicom?: DicomMetadata;
  /** Non-fatal oddities (e.g. "frame 1 of 3 decoded"), for logs. */
  warnings: string[];
}

export interface DecodeOptions {
  filenameHint?: string;
  contentTypeHint?: string;
  limits: ImageLimits;
}
