import type { DataSet } from "dicom-parser";
import { ImageError } from "../errors.ts";
import { checkDimensions, type ImageLimits } from "../limits.ts";
import { checkDecodeBudget, dicomDecodeEstimate } from "../budget.ts";
import type { DecodedImage, DicomMetadata } from "../types.ts";
import { num, parseDicomBytes, str, us, type DicomLayout } from "./parse.ts";
import { readJpegBaselineFrame, readNativeFrame, type PixelLayout } from "./pixels.ts";
import { pixelEncodingOf, transferSyntaxName, SUPPORTED_TRANSFER_SYNTAXES } from "./syntax.ts";
import { definedOnly } from "../util.ts";
import { buildDisplayLut, type VoiFunction, type Window } from "./voi.ts";

/** Storage SOP classes that never carry pixel data: SR, encapsulated documents, presentation states, waveforms, RT plans. */
const NON_IMAGE_SOP_CLASS = /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.(88|104|11|9|481\.[2-9]|66)\./;
const MONO = new Set(["MONOCHROME1", "MONOCHROME2"]);
const NATIVE_COLOR = new Set(["RGB", "YBR_FULL"]);
const JPEG_COLOR = new Set(["RGB", "YBR_FULL", "YBR_FULL_422"]);

function unsupportedPixels(message: string, details: Record<string, unknown> = {}): ImageError {
  return new ImageError("UNSUPPORTED_PIXEL_FORMAT", message, details);
}

function readPixelLayout(ds: DataSet, warnings: string[]): PixelLayout {
  const rows = us(ds, "x00280010");
  const columns = us(ds, "x00280011");
  if (rows === undefined || columns === undefined) {
    throw new ImageError(
      "CORRUPT_IMAGE",
      "The DICOM file has no Rows/Columns (0028,0010/0011); it is not an image or its header is damaged.",
    );
  }
  const samplesPerPixel = us(ds, "x00280002") ?? 1;
  const bitsAllocated = us(ds, "x00280100") ?? 0;
  const bitsStored = us(ds, "x00280101") ?? bitsAllocated;
  let highBit = us(ds, "x00280102") ?? bitsStored - 1;
  const pixelRepresentation = us(ds, "x00280103") === 1 ? 1 : 0;
  let photometric = str(ds, "x00280004")?.toUpperCase();
  if (!photometric) {
    if (samplesPerPixel !== 1)
      throw new ImageError("CORRUPT_IMAGE", "The DICOM file has colour samples but no Photometric Interpretation (0028,0004).");
    photometric = "MONOCHROME2";
    warnings.push("Photometric Interpretation missing; assumed MONOCHROME2");
  }
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw unsupportedPixels(`DICOM Bits Allocated ${bitsAllocated} is not supported; 8 or 16 are.`, { bitsAllocated });
  }
  if (bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new ImageError("CORRUPT_IMAGE", `DICOM Bits Stored ${bitsStored} does not fit Bits Allocated ${bitsAllocated}.`);
  }
  if (highBit < bitsStored - 1 || highBit > bitsAllocated - 1) {
    warnings.push(`High Bit ${highBit} inconsistent with Bits Stored ${bitsStored}; using ${bitsStored - 1}`);
    highBit = bitsStored - 1;
  }
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3)
    throw unsupportedPixels(`DICOM Samples per Pixel ${samplesPerPixel} is not supported.`);
  return {
    rows,
    columns,
    samplesPerPixel,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation,
    planarConfiguration: us(ds, "x00280006") === 1 ? 1 : 0,
    photometric,
  };
}

function readWindow(ds: DataSet, warnings: string[]): Window | undefined {
  const center = num(ds, "x00281050", 0);
  const width = num(ds, "x00281051", 0);
  if (center === undefined || width === undefined) return undefined;
  const fnName = (str(ds, "x00281056") ?? "LINEAR").toUpperCase();
  const fn: VoiFunction = fnName === "LINEAR_EXACT" || fnName === "SIGMOID" ? fnName : "LINEAR";
  if (fnName !== fn) warnings.push(`VOI LUT Function ${fnName} unknown; used LINEAR`);
  const minWidth = fn === "LINEAR" ? 1 : Number.MIN_VALUE;
  if (!(width >= minWidth)) {
    warnings.push(`Window Width ${width} is invalid; used the min-max of the image instead`);
    return undefined;
  }
  return { center, width, fn };
}

