import { createHmac } from "node:crypto";
import zlib from "node:zlib";
import { ImageError } from "./errors.ts";
import { detectFormat } from "./detect.ts";
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from "./limits.ts";
import { BASIC_PROFILE_ROWS, PLATFORM_EXTRA_ROWS } from "./dicom/profile.ts";
import {
  ElementReader,
  ElementWriter,
  EXPLICIT_LE,
  IMPLICIT_LE,
  header,
  size,
  textValue,
  type Decision,
  type Encoding,
  type NewElement,
  type RawElement,
} from "./dicom/rewrite.ts";
import { TS } from "./dicom/syntax.ts";
import type { DicomMetadata } from "./types.ts";

export const BASIC_PROFILE_NAME = "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile";
const RETAIN_UIDS = "Retain UIDs Option";

/**
 * Table E.1-1 actions as carried out here. Where the table offers a choice, the platform takes the one that
 * keeps a CR/DX/SC object valid and still removes the value: "Z" (empty) for attributes that may be Type 2,
 * removal otherwise. "D" (dummy) attributes belong to IODs the platform does not ingest (RT, SR, trials):
 * they are emptied, which hides the value as well as a dummy would.
 */
type Action = "remove" | "empty" | "uid" | "walk";
const ACTIONS: ReadonlyMap<number, Action> = new Map(
  [...BASIC_PROFILE_ROWS, ...PLATFORM_EXTRA_ROWS].map((row) => {
    const [tag, code] = row.split(" ") as [string, string];
    const action: Action = code === "U" ? "uid" : code.endsWith("U*") ? "walk" : code === "X" || code === "X/D" ? "remove" : "empty";
    return [parseInt(tag, 16), action];
  }),
);

/** Names of the attributes handled, for documentation and tests ("PatientName" ...). */
export const PROFILE_ATTRIBUTES: ReadonlyArray<{ tag: string; name: string; action: string }> = [
  ...BASIC_PROFILE_ROWS,
  ...PLATFORM_EXTRA_ROWS,
].map((row) => {
  const [tag, action, name] = row.split(" ") as [string, string, string];
  return { tag: `x${tag.toLowerCase()}`, name, action };
});

/** @deprecated kept for callers of the old blanking API: the tags whose values are removed or emptied. */
export const PHI_TAGS: ReadonlyArray<{ tag: string; name: string }> = PROFILE_ATTRIBUTES.filter((a) => a.action !== "U");

const PATIENT_IDENTITY_REMOVED = 0x00120062;
const DEIDENTIFICATION_METHOD = 0x00120063;
const DEIDENTIFICATION_METHOD_CODES = 0x00120064;
const BURNED_IN_ANNOTATION = 0x00280301;

/** A UID under the 2.25 root derived from a keyed hash: stable for one key, unlinkable without it. */
export function pseudonymousUid(uid: string, key: string): string {
  const digest = createHmac("sha256", key).update(uid).digest("hex").slice(0, 32);
  return `2.25.${BigInt(`0x${digest}`).toString()}`;
}

/**
 * Metadata without the patient identifier. With remapUids, study/series/instance UIDs are replaced
 * by keyed pseudonyms (the same ones deidentifyDicom writes into the file with that key).
 */
export function deidentifyMetadata(meta: DicomMetadata, options: { remapUids?: { key: string } } = {}): DicomMetadata {
  const { patientId: _dropped, ...rest } = meta;
  const remap = options.remapUids;
  if (!remap) return rest;
  const out: DicomMetadata = { ...rest };
  if (out.studyInstanceUid) out.studyInstanceUid = pseudonymousUid(out.studyInstanceUid, remap.key);
  if (out.seriesInstanceUid) out.seriesInstanceUid = pseudonymousUid(out.seriesInstanceUid, remap.key);
  if (out.sopInstanceUid) out.sopInstanceUid = pseudonymousUid(out.sopInstanceUid, remap.key);
  return out;
}

export interface DeidentifyOptions {
  limits?: ImageLimits;
  /** Key for UID pseudonyms; without one the UIDs are kept (the profile's Retain UIDs Option). */
  uidKey?: string;
}

