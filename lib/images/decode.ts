import { ImageError, describeThrown } from "./errors.ts";
import { detectFormat } from "./detect.ts";
import { checkByteSize } from "./limits.ts";
import { decodePng } from "./png.ts";
import { decodeJpegGray } from "./jpeg.ts";
import { decodeDicom } from "./dicom/decode.ts";
import type { DecodedImage, DecodeOptions } from "./types.ts";

/**
 * Decodes an uploaded PNG, JPEG or DICOM file to an 8-bit grayscale display image.
 * Order matters: byte size, then format by magic bytes, then dimensions from the header, and only
 * then pixels, so oversized or hostile inputs are refused before they cost memory.
 * Every expected failure is an ImageError; anything else escaping a decoder is reported as corrupt
 * input, because with these libraries it almost always is.
 */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions): DecodedImage {
  const { limits } = options;
  checkByteSize(bytes, limits);
  const detected = detectFormat(bytes, options);
  try {
    switch (detected.format) {
      case "PNG":
        return decodePng(bytes, limits);
      case "JPEG": {
        const { header, pixels } = decodeJpegGray(bytes, limits, "JPEG");
        return {
          format: "JPEG",
          width: header.width,
          height: header.height,
          bitsStored: header.precision,
          photometric: header.components === 1 ? "MONOCHROME2" : "RGB",
          pixels,
          warnings: [],
        };
      }
      case "DICOM":
        return decodeDicom(bytes, detected.layout, limits);
    }
  } catch (err) {
    if (err instanceof ImageError) throw err;
    if (err instanceof RangeError && /allocation|Array buffer|Invalid typed array length/i.test(err.message)) throw err;
    throw new ImageError("CORRUPT_IMAGE", `Corrupt ${detected.format} file: ${describeThrown(err)}`, {}, { cause: err });
  }
}