/** First item of the VOI LUT Sequence (0028,3010), used only when there is no window. */
function readVoiTable(ds: DataSet, pixelRepresentation: 0 | 1): { firstMapped: number; data: number[]; bits: number } | undefined {
  const item = ds.elements.x00283010?.items?.[0]?.dataSet;
  const dataEl = item?.elements.x00283006;
  if (!item || !dataEl || !item.elements.x00283002) return undefined;
  const entriesRaw = item.uint16("x00283002", 0) ?? 0;
  const entries = entriesRaw === 0 ? 65536 : entriesRaw;
  const firstMapped = (pixelRepresentation === 1 ? item.int16("x00283002", 1) : item.uint16("x00283002", 1)) ?? 0;
  const bits = item.uint16("x00283002", 2) ?? 16;
  const n = Math.min(entries, Math.floor(dataEl.length / 2));
  const data = Array.from({ length: n }, (_, i) => item.uint16("x00283006", i) ?? 0);
  return n > 0 && bits >= 1 && bits <= 16 ? { firstMapped, data, bits } : undefined;
}

export function decodeDicom(bytes: Uint8Array, layoutName: DicomLayout, limits: ImageLimits): DecodedImage {
  const { dataSet: ds, transferSyntaxUid } = parseDicomBytes(bytes, layoutName, limits);
  const warnings: string[] = [];
  if (layoutName !== "part10") warnings.push(`read as ${layoutName} (no standard Part 10 preamble/file meta)`);

  const encoding = pixelEncodingOf(transferSyntaxUid);
  if (!encoding) {
    throw new ImageError(
      "UNSUPPORTED_TRANSFER_SYNTAX",
      `Unsupported transfer syntax ${transferSyntaxUid} (${transferSyntaxName(transferSyntaxUid)}) in this DICOM file; supported: ${SUPPORTED_TRANSFER_SYNTAXES.join(", ")}.`,
      { transferSyntaxUid },
    );
  }
  const pixelEl = ds.elements.x7fe00010;
  if (!pixelEl) {
    if (ds.elements.x7fe00008 || ds.elements.x7fe00009) throw unsupportedPixels("DICOM float pixel data is not supported.");
    const sopClass = str(ds, "x00080016");
    if (sopClass && NON_IMAGE_SOP_CLASS.test(sopClass)) {
      throw new ImageError(
        "UNSUPPORTED_FORMAT",
        `The DICOM file is not an image (SOP class ${sopClass}, e.g. a report or presentation state).`,
        { sopClass },
      );
    }
    throw new ImageError(
      "CORRUPT_IMAGE",
      `The DICOM file has no pixel data (7FE0,0010): it is truncated or not an image (SOP class ${sopClass ?? "unknown"}).`,
    );
  }

  const layout = readPixelLayout(ds, warnings);
  // Checked before a single pixel is read or decompressed.
  checkDimensions(layout.columns, layout.rows, limits, "The DICOM header (Rows/Columns)");
  checkDecodeBudget(
    dicomDecodeEstimate({ ...layout, jpeg: encoding === "jpeg-baseline" }, ds.byteArray.length),
    layout.columns,
    layout.rows,
    limits,
    "The DICOM header (Rows/Columns)",
  );
  const mono = MONO.has(layout.photometric);
  const colorOk = layout.samplesPerPixel === 3 && (encoding === "jpeg-baseline" ? JPEG_COLOR : NATIVE_COLOR).has(layout.photometric);
  if (!(mono && layout.samplesPerPixel === 1) && !(colorOk && (encoding === "jpeg-baseline" || layout.bitsAllocated === 8))) {
    throw unsupportedPixels(
      `DICOM Photometric Interpretation ${layout.photometric} with ${layout.samplesPerPixel} sample(s) of ${layout.bitsAllocated} bits is not supported.`,
      { photometric: layout.photometric },
    );
  }
  const numberOfFrames = Math.max(1, Math.trunc(num(ds, "x00280008") ?? 1));
  if (numberOfFrames > 1) warnings.push(`multi-frame image: frame 1 of ${numberOfFrames} decoded`);

  const frame =
    encoding === "jpeg-baseline"
      ? readJpegBaselineFrame(ds, pixelEl, layout, numberOfFrames, limits)
      : readNativeFrame(ds, pixelEl, layout, encoding === "native-be");

  const slope = num(ds, "x00281053") ?? 1;
  const intercept = num(ds, "x00281052") ?? 0;
  if (ds.elements.x00283000) warnings.push("Modality LUT Sequence ignored (only Rescale Slope/Intercept are applied)");
  const window = mono ? readWindow(ds, warnings) : undefined;
  let pixels: Uint8Array;
  let pixels16: Uint16Array | undefined;
  let displayMapping: string;
  if (frame.kind === "mono") {
    const bs = Math.min(layout.bitsStored, encoding === "jpeg-baseline" ? 8 : 16);
    const signed = layout.pixelRepresentation === 1;
    const lut = buildDisplayLut({
      minStored: signed ? -(2 ** (bs - 1)) : 0,
      maxStored: signed ? 2 ** (bs - 1) - 1 : 2 ** bs - 1,
      slope,
      intercept,
      window,
      voiTable: window ? undefined : readVoiTable(ds, layout.pixelRepresentation),
      observedMin: frame.min,
      observedMax: frame.max,
      invert: layout.photometric === "MONOCHROME1",
    });
    pixels = new Uint8Array(frame.stored.length);
    for (let i = 0; i < pixels.length; i++) pixels[i] = lut.table[frame.stored[i]! - lut.offset]!;
    displayMapping = lut.description;
    if (bs > 8) {
      const offset = signed ? 2 ** (bs - 1) : 0;
      pixels16 = new Uint16Array(frame.stored.length);
      for (let i = 0; i < pixels16.length; i++) pixels16[i] = frame.stored[i]! + offset;
    }
  } else {
    pixels = frame.gray;
    displayMapping = `${layout.photometric} to gray (luma)`;
  }

  const spacingRow = num(ds, "x00280030", 0);
  const spacingCol = num(ds, "x00280030", 1);
  const dicom: DicomMetadata = definedOnly({
    transferSyntaxUid,
    encoding: layoutName,
    sopClassUid: str(ds, "x00080016"),
    sopInstanceUid: str(ds, "x00080018"),
    studyInstanceUid: str(ds, "x0020000d"),
    seriesInstanceUid: str(ds, "x0020000e"),
    modality: str(ds, "x00080060"),
    bodyPartExamined: str(ds, "x00180015"),
    viewPosition: str(ds, "x00185101"),
    patientId: str(ds, "x00100020"),
    rows: layout.rows,
    columns: layout.columns,
    samplesPerPixel: layout.samplesPerPixel,
    bitsAllocated: layout.bitsAllocated,
    bitsStored: layout.bitsStored,
    highBit: layout.highBit,
    pixelRepresentation: layout.pixelRepresentation,
    numberOfFrames,
    rescaleSlope: slope,
    rescaleIntercept: intercept,
    windowCenter: window?.center,
    windowWidth: window?.width,
    voiLutFunction: window?.fn,
    pixelSpacing: spacingRow !== undefined && spacingCol !== undefined ? ([spacingRow, spacingCol] as [number, number]) : undefined,
    displayMapping,
  });

  return {
    format: "DICOM",
    width: layout.columns,
    height: layout.rows,
    bitsStored: layout.bitsStored,
    photometric: layout.photometric,
    pixels,
    ...(pixels16 ? { pixels16 } : {}),
    dicom,
    warnings,
  };
}
