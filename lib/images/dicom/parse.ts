import { createRequire } from "node:module";
import zlib from "node:zlib";
import type { DataSet } from "dicom-parser";
import { ImageError, describeThrown } from "../errors.ts";
import type { ImageLimits } from "../limits.ts";
import type { DicomMetadata } from "../types.ts";
import { TS } from "./syntax.ts";
import { checkHeaderCount } from "./count.ts";
import { LONG_VRS } from "./rewrite.ts";

const require = createRequire(import.meta.url);
export const dicomParser = require("dicom-parser") as typeof import("dicom-parser");

export type DicomLayout = DicomMetadata["encoding"];

export interface ParsedDicom {
  dataSet: DataSet;
  transferSyntaxUid: string;
  layout: DicomLayout;
}

/** 128 zero bytes + "DICM": turns a Part 10 stream whose preamble was stripped back into a file. */
function withSyntheticPreamble(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 132);
  out.set([0x44, 0x49, 0x43, 0x4d], 128);
  out.set(bytes, 132);
  return out;
}

/**
 * Parses the whole data set (pixel data is located, not decoded). Legacy streams without file meta
 * are parsed with the transfer syntax their layout implies; deflated data sets are inflated with a
 * cap derived from the pixel limits so that a small upload cannot expand without bound.
 */
export function parseDicomBytes(bytes: Uint8Array, layout: DicomLayout, limits: ImageLimits): ParsedDicom {
  const input = layout === "part10-no-preamble" ? withSyntheticPreamble(bytes) : bytes;
  const buffer = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const defaultSyntax = layout === "legacy-explicit-le" ? TS.EXPLICIT_LE : TS.IMPLICIT_LE;
  const maxInflated = limits.maxPixels * 8 + 16 * 1024 * 1024;
  // Refuse a header with millions of elements before dicom-parser makes objects of them (count.ts).
  const start = dataSetStart(input, layout);
  if (start) checkHeaderCount(input, start.offset, start.encoding);
  let dataSet: DataSet;
  try {
    dataSet = dicomParser.parseDicom(buffer, {
      // Only used when there is no file meta (no "DICM" at byte 128).
      TransferSyntaxUID: layout.startsWith("legacy") ? defaultSyntax : undefined,
      inflater: (arr: Uint8Array, position: number) => {
        let inflated: Buffer;
        try {
          inflated = zlib.inflateRawSync(arr.subarray(position), { maxOutputLength: maxInflated });
        } catch (err) {
          if (err instanceof RangeError) {
            throw new ImageError("TOO_LARGE", `The deflated DICOM data set expands beyond ${maxInflated} bytes.`, { maxInflated });
          }
          throw err;
        }
        checkHeaderCount(inflated, 0, { explicit: true, little: true });
        return Buffer.concat([Buffer.from(arr.subarray(0, position)), inflated]);
      },
    } as never);
  } catch (err) {
    const inner = err && typeof err === "object" && "exception" in err ? (err as { exception: unknown }).exception : err;
    if (inner instanceof ImageError) throw inner;
    throw new ImageError("CORRUPT_IMAGE", `Corrupt or truncated DICOM file: ${describeThrown(err)}`, { layout }, { cause: err });
  }
  const transferSyntaxUid = (dataSet.string("x00020010") ?? defaultSyntax).replace(/\0/g, "").trim();
  return { dataSet, transferSyntaxUid, layout };
}

/**
 * Where the data set starts and how it is encoded, from the layout or the file meta (always explicit VR LE);
 * null for a deflated data set (counted once inflated) or file meta that cannot be walked (the parser decides).
 */
export function dataSetStart(
  input: Uint8Array,
  layout: DicomLayout,
): { offset: number; encoding: { explicit: boolean; little: boolean } } | null {
  if (layout === "legacy-implicit-le") return { offset: 0, encoding: { explicit: false, little: true } };
  if (layout === "legacy-explicit-le") return { offset: 0, encoding: { explicit: true, little: true } };
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let pos = 132;
  let ts: string = TS.EXPLICIT_LE;
  while (pos + 8 <= input.length && view.getUint16(pos, true) === 0x0002) {
    const long = LONG_VRS.has(String.fromCharCode(input[pos + 4]!, input[pos + 5]!));
    const length = long ? (pos + 12 <= input.length ? view.getUint32(pos + 8, true) : 0) : view.getUint16(pos + 6, true);
    const valueStart = pos + (long ? 12 : 8);
    if (length === 0xffffffff || valueStart + length > input.length) return null;
    if (view.getUint16(pos + 2, true) === 0x0010)
      ts = Buffer.from(input.subarray(valueStart, valueStart + length))
        .toString("latin1")
        .replace(/[\0 ]+$/, "");
    pos = valueStart + length;
  }
  if (ts === TS.DEFLATED_EXPLICIT_LE) return null;
  return { offset: pos, encoding: { explicit: ts !== TS.IMPLICIT_LE, little: ts !== TS.EXPLICIT_BE } };
}

/** Trimmed string value (dicom-parser leaves NUL padding on UIDs in some files). */
export function str(ds: DataSet, tag: string, index = 0): string | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  const v = ds.string(tag, index)?.replace(/\0/g, "").trim();
  return v ? v : undefined;
}

/** Numeric value of a DS/IS string attribute, or undefined if absent or not a finite number. */
export function num(ds: DataSet, tag: string, index = 0): number | undefined {
  const s = str(ds, tag, index);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** US value that must be present (Rows, Columns, Bits Allocated ...). */
export function us(ds: DataSet, tag: string): number | undefined {
  const el = ds.elements[tag];
  if (!el || el.length < 2) return undefined;
  return ds.uint16(tag);
}
