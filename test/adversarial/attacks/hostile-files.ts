// Hostile files, made in code (no binaries in the repository): small on the wire, costly or broken inside.
import { createRequire } from "node:module";
import zlib from "node:zlib";
import { ihdr, makeDicom, monoImage, pngChunk, PNG_SIGNATURE, type DicomElement } from "../../images/helpers.ts";

// jpeg-js is CommonJS (loaded as lib/images/jpeg.ts loads it)
const jpeg = createRequire(import.meta.url)("jpeg-js") as typeof import("jpeg-js");

/** a repeating pattern compresses well; pngjs would still unfilter every byte (4000×4000 RGBA16: ~700 MB decoded) */
export function bombPng(width: number, height: number, bitDepth: 8 | 16, seed = 0): Buffer {
  const row = 1 + (width * 4 * bitDepth) / 8;
  const raw = Buffer.alloc(row * height);
  for (let i = 0; i < raw.length; i += 7) raw[i] = (i + seed) & 0xff;
  for (let y = 0; y < height; y++) raw[y * row] = 0;
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height, bitDepth, 6),
    pngChunk("IDAT", zlib.deflateSync(raw, { level: 1 })),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** a valid header declaring width × height, with a token IDAT */
export function pngDeclaring(width: number, height: number): Buffer {
  return Buffer.concat([
    PNG_SIGNATURE,
    ihdr(width, height, 8, 0),
    pngChunk("IDAT", zlib.deflateSync(Buffer.alloc(64))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** a small PNG whose compressed pixel data is damaged (signature, IHDR and CRCs of the rest intact) */
export function corruptPng(): Buffer {
  const good = bombPng(64, 48, 8, 3);
  const bad = Buffer.from(good);
  const idat = bad.indexOf("IDAT");
  for (let i = idat + 4; i < idat + 40; i++) bad[i] = 0xff - bad[i]!;
  return bad;
}

/** a JPEG cut off after a third of its entropy-coded data, the rest replaced by noise */
export function corruptJpeg(): Buffer {
  const width = 64;
  const height = 64;
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
  const good = Buffer.from(jpeg.encode({ data, width, height }, 90).data);
  const sos = good.indexOf(Buffer.from([0xff, 0xda]));
  const cut = sos + Math.floor((good.length - sos) / 3);
  const noise = Buffer.alloc(200, 0xff);
  return Buffer.concat([good.subarray(0, cut), noise]);
}

/** a DICOM whose Rows × Columns promise far more pixels than it carries */
export function truncatedDicom(): Buffer {
  return makeDicom(monoImage({ rows: 512, columns: 512, bitsAllocated: 16, bitsStored: 12, pixelData: new Uint8Array(100) }));
}

/** 8 MB of empty private elements: hundreds of MB of parser objects if parsed naively */
export function manyElementsDicom(count = 1_000_000): Buffer {
  const extra: DicomElement[] = [];
  let group = 0x0029;
  let element = 0x1000;
  for (let i = 0; i < count; i++) {
    extra.push({ tag: (group << 16) | element, vr: "LO", value: "" });
    if (++element > 0xffff) {
      element = 0x1000;
      group += 2;
    }
  }
  return makeDicom(monoImage({ rows: 2, columns: 2, bitsAllocated: 8, bitsStored: 8, pixelData: new Uint8Array([1, 2, 3, 4]), extra }));
}
