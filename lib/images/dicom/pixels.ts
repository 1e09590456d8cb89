import type { DataSet, Element } from "dicom-parser";
import { ImageError } from "../errors.ts";
import type { ImageLimits } from "../limits.ts";
import { decodeJpegGray } from "../jpeg.ts";
import { rgbToGray } from "../gray.ts";
import { dicomParser } from "./parse.ts";

export interface PixelLayout {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: 0 | 1;
  planarConfiguration: 0 | 1;
  photometric: string;
}

/** Monochrome stored values (masked, sign-extended), or an already-gray colour image. */
export type FrameSamples = { kind: "mono"; stored: Int32Array; min: number; max: number } | { kind: "color-gray"; gray: Uint8Array };

function truncated(message: string): ImageError {
  return new ImageError("CORRUPT_IMAGE", `Truncated DICOM file: ${message}`);
}

/** BitsStored/HighBit masking and two's-complement sign extension of one raw sample word. */
export function makeSampleDecoder(layout: PixelLayout): (raw: number) => number {
  const shift = layout.highBit - layout.bitsStored + 1;
  const mask = layout.bitsStored >= 32 ? 0xffffffff : 2 ** layout.bitsStored - 1;
  const signBit = 2 ** (layout.bitsStored - 1);
  const range = 2 ** layout.bitsStored;
  if (layout.pixelRepresentation === 1) {
    return (raw) => {
      const v = (raw >>> shift) & mask;
      return v >= signBit ? v - range : v;
    };
  }
  return (raw) => (raw >>> shift) & mask;
}

function summarise(stored: Int32Array): FrameSamples {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < stored.length; i++) {
    const v = stored[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { kind: "mono", stored, min, max };
}

/** First frame of native (uncompressed) pixel data. */
export function readNativeFrame(ds: DataSet, el: Element, layout: PixelLayout, bigEndian: boolean): FrameSamples {
  const { rows, columns, samplesPerPixel: spp, bitsAllocated } = layout;
  const bytesPerSample = bitsAllocated / 8;
  const count = rows * columns;
  const frameBytes = count * spp * bytesPerSample;
  const available = Math.min(el.length, ds.byteArray.length - el.dataOffset);
  if (available < frameBytes) {
    throw truncated(`the pixel data holds ${Math.max(available, 0)} bytes; a ${columns}×${rows} frame needs ${frameBytes}.`);
  }
  const bytes = ds.byteArray;
  const base = el.dataOffset;
  const view = new DataView(bytes.buffer, bytes.byteOffset + base, frameBytes);
  const word = bytesPerSample === 1 ? (i: number) => bytes[base + i]! : (i: number) => view.getUint16(i * 2, !bigEndian);

  if (spp === 1) {
    const decodeSample = makeSampleDecoder(layout);
    const stored = new Int32Array(count);
    for (let i = 0; i < count; i++) stored[i] = decodeSample(word(i));
    return summarise(stored);
  }
  // Colour (8-bit RGB or YBR_FULL) becomes gray; no Modality/VOI LUT applies to colour data.
  const interleaved = new Uint8Array(count * 3);
  for (let i = 0; i < count; i++) {
    for (let s = 0; s < 3; s++) {
      const idx = layout.planarConfiguration === 1 ? s * count + i : i * 3 + s;
      interleaved[i * 3 + s] = word(idx);
    }
  }
  const gray = new Uint8Array(count);
  if (layout.photometric === "YBR_FULL") {
    for (let i = 0; i < count; i++) gray[i] = interleaved[i * 3]!; // Y is the luma
  } else {
    rgbToGray(interleaved, count, 3, gray, false);
  }
  return { kind: "color-gray", gray };
}

/** First frame of JPEG Baseline encapsulated pixel data, decoded with jpeg-js. */
export function readJpegBaselineFrame(
  ds: DataSet,
  el: Element,
  layout: PixelLayout,
  numberOfFrames: number,
  limits: ImageLimits,
): FrameSamples {
  const fragments = el.fragments ?? [];
  if (!el.encapsulatedPixelData || fragments.length === 0) {
    throw new ImageError("CORRUPT_IMAGE", "The DICOM file declares JPEG Baseline but its pixel data holds no encapsulated fragments.");
  }
  let frame: Uint8Array;
  try {
    frame =
      numberOfFrames === 1
        ? dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length)
        : dicomParser.readEncapsulatedImageFrame(
            ds,
            el,
            0,
            el.basicOffsetTable?.length ? el.basicOffsetTable : dicomParser.createJPEGBasicOffsetTable(ds, el),
          );
  } catch (err) {
    throw truncated(`the encapsulated JPEG frame could not be read (${String((err as Error)?.message ?? err)}).`);
  }
  // Photometric RGB means the JPEG components are R, G, B (no YCbCr transform); YBR_* means YCbCr.
  const colorTransform = layout.samplesPerPixel === 3 ? layout.photometric !== "RGB" : undefined;
  const { header, pixels } = decodeJpegGray(frame, limits, "DICOM JPEG frame", colorTransform);
  if (header.width !== layout.columns || header.height !== layout.rows) {
    throw new ImageError(
      "CORRUPT_IMAGE",
      `The JPEG frame is ${header.width}×${header.height} but the DICOM header says ${layout.columns}×${layout.rows}.`,
    );
  }
  if (layout.samplesPerPixel !== 1) return { kind: "color-gray", gray: pixels };
  // 8-bit JPEG samples are the stored values; signed 8-bit data is rare but handled the same way.
  const decodeSample = makeSampleDecoder({
    ...layout,
    bitsStored: Math.min(layout.bitsStored, 8),
    highBit: Math.min(layout.bitsStored, 8) - 1,
  });
  const stored = new Int32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) stored[i] = decodeSample(pixels[i]!);
  return summarise(stored);
}
