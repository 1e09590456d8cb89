// Hostile files, made in code (no binaries in the repository): small on the wire, costly or broken inside.
import { createRequire } from "node:module";
import zlib from "node:zlib";
import { bombPng, manyElementsDicom } from "../../images/hostile.ts";
import { ihdr, makeDicom, monoImage, pngChunk, PNG_SIGNATURE } from "../../images/helpers.ts";

export { bombPng, manyElementsDicom };

// jpeg-js is CommonJS (loaded as lib/images/jpeg.ts loads it)
const jpeg = createRequire(import.meta.url)("jpeg-js") as typeof import("jpeg-js");

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
