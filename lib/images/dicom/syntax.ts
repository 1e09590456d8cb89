/** Transfer syntaxes: which ones this module can read and how their pixel data is laid out. */

export const TS = {
  IMPLICIT_LE: "1.2.840.10008.1.2",
  EXPLICIT_LE: "1.2.840.10008.1.2.1",
  DEFLATED_EXPLICIT_LE: "1.2.840.10008.1.2.1.99",
  EXPLICIT_BE: "1.2.840.10008.1.2.2",
  JPEG_BASELINE: "1.2.840.10008.1.2.4.50",
} as const;

export type PixelEncoding = "native-le" | "native-be" | "jpeg-baseline";

const SUPPORTED: Record<string, PixelEncoding> = {
  [TS.IMPLICIT_LE]: "native-le",
  [TS.EXPLICIT_LE]: "native-le",
  [TS.DEFLATED_EXPLICIT_LE]: "native-le",
  [TS.EXPLICIT_BE]: "native-be",
  [TS.JPEG_BASELINE]: "jpeg-baseline",
};

/** Names for the error message when an upload uses a syntax we cannot decode. */
const KNOWN_NAMES: Record<string, string> = {
  "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
  "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
  "1.2.840.10008.1.2.4.70": "JPEG Lossless, First-Order Prediction (Process 14, SV1)",
  "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
  "1.2.840.10008.1.2.4.81": "JPEG-LS Near-Lossless",
  "1.2.840.10008.1.2.4.90": "JPEG 2000 (Lossless Only)",
  "1.2.840.10008.1.2.4.91": "JPEG 2000",
  "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 (Lossless Only)",
  "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)",
  "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
  "1.2.840.10008.1.2.5": "RLE Lossless",
  "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
  "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile",
};

export function pixelEncodingOf(transferSyntaxUid: string): PixelEncoding | undefined {
  return SUPPORTED[transferSyntaxUid];
}

export function transferSyntaxName(uid: string): string {
  return KNOWN_NAMES[uid] ?? "unknown";
}

export const SUPPORTED_TRANSFER_SYNTAXES = Object.keys(SUPPORTED);
