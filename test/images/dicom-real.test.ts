import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeImage, DEFAULT_IMAGE_LIMITS } from "../../lib/images/index.ts";
import { fixture, regionMean } from "./helpers.ts";

const limits = DEFAULT_IMAGE_LIMITS;

/** Mean of a region given in fractions of the image side (square images here). */
function rel(pixels: Uint8Array, side: number, x0: number, y0: number, x1: number, y1: number): number {
  return regionMean(pixels, side, Math.round(x0 * side), Math.round(y0 * side), Math.round(x1 * side), Math.round(y1 * side));
}

function stats(pixels: Uint8Array): { min: number; max: number; mean: number } {
  let min = 255;
  let max = 0;
  let sum = 0;
  for (const v of pixels) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, mean: sum / pixels.length };
}

test("JPEG Baseline CR chest (MONOCHROME2) decodes to a 1024x1024 chest film with dark lungs and a bright spine", () => {
  const img = decodeImage(fixture("siim_cr_chest_pa_mono2.dcm"), { limits });
  assert.equal(img.format, "DICOM");
  assert.equal(img.width, 1024);
  assert.equal(img.height, 1024);
  assert.equal(img.bitsStored, 8);
  assert.equal(img.photometric, "MONOCHROME2");
  assert.equal(img.pixels16, undefined, "8-bit source has no 16-bit plane");
  assert.equal(img.dicom?.transferSyntaxUid, "1.2.840.10008.1.2.4.50");
  assert.equal(img.dicom?.sopInstanceUid, "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819");
  assert.equal(img.dicom?.studyInstanceUid, "1.2.276.0.7230010.3.1.2.8323329.6904.1517875201.850818");
  assert.equal(img.dicom?.seriesInstanceUid, "1.2.276.0.7230010.3.1.3.8323329.6904.1517875201.850817");
  assert.equal(img.dicom?.modality, "CR");
  assert.equal(img.dicom?.viewPosition, "PA");
  assert.equal(img.dicom?.bodyPartExamined, "CHEST");
  assert.deepEqual(img.dicom?.pixelSpacing, [0.168, 0.168]);
  const s = stats(img.pixels);
  assert.ok(s.min <= 5 && s.max >= 250, `uses the full range: ${JSON.stringify(s)}`);
  const lungs = (rel(img.pixels, 1024, 0.2, 0.3, 0.38, 0.55) + rel(img.pixels, 1024, 0.62, 0.3, 0.8, 0.55)) / 2;
  const spine = rel(img.pixels, 1024, 0.46, 0.3, 0.54, 0.6);
  assert.ok(spine - lungs > 50, `lungs (${lungs.toFixed(1)}) should be much darker than the spine (${spine.toFixed(1)})`);
});

test("the same CR file marked MONOCHROME1 comes out as the pixelwise inverse (255 - v) of the MONOCHROME2 one", () => {
  const mono2 = decodeImage(fixture("siim_cr_chest_pa_mono2.dcm"), { limits });
  const mono1 = decodeImage(fixture("siim_cr_chest_pa_photometric_flipped_mono1.dcm"), { limits });
  assert.equal(mono1.photometric, "MONOCHROME1");
  assert.match(mono1.dicom?.displayMapping ?? "", /MONOCHROME1 inverted/);
  let maxDiff = 0;
  for (let i = 0; i < mono2.pixels.length; i++) maxDiff = Math.max(maxDiff, Math.abs(mono1.pixels[i]! - (255 - mono2.pixels[i]!)));
  assert.ok(maxDiff <= 1, `max |mono1 - (255 - mono2)| = ${maxDiff}`);
});

test("legacy 10-bit MONOCHROME1 file without preamble or file meta is read as implicit VR LE, windowed and inverted", () => {
  const img = decodeImage(fixture("nema_cr_mono1_10bit_chest.dcm"), { limits });
  assert.equal(img.width, 440);
  assert.equal(img.height, 440);
  assert.equal(img.bitsStored, 10);
  assert.equal(img.photometric, "MONOCHROME1");
  assert.equal(img.dicom?.encoding, "legacy-implicit-le");
  assert.equal(img.dicom?.transferSyntaxUid, "1.2.840.10008.1.2");
  assert.equal(img.dicom?.windowCenter, 550);
  assert.equal(img.dicom?.windowWidth, 1024);
  assert.equal(img.dicom?.modality, "CR");
  assert.equal(img.dicom?.viewPosition, "PA");
  // Full-range plane: the raw 10-bit values (pydicom reports min 0, max 979 for this file).
  assert.ok(img.pixels16);
  let min = Infinity;
  let max = -Infinity;
  for (const v of img.pixels16) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.equal(min, 0);
  assert.equal(max, 979);
  // MONOCHROME1: high raw values are dark. After inversion the lungs are dark and the spine bright.
  const lungs = (rel(img.pixels, 440, 0.2, 0.3, 0.38, 0.55) + rel(img.pixels, 440, 0.62, 0.3, 0.8, 0.55)) / 2;
  const spine = rel(img.pixels, 440, 0.46, 0.3, 0.54, 0.6);
  assert.ok(spine - lungs > 50, `lungs (${lungs.toFixed(1)}) should be much darker than the spine (${spine.toFixed(1)})`);
  // Each display value is 255 - window(raw): check one pixel against the PS3.3 C.11.2.1.2.1 formula.
  const i = 220 * 440 + 100;
  const raw = img.pixels16[i]!;
  const c = 550;
  const w = 1024;
  const y = raw <= c - 0.5 - (w - 1) / 2 ? 0 : raw > c - 0.5 + (w - 1) / 2 ? 255 : ((raw - (c - 0.5)) / (w - 1) + 0.5) * 255;
  assert.equal(img.pixels[i], 255 - Math.round(y));
});

test("patient name and birth date never appear in the decoded result", () => {
  for (const name of ["siim_cr_chest_pa_mono2.dcm", "nema_cr_mono1_10bit_chest.dcm"]) {
    const img = decodeImage(fixture(name), { limits });
    const json = JSON.stringify({ ...img, pixels: undefined, pixels16: undefined });
    assert.doesNotMatch(json, /patientName|birth/i);
    assert.doesNotMatch(json, /Anonymized/); // the NEMA file's PatientName value
  }
});
