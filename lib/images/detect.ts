import { ImageError } from "./errors.ts";
import type { ImageFormat } from "./types.ts";

/**
 * Format detection by content, never by name: the filename and content type only widen what is
 * tried for headerless DICOM, whose detection is a heuristic.
 */
export type DetectedFormat =
  | { format: Exclude<ImageFormat, "DICOM"> }
  | { format: "DICOM"; layout: "part10" | "part10-no-preamble" | "legacy-implicit-le" | "legacy-explicit-le" };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length. */
const LONG_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]);
const ALL_VRS = new Set([
  ...LONG_VRS,
  "AE",
  "AS",
  "AT",
  "CS",
  "DA",
  "DS",
  "DT",
  "FD",
  "FL",
  "IS",
  "LO",
  "LT",
  "PN",
  "SH",
  "SL",
  "SS",
  "ST",
  "TM",
  "UI",
  "UL",
  "US",
]);

function startsWith(bytes: Uint8Array, sig: number[], at = 0): boolean {
  if (bytes.length < at + sig.length) return false;
  return sig.every((b, i) => bytes[at + i] === b);
}

function ascii(bytes: Uint8Array, at: number, len: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + len));
}

function looksLikeDicomHint(filenameHint?: string, contentTypeHint?: string): boolean {
  return /\.(dcm|dicom|dic)$/i.test(filenameHint ?? "") || /application\/dicom/i.test(contentTypeHint ?? "");
}

/**
 * Walks the first data elements of a stream with no preamble, as implicit or explicit VR little
 * endian. It is DICOM if several elements in a row have even-group, ascending tags and lengths
 * that stay inside the file.
 */
export function probeHeaderlessDicom(bytes: Uint8Array, explicit: boolean, allowedFirstGroups: (g: number) => boolean): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let previous = -1;
  let count = 0;
  while (count < 8) {
    if (pos === bytes.length && count >= 1) return true;
    if (pos + 8 > bytes.length) return count >= 3; // cut inside an element header: truncated
    const group = view.getUint16(pos, true);
    const element = view.getUint16(pos + 2, true);
    const tag = group * 0x10000 + element;
    if (count === 0 && !allowedFirstGroups(group)) return false;
    if (tag <= previous) return false;
    let length: number;
    let headerLength: number;
    if (explicit) {
      const vr = ascii(bytes, pos + 4, 2);
      if (!ALL_VRS.has(vr)) return false;
      if (LONG_VRS.has(vr)) {
        if (pos + 12 > bytes.length) return count >= 3;
        length = view.getUint32(pos + 8, true);
        headerLength = 12;
      } else {
        length = view.getUint16(pos + 6, true);
        headerLength = 8;
      }
    } else {
      length = view.getUint32(pos + 4, true);
      headerLength = 8;
    }
    count += 1;
    // An undefined length (sequence or encapsulated data) ends what a cheap probe can follow.
    if (length === 0xffffffff) return count >= 2;
    // Running past the end after several good elements: a truncated DICOM file, which the parser
    // will then report as corrupt rather than as an unknown format.
    if (pos + headerLength + length > bytes.length) return count > 3;
    previous = tag;
    pos += headerLength + length;
  }
  return true;
}

function describeUnknown(bytes: Uint8Array): string {
  const head = ascii(bytes, 0, Math.min(bytes.length, 16));
  if (head.startsWith("GIF87a") || head.startsWith("GIF89a")) return "a GIF image";
  if (head.startsWith("BM")) return "a BMP image";
  if (head.startsWith("II*\0") || head.startsWith("MM\0*")) return "a TIFF image";
  if (head.startsWith("RIFF") && ascii(bytes, 8, 4) === "WEBP") return "a WebP image";
  if (head.startsWith("%PDF")) return "a PDF document";
  if (startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20])) return "a JPEG 2000 image";
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return "a ZIP archive";
  const sample = bytes.subarray(0, Math.min(bytes.length, 512));
  const printable = sample.every((b) => b === 9 || b === 10 || b === 13 || (b >= 0x20 && b < 0x7f) || b >= 0x80);
  if (printable) return "text";
  return "not a recognised image";
}

export function detectFormat(bytes: Uint8Array, hints: { filenameHint?: string; contentTypeHint?: string } = {}): DetectedFormat {
  if (startsWith(bytes, PNG_SIGNATURE)) return { format: "PNG" };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { format: "JPEG" };
  if (bytes.length >= 132 && ascii(bytes, 128, 4) === "DICM") return { format: "DICOM", layout: "part10" };
  // File meta group (0002) right at the start: a Part 10 file whose preamble was stripped.
  if (probeHeaderlessDicom(bytes, true, (g) => g === 0x0002)) return { format: "DICOM", layout: "part10-no-preamble" };
  // ACR-NEMA style streams start with group 0008; with a DICOM hint accept any early group.
  const hinted = looksLikeDicomHint(hints.filenameHint, hints.contentTypeHint);
  const firstGroupOk = (g: number): boolean => (hinted ? g % 2 === 0 && g <= 0x0028 : g === 0x0008);
  if (probeHeaderlessDicom(bytes, true, firstGroupOk)) return { format: "DICOM", layout: "legacy-explicit-le" };
  if (probeHeaderlessDicom(bytes, false, firstGroupOk)) return { format: "DICOM", layout: "legacy-implicit-le" };

  const what = describeUnknown(bytes);
  throw new ImageError(
    "UNSUPPORTED_FORMAT",
    `Unsupported file type (${what}${hints.filenameHint ? `, "${hints.filenameHint}"` : ""}): upload a PNG, a JPEG or a DICOM file.`,
    { detected: what },
  );
}
