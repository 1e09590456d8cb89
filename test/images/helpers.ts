/** Builders for crafted test inputs (PNG chunks, minimal DICOM files) and small assertions. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

export const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "fixtures", "images");
export const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));

// ---------- PNG ----------

export function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export function ihdr(width: number, height: number, bitDepth: number, colorType: number, interlace = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = bitDepth;
  d[9] = colorType;
  d[12] = interlace;
  return pngChunk("IHDR", d);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A non-interlaced PNG from unfiltered rows. `samples` are per-channel values in row-major order
 * (written big-endian when bitDepth is 16).
 */
export function makePng(opts: {
  width: number;
  height: number;
  bitDepth: 8 | 16;
  colorType: 0 | 2 | 3 | 4 | 6;
  samples: ArrayLike<number>;
  palette?: number[][];
}): Buffer {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[opts.colorType];
  const bytesPerSample = opts.bitDepth / 8;
  const rowBytes = opts.width * channels * bytesPerSample;
  const raw = Buffer.alloc((rowBytes + 1) * opts.height);
  for (let y = 0; y < opts.height; y++) {
    raw[y * (rowBytes + 1)] = 0; // filter: none
    for (let i = 0; i < opts.width * channels; i++) {
      const v = opts.samples[y * opts.width * channels + i]!;
      const at = y * (rowBytes + 1) + 1 + i * bytesPerSample;
      if (bytesPerSample === 2) raw.writeUInt16BE(v, at);
      else raw[at] = v;
    }
  }
  const chunks = [PNG_SIGNATURE, ihdr(opts.width, opts.height, opts.bitDepth, opts.colorType)];
  if (opts.palette) chunks.push(pngChunk("PLTE", Buffer.from(opts.palette.flat())));
  chunks.push(pngChunk("IDAT", zlib.deflateSync(raw)), pngChunk("IEND", Buffer.alloc(0)));
  return Buffer.concat(chunks);
}

/** Offset of the first chunk of a type (its length field), or -1. */
export function findChunk(png: Uint8Array, type: string): number {
  let pos = 8;
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  while (pos + 8 <= b.length) {
    if (b.toString("latin1", pos + 4, pos + 8) === type) return pos;
    pos += 12 + b.readUInt32BE(pos);
  }
  return -1;
}

// ---------- DICOM ----------

export interface DicomElement {
  tag: number; // 0xGGGGEEEE
  vr: string;
  value: string | number | number[] | Uint8Array;
}

const LONG_VRS = new Set(["OB", "OW", "OF", "SQ", "UT", "UN"]);

function encodeValue(el: DicomElement, bigEndian: boolean): Buffer {
  const { vr, value } = el;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === "string") {
    let s = Buffer.from(value, "latin1");
    if (s.length % 2) s = Buffer.concat([s, Buffer.from([vr === "UI" ? 0 : 0x20])]);
    return s;
  }
  const values = Array.isArray(value) ? value : [value];
  const size = vr === "US" || vr === "SS" ? 2 : 4;
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (vr === "US") bigEndian ? out.writeUInt16BE(v, i * 2) : out.writeUInt16LE(v, i * 2);
    else if (vr === "SS") bigEndian ? out.writeInt16BE(v, i * 2) : out.writeInt16LE(v, i * 2);
    else bigEndian ? out.writeUInt32BE(v, i * 4) : out.writeUInt32LE(v, i * 4);
  });
  return out;
}

function encodeElement(el: DicomElement, explicit: boolean, bigEndian: boolean): Buffer {
  const value = encodeValue(el, bigEndian);
  const group = el.tag >>> 16;
  const element = el.tag & 0xffff;
  const u16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    bigEndian ? b.writeUInt16BE(v) : b.writeUInt16LE(v);
    return b;
  };
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    bigEndian ? b.writeUInt32BE(v) : b.writeUInt32LE(v);
    return b;
  };
  if (!explicit) return Buffer.concat([u16(group), u16(element), u32(value.length), value]);
  if (LONG_VRS.has(el.vr))
    return Buffer.concat([u16(group), u16(element), Buffer.from(el.vr, "latin1"), Buffer.alloc(2), u32(value.length), value]);
  return Buffer.concat([u16(group), u16(element), Buffer.from(el.vr, "latin1"), u16(value.length), value]);
}

export const TS_IMPLICIT_LE = "1.2.840.10008.1.2";
export const TS_EXPLICIT_LE = "1.2.840.10008.1.2.1";
export const TS_EXPLICIT_BE = "1.2.840.10008.1.2.2";
export const TS_DEFLATED_LE = "1.2.840.10008.1.2.1.99";

