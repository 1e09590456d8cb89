import { test } from "node:test";
import assert from "node:assert/strict";
import { applyWindow, decodeImage, DEFAULT_IMAGE_LIMITS, ImageError, resolveImageLimits } from "../../lib/images/index.ts";
import { makeDicom, monoImage, words16, TS_DEFLATED_LE, TS_EXPLICIT_BE, TS_IMPLICIT_LE, type DicomElement } from "./helpers.ts";

const limits = DEFAULT_IMAGE_LIMITS;

function expectCode(fn: () => unknown, code: string, message?: RegExp): ImageError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ImageError, `expected ImageError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    assert.ok(err.httpStatus >= 400 && err.httpStatus < 500);
    return err;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

test("VOI LINEAR window follows PS3.3 C.11.2.1.2.1 at its edges", () => {
  const w = { center: 100, width: 11, fn: "LINEAR" as const };
  // x <= c - 0.5 - (w-1)/2 = 94.5 -> 0 ; x > c - 0.5 + (w-1)/2 = 104.5 -> 255
  assert.equal(applyWindow(94.5, w), 0);
  assert.equal(applyWindow(104.6, w), 255);
  assert.equal(applyWindow(99.5, w), 127.5);
  assert.equal(applyWindow(100, { center: 100, width: 10, fn: "LINEAR_EXACT" }), 127.5);
  assert.equal(applyWindow(95, { center: 100, width: 10, fn: "LINEAR_EXACT" }), 0);
  assert.ok(Math.abs(applyWindow(100, { center: 100, width: 50, fn: "SIGMOID" }) - 127.5) < 1e-9);
});

test("16-bit signed data with rescale slope/intercept and a window maps each value as the formula says", () => {
  // 12 bits stored, signed: values -2048..2047; rescale 2x - 1000 ; window C=0 W=2000
  const raw = [-2048, -1000, 0, 250, 500, 1000, 1500, 2047];
  const px = words16(raw);
  const file = makeDicom(
    monoImage({
      rows: 2,
      columns: 4,
      bitsAllocated: 16,
      bitsStored: 12,
      signed: true,
      pixelData: px,
      extra: [
        { tag: 0x00281050, vr: "DS", value: "0\\40" }, // multiple values: the first is used
        { tag: 0x00281051, vr: "DS", value: "2000\\400" },
        { tag: 0x00281052, vr: "DS", value: "-1000" },
        { tag: 0x00281053, vr: "DS", value: "2" },
      ],
    }),
  );
  const img = decodeImage(file, { limits });
  assert.equal(img.bitsStored, 12);
  assert.equal(img.dicom?.pixelRepresentation, 1);
  assert.equal(img.dicom?.windowCenter, 0);
  assert.equal(img.dicom?.windowWidth, 2000);
  const expected = raw.map((v) => Math.round(applyWindow(v * 2 - 1000, { center: 0, width: 2000, fn: "LINEAR" })));
  assert.deepEqual([...img.pixels], expected);
  // pixels16 holds raw values offset by 2^(bitsStored-1) for signed data.
  assert.deepEqual(
    [...img.pixels16!],
    raw.map((v) => v + 2048),
  );
});

test("bits above HighBit are masked off and HighBit below the top bit shifts the samples", () => {
  // 10 bits stored at bits 11..2 (HighBit 11): word = value << 2, with garbage in bits 15..12 and 1..0.
  const values = [0, 1, 512, 1023];
  const px = words16(values.map((v) => (v << 2) | 0xf000 | 0b11));
  const file = makeDicom(monoImage({ rows: 1, columns: 4, bitsAllocated: 16, bitsStored: 10, highBit: 11, pixelData: px }));
  const img = decodeImage(file, { limits });
  assert.deepEqual([...img.pixels16!], values);
  // no window: min-max of the values 0..1023 onto 0..255
  assert.deepEqual(
    [...img.pixels],
    values.map((v) => Math.round((v / 1023) * 255)),
  );
});

test("without a window the display is the min-max of the modality values, MONOCHROME1 inverted", () => {
  const px = new Uint8Array([10, 20, 30, 40]);
  const mono2 = decodeImage(makeDicom(monoImage({ rows: 2, columns: 2, bitsAllocated: 8, bitsStored: 8, pixelData: px })), { limits });
  assert.deepEqual([...mono2.pixels], [0, 85, 170, 255]);
  const mono1 = decodeImage(
    makeDicom(monoImage({ rows: 2, columns: 2, bitsAllocated: 8, bitsStored: 8, photometric: "MONOCHROME1", pixelData: px })),
    { limits },
  );
  assert.deepEqual([...mono1.pixels], [255, 170, 85, 0]);
});

test("SIGMOID VOI LUT function is applied when the file asks for it", () => {
  const px = words16([0, 500, 1000]);
  const file = makeDicom(
    monoImage({
      rows: 1,
      columns: 3,
      bitsAllocated: 16,
      bitsStored: 16,
      pixelData: px,
      extra: [
        { tag: 0x00281050, vr: "DS", value: "500" },
        { tag: 0x00281051, vr: "DS", value: "400" },
        { tag: 0x00281056, vr: "CS", value: "SIGMOID" },
      ],
    }),
  );
  const img = decodeImage(file, { limits });
  const sig = (x: number): number => Math.round(255 / (1 + Math.exp((-4 * (x - 500)) / 400)));
  assert.deepEqual([...img.pixels], [sig(0), sig(500), sig(1000)]);
});

test("implicit VR LE and explicit VR big endian files decode to the same pixels", () => {
  const values = [0, 300, 600, 900];
  const elements = (bigEndian: boolean): DicomElement[] =>
    monoImage({ rows: 2, columns: 2, bitsAllocated: 16, bitsStored: 10, pixelData: words16(values, bigEndian) });
  const le = decodeImage(makeDicom(elements(false), { transferSyntax: TS_IMPLICIT_LE }), { limits });
  const be = decodeImage(makeDicom(elements(true), { transferSyntax: TS_EXPLICIT_BE }), { limits });
  assert.deepEqual([...le.pixels16!], values);
  assert.deepEqual([...be.pixels16!], values);
  assert.deepEqual([...be.pixels], [...le.pixels]);
});

test("a Part 10 file with its 128-byte preamble stripped, and an explicit-VR legacy stream, are still read", () => {
  const elements = monoImage({ rows: 1, columns: 2, bitsAllocated: 8, bitsStored: 8, pixelData: new Uint8Array([0, 200]) });
  const noPreamble = decodeImage(makeDicom(elements, { preamble: false }), { limits });
  assert.equal(noPreamble.dicom?.encoding, "part10-no-preamble");
  assert.deepEqual([...noPreamble.pixels], [0, 255]);
  const legacyExplicit = decodeImage(makeDicom(elements, { legacy: true }), { limits });
  assert.equal(legacyExplicit.dicom?.encoding, "legacy-explicit-le");
  assert.deepEqual([...legacyExplicit.pixels], [0, 255]);
});

test("8-bit RGB DICOM (planar configuration 1) becomes luma gray", () => {
  // two pixels: pure red and pure white, planes RR GG BB
  const px = new Uint8Array([255, 255, 0, 255, 0, 255]);
  const els = monoImage({ rows: 1, columns: 2, bitsAllocated: 8, bitsStored: 8, photometric: "RGB", pixelData: px })
    .map((e) => (e.tag === 0x00280002 ? { ...e, value: 3 } : e))
    .concat([{ tag: 0x00280006, vr: "US", value: 1 }])
    .sort((a, b) => a.tag - b.tag);
  const img = decodeImage(makeDicom(els), { limits });
  assert.deepEqual([...img.pixels], [Math.round(0.299 * 255), 255]);
});

test("a compressed transfer syntax other than JPEG Baseline is refused with its UID in the message", () => {
  const els = monoImage({ rows: 1, columns: 2, bitsAllocated: 8, bitsStored: 8, pixelData: new Uint8Array([0, 1]) });
  const err = expectCode(
    () => decodeImage(makeDicom(els, { transferSyntax: "1.2.840.10008.1.2.4.90" }), { limits }),
    "UNSUPPORTED_TRANSFER_SYNTAX",
    /unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.4\.90 \(JPEG 2000/i,
  );
  assert.equal(err.httpStatus, 415);
});

test("a DICOM whose pixel data is shorter than Rows x Columns needs is reported as truncated", () => {
  const els = monoImage({ rows: 4, columns: 4, bitsAllocated: 16, bitsStored: 12, pixelData: words16([1, 2, 3]) });
  expectCode(() => decodeImage(makeDicom(els), { limits }), "CORRUPT_IMAGE", /truncated/i);
});

test("Rows/Columns over the limits are refused before the pixel data is read", () => {
  const els = monoImage({ rows: 60000, columns: 60000, bitsAllocated: 16, bitsStored: 12, pixelData: words16([1, 2]) });
  expectCode(() => decodeImage(makeDicom(els), { limits }), "DIMENSIONS_TOO_LARGE", /60000×60000/);
  const zero = monoImage({ rows: 0, columns: 10, bitsAllocated: 8, bitsStored: 8, pixelData: new Uint8Array(0) });
  expectCode(() => decodeImage(makeDicom(zero), { limits }), "INVALID_DIMENSIONS");
});

test("a DICOM image without pixel data is corrupt, a structured report is not an image, 32-bit samples are unsupported with clear codes", () => {
  const noPixels = monoImage({ rows: 1, columns: 1, bitsAllocated: 8, bitsStored: 8, pixelData: new Uint8Array(0) }).filter(
    (e) => e.tag !== 0x7fe00010,
  );
  expectCode(() => decodeImage(makeDicom(noPixels), { limits }), "CORRUPT_IMAGE", /no pixel data/);
  const report = noPixels.map((e) => (e.tag === 0x00080016 ? { ...e, value: "1.2.840.10008.5.1.4.1.1.88.11" } : e));
  expectCode(() => decodeImage(makeDicom(report), { limits }), "UNSUPPORTED_FORMAT", /not an image/);
  const wide = monoImage({ rows: 1, columns: 1, bitsAllocated: 16, bitsStored: 16, pixelData: new Uint8Array(4) }).map((e) =>
    e.tag === 0x00280100 ? { ...e, value: 32 } : e,
  );
  expectCode(() => decodeImage(makeDicom(wide), { limits }), "UNSUPPORTED_PIXEL_FORMAT", /Bits Allocated 32/);
});

test("a VOI LUT Sequence table is used when the file has no window", () => {
  // LUT: 4 entries starting at stored value 0, 8-bit output: 0->0, 1->255, 2->255, 3->0
  const lutItem = Buffer.concat([
    // Item (FFFE,E000) with explicit length, then LUT Descriptor (US x3) and LUT Data (OW)
    Buffer.from([0xfe, 0xff, 0x00, 0xe0]),
    Buffer.from([0x22, 0, 0, 0]),
    Buffer.from([0x28, 0x00, 0x02, 0x30]),
    Buffer.from("US"),
    Buffer.from([6, 0]),
    Buffer.from([4, 0, 0, 0, 8, 0]),
    Buffer.from([0x28, 0x00, 0x06, 0x30]),
    Buffer.from("OW"),
    Buffer.from([0, 0]),
    Buffer.from([8, 0, 0, 0]),
    Buffer.from(words16([0, 255, 255, 0])),
  ]);
  const els = monoImage({
    rows: 1,
    columns: 4,
    bitsAllocated: 8,
    bitsStored: 2,
    pixelData: new Uint8Array([0, 1, 2, 3]),
    extra: [{ tag: 0x00283010, vr: "SQ", value: lutItem }],
  });
  const img = decodeImage(makeDicom(els), { limits });
  assert.match(img.dicom?.displayMapping ?? "", /VOI LUT table/);
  assert.deepEqual([...img.pixels], [0, 255, 255, 0]);
});

test("a deflated (1.2.840.10008.1.2.1.99) file is inflated and decoded; one that inflates past the cap is TOO_LARGE", () => {
  const px = words16([0, 100, 200, 300]);
  const file = makeDicom(monoImage({ rows: 2, columns: 2, bitsAllocated: 16, bitsStored: 9, pixelData: px }), {
    transferSyntax: TS_DEFLATED_LE,
  });
  const img = decodeImage(file, { limits });
  assert.equal(img.dicom?.transferSyntaxUid, TS_DEFLATED_LE);
  assert.deepEqual([...img.pixels16!], [0, 100, 200, 300]);
  // 40 MB of pixel data deflates to a few tens of KB; with a 1 Mpx limit the cap is 24 MiB.
  const bomb = makeDicom(monoImage({ rows: 2, columns: 2, bitsAllocated: 16, bitsStored: 9, pixelData: new Uint8Array(40_000_000) }), {
    transferSyntax: TS_DEFLATED_LE,
  });
  assert.ok(bomb.length < 200_000);
  expectCode(() => decodeImage(bomb, { limits: resolveImageLimits({ maxPixels: 1_000_000 }) }), "TOO_LARGE", /expands beyond/);
});

test("a multi-frame native file shows its first frame and says so", () => {
  const px = new Uint8Array([0, 255, 255, 0, 9, 9, 9, 9]); // frame 1: 0 255 255 0 ; frame 2: constant
  const els = monoImage({
    rows: 2,
    columns: 2,
    bitsAllocated: 8,
    bitsStored: 8,
    pixelData: px,
    extra: [{ tag: 0x00280008, vr: "IS", value: "2" }],
  });
  const img = decodeImage(makeDicom(els), { limits });
  assert.equal(img.dicom?.numberOfFrames, 2);
  assert.deepEqual([...img.pixels], [0, 255, 255, 0]);
  assert.ok(img.warnings.some((w) => /frame 1 of 2/.test(w)));
});