export interface DeidentifiedDicom {
  bytes: Uint8Array;
  /** BASIC_PROFILE_NAME, plus ", Retain UIDs Option" when no key was given */
  profile: string;
  removed: number;
  emptied: number;
  uidsReplaced: number;
  warnings: string[];
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/**
 * A copy of a DICOM file with the Basic Profile applied, at every nesting level: profile attributes removed or
 * emptied, UIDs replaced by keyed pseudonyms (the same UID gets the same pseudonym everywhere, so references stay
 * consistent), private attributes, curve data, overlay data/comments, group lengths and the preamble's content
 * removed, and Patient Identity Removed / De-identification Method added. Every other element, pixel data
 * included, is copied byte for byte. A deflated file is written inflated (Explicit VR Little Endian).
 */
export function deidentifyDicom(bytes: Uint8Array, options: DeidentifyOptions = {}): DeidentifiedDicom {
  const limits = options.limits ?? DEFAULT_IMAGE_LIMITS;
  const detected = detectFormat(bytes);
  if (detected.format !== "DICOM")
    throw new ImageError("UNSUPPORTED_FORMAT", `deidentifyDicom needs a DICOM file, not ${detected.format}.`);
  const key = options.uidKey;
  const counts = { removed: 0, emptied: 0, uidsReplaced: 0 };
  const warnings: string[] = [];

  const decide = (el: RawElement): Decision => {
    const group = el.tag >>> 16;
    const element = el.tag & 0xffff;
    if (group === 0x0002) return el.tag === 0x00020003 ? uid(el) : { kind: "keep" }; // file meta: see writeFile
    const drop = (): Decision => (counts.removed++, { kind: "drop" });
    if (group % 2 === 1) return drop(); // private attributes (Retain Safe Private Option not offered)
    if (element === 0x0000) return drop(); // group lengths: retired, and wrong once anything in the group changes
    if ((group & 0xff00) === 0x5000) return drop(); // curve data
    if ((group & 0xff00) === 0x6000 && (element === 0x3000 || element === 0x4000)) return drop(); // overlay data, comments
    if (el.tag === BURNED_IN_ANNOTATION && /YES/i.test(latin1(reader.bytes.subarray(el.valueStart, el.end)))) {
      warnings.push("Burned In Annotation is YES: text in the pixels is not removed (Clean Pixel Data Option not applied)");
    }
    switch (ACTIONS.get(el.tag)) {
      case "remove":
        return drop();
      case "empty":
        counts.emptied++;
        return { kind: "empty" };
      case "uid":
        return uid(el);
      default:
        return { kind: "keep" };
    }
  };

  const uid = (el: RawElement): Decision => {
    if (key === undefined) return { kind: "keep" };
    const raw = latin1(reader.bytes.subarray(el.valueStart, el.end)).replace(/[\0 ]+$/, "");
    if (!raw) return { kind: "keep" };
    counts.uidsReplaced++;
    const mapped = raw
      .split("\\")
      .map((u) => (u.trim() ? pseudonymousUid(u.trim(), key) : u))
      .join("\\");
    return { kind: "replace", value: textValue(mapped, "UI") };
  };

  const { reader, meta, dataSet, metaStart, encoding, transferSyntaxUid } = split(bytes, detected.layout, limits);
  const writer = new ElementWriter(reader.bytes, decide);
  const out = writeFile(writer, {
    meta,
    metaStart,
    dataSet,
    encoding,
    transferSyntaxUid,
    layout: detected.layout,
    retainUids: key === undefined,
  });
  return { bytes: out, profile: key === undefined ? `${BASIC_PROFILE_NAME}, ${RETAIN_UIDS}` : BASIC_PROFILE_NAME, ...counts, warnings };
}

interface Split {
  reader: ElementReader;
  meta: RawElement[];
  metaStart: number;
  dataSet: RawElement[];
  encoding: Encoding;
  transferSyntaxUid: string;
}

/** File meta (always explicit VR LE) and the data set in its transfer syntax; a deflated data set is inflated first. */
function split(bytes: Uint8Array, layout: DicomMetadata["encoding"], limits: ImageLimits): Split {
  let reader = new ElementReader(bytes);
  if (layout === "legacy-implicit-le" || layout === "legacy-explicit-le") {
    const encoding = layout === "legacy-implicit-le" ? IMPLICIT_LE : EXPLICIT_LE;
    const ts = encoding.explicit ? TS.EXPLICIT_LE : TS.IMPLICIT_LE;
    return {
      reader,
      meta: [],
      metaStart: 0,
      dataSet: reader.elements(0, bytes.length, encoding).elements,
      encoding,
      transferSyntaxUid: ts,
    };
  }
  const metaStart = layout === "part10" ? 132 : 0;
  const { elements: meta, next } = reader.elements(metaStart, bytes.length, EXPLICIT_LE, { stop: (tag) => tag >>> 16 !== 0x0002 });
  const tsEl = meta.find((e) => e.tag === 0x00020010);
  const transferSyntaxUid = tsEl ? latin1(bytes.subarray(tsEl.valueStart, tsEl.end)).replace(/[\0 ]+$/, "") : TS.EXPLICIT_LE;
  if (transferSyntaxUid === TS.DEFLATED_EXPLICIT_LE) {
    const maxInflated = limits.maxPixels * 8 + 16 * 1024 * 1024;
    let inflated: Buffer;
    try {
      inflated = zlib.inflateRawSync(bytes.subarray(next), { maxOutputLength: maxInflated });
    } catch (err) {
      if (err instanceof RangeError)
        throw new ImageError("TOO_LARGE", `The deflated DICOM data set expands beyond ${maxInflated} bytes.`, { maxInflated });
      throw new ImageError("CORRUPT_IMAGE", "The deflated DICOM data set is not valid deflate data.");
    }
    // One buffer for both parts, so that every element's offsets refer to the same bytes.
    const joined = new Uint8Array(next + inflated.length);
    joined.set(bytes.subarray(0, next));
    joined.set(inflated, next);
    reader = new ElementReader(joined);
    return {
      reader,
      meta,
      metaStart,
      dataSet: reader.elements(next, joined.length, EXPLICIT_LE).elements,
      encoding: EXPLICIT_LE,
      transferSyntaxUid,
    };
  }
  const encoding: Encoding =
    transferSyntaxUid === TS.IMPLICIT_LE ? IMPLICIT_LE : { explicit: true, little: transferSyntaxUid !== TS.EXPLICIT_BE };
  return { reader, meta, metaStart, dataSet: reader.elements(next, bytes.length, encoding).elements, encoding, transferSyntaxUid };
}

function text(tag: number, vr: string, value: string): NewElement {
  return { tag, vr, value: textValue(value, vr) };
}

function code(value: string, meaning: string): NewElement[] {
  return [text(0x00080100, "SH", value), text(0x00080102, "SH", "DCM"), text(0x00080104, "LO", meaning)];
}

function writeFile(
  writer: ElementWriter,
  f: Omit<Split, "reader"> & { layout: DicomMetadata["encoding"]; retainUids: boolean },
): Uint8Array {
  // PS3.15 E.1.1: say that the identity was removed, and how (CID 7050 codes).
  const methods = [code("113100", "Basic Application Confidentiality Profile")];
  if (f.retainUids) methods.push(code("113110", "Retain UIDs Option"));
  const added: NewElement[] = [
    text(PATIENT_IDENTITY_REMOVED, "CS", "YES"),
    text(DEIDENTIFICATION_METHOD, "LO", f.retainUids ? "PS3.15 Basic Profile, Retain UIDs" : "PS3.15 Basic Profile"),
    { tag: DEIDENTIFICATION_METHOD_CODES, vr: "SQ", items: methods },
  ];
  const body = writer.write(f.dataSet, f.encoding, added);
  if (f.layout === "legacy-implicit-le" || f.layout === "legacy-explicit-le") return concat(body);
  // File meta: the group length is recomputed; a deflated file is written inflated, so its syntax changes.
  const metaAdded: NewElement[] =
    f.transferSyntaxUid === TS.DEFLATED_EXPLICIT_LE ? [{ tag: 0x00020010, vr: "UI", value: textValue(TS.EXPLICIT_LE, "UI") }] : [];
  const metaBody = writer.write(
    f.meta.filter((e) => e.tag !== 0x00020000),
    EXPLICIT_LE,
    metaAdded,
  );
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, size(metaBody), true);
  const meta = [header(0x00020000, "UL", 4, EXPLICIT_LE), groupLength, ...metaBody];
  // The preamble may hold application data (e.g. a TIFF header with its own tags): a fresh, empty one.
  const preamble = f.metaStart === 132 ? [new Uint8Array(128), new Uint8Array([0x44, 0x49, 0x43, 0x4d])] : [];
  return concat([...preamble, ...meta, ...body]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(size(parts));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
