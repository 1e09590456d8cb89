// Hostile images made in code (no binaries in the repository), shared by the upload tests and the adversarial
// suite: small on the wire, costly inside.
import zlib from "node:zlib";
import { ihdr, makeDicom, monoImage, pngChunk, PNG_SIGNATURE, type DicomElement } from "./helpers.ts";

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