/**
 * A DICOM file: Part 10 (preamble + explicit LE file meta) unless `legacy`, then the data set in
 * the transfer syntax's encoding. Elements must be given in ascending tag order.
 */
export function makeDicom(elements: DicomElement[], opts: { transferSyntax?: string; legacy?: boolean; preamble?: boolean } = {}): Buffer {
  const ts = opts.transferSyntax ?? TS_EXPLICIT_LE;
  const explicit = ts !== TS_IMPLICIT_LE;
  const bigEndian = ts === TS_EXPLICIT_BE;
  const plainBody = Buffer.concat(elements.map((e) => encodeElement(e, explicit, bigEndian)));
  const body = ts === TS_DEFLATED_LE ? zlib.deflateRawSync(plainBody) : plainBody;
  if (opts.legacy) return body;
  const metaElements = [
    encodeElement({ tag: 0x00020001, vr: "OB", value: new Uint8Array([0, 1]) }, true, false),
    encodeElement({ tag: 0x00020002, vr: "UI", value: "1.2.840.10008.5.1.4.1.1.1" }, true, false),
    encodeElement({ tag: 0x00020003, vr: "UI", value: "1.2.3.4.5.6" }, true, false),
    encodeElement({ tag: 0x00020010, vr: "UI", value: ts }, true, false),
  ];
  const metaBody = Buffer.concat(metaElements);
  const groupLength = encodeElement({ tag: 0x00020000, vr: "UL", value: metaBody.length }, true, false);
  const preamble = opts.preamble === false ? Buffer.alloc(0) : Buffer.concat([Buffer.alloc(128), Buffer.from("DICM", "latin1")]);
  return Buffer.concat([preamble, groupLength, metaBody, body]);
}

/** Image elements for a monochrome frame; `extra` elements are merged in tag order. */
export function monoImage(opts: {
  rows: number;
  columns: number;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  highBit?: number;
  signed?: boolean;
  photometric?: string;
  pixelData: Uint8Array;
  extra?: DicomElement[];
}): DicomElement[] {
  const els: DicomElement[] = [
    { tag: 0x00080016, vr: "UI", value: "1.2.840.10008.5.1.4.1.1.1" },
    { tag: 0x00080018, vr: "UI", value: "1.2.3.4.5.6" },
    { tag: 0x00080060, vr: "CS", value: "CR" },
    { tag: 0x00100010, vr: "PN", value: "Doe^Jane" },
    { tag: 0x00100020, vr: "LO", value: "PID-12345" },
    { tag: 0x00100030, vr: "DA", value: "19700101" },
    { tag: 0x0020000d, vr: "UI", value: "1.2.3.4" },
    { tag: 0x0020000e, vr: "UI", value: "1.2.3.4.5" },
    { tag: 0x00280002, vr: "US", value: 1 },
    { tag: 0x00280004, vr: "CS", value: opts.photometric ?? "MONOCHROME2" },
    { tag: 0x00280010, vr: "US", value: opts.rows },
    { tag: 0x00280011, vr: "US", value: opts.columns },
    { tag: 0x00280100, vr: "US", value: opts.bitsAllocated },
    { tag: 0x00280101, vr: "US", value: opts.bitsStored },
    { tag: 0x00280102, vr: "US", value: opts.highBit ?? opts.bitsStored - 1 },
    { tag: 0x00280103, vr: "US", value: opts.signed ? 1 : 0 },
    ...(opts.extra ?? []),
    { tag: 0x7fe00010, vr: opts.bitsAllocated === 16 ? "OW" : "OB", value: opts.pixelData },
  ];
  return els.sort((a, b) => a.tag - b.tag);
}

export function words16(values: number[], bigEndian = false): Uint8Array {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => (bigEndian ? b.writeUInt16BE(v & 0xffff, i * 2) : b.writeUInt16LE(v & 0xffff, i * 2)));
  return b;
}

// ---------- files and statistics ----------

const createdTempDirs: string[] = [];
process.on("exit", () => {
  for (const dir of createdTempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the OS temp dir, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `images-${prefix}-`));
  createdTempDirs.push(dir);
  return dir;
}

/** Every regular file under dir, relative paths, sorted. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath ?? (d as unknown as { path: string }).path, d.name)))
    .sort();
}

export function regionMean(pixels: Uint8Array, width: number, x0: number, y0: number, x1: number, y1: number): number {
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += pixels[y * width + x]!;
  return sum / ((x1 - x0) * (y1 - y0));
}
