import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeImage, detectFormat, DEFAULT_IMAGE_LIMITS, ImageError, resolveImageLimits } from "../../lib/images/index.ts";
import { fixture } from "./helpers.ts";

const limits = DEFAULT_IMAGE_LIMITS;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ImageError, String(err));
    return err.code;
  }
  return "NO_ERROR";
}

test("the default limits are 32 MiB, 8192 px per side and 40 Mpx, and overrides are validated", () => {
  assert.deepEqual(limits, { maxBytes: 32 * 1024 * 1024, maxWidth: 8192, maxHeight: 8192, maxPixels: 40_000_000 });
  assert.equal(resolveImageLimits({ maxBytes: 1000 }).maxBytes, 1000);
  assert.throws(() => resolveImageLimits({ maxBytes: -1 }));
});

test("formats are detected from content, not from the file name", () => {
  assert.equal(detectFormat(fixture("nih_00000075_000_gray_256.png"), { filenameHint: "x.dcm" }).format, "PNG");
  assert.deepEqual(detectFormat(fixture("siim_cr_chest_pa_mono2.dcm"), { filenameHint: "x.png" }), { format: "DICOM", layout: "part10" });
  assert.deepEqual(detectFormat(fixture("nema_cr_mono1_10bit_chest.dcm")), { format: "DICOM", layout: "legacy-implicit-le" });
});

test("an empty upload is EMPTY_FILE with HTTP 400", () => {
  const err = (() => {
    try {
      decodeImage(new Uint8Array(0), { limits });
    } catch (e) {
      return e as ImageError;
    }
    return undefined;
  })();
  assert.equal(err?.code, "EMPTY_FILE");
  assert.equal(err?.httpStatus, 400);
});

test("text, GIF, PDF and random bytes are UNSUPPORTED_FORMAT with HTTP 415 and say what they look like", () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [Buffer.from("patient,finding\n1,effusion\n"), /text/],
    [Buffer.concat([Buffer.from("GIF89a"), Buffer.alloc(40)]), /GIF/],
    [Buffer.from("%PDF-1.7\n..."), /PDF/],
    [Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) % 251), /not a recognised image/],
  ];
  for (const [bytes, pattern] of cases) {
    try {
      decodeImage(bytes, { limits, filenameHint: "upload.png" });
      assert.fail("should have thrown");
    } catch (err) {
      assert.ok(err instanceof ImageError);
      assert.equal(err.code, "UNSUPPORTED_FORMAT");
      assert.equal(err.httpStatus, 415);
      assert.match(err.message, pattern);
      assert.match(err.message, /upload a PNG, a JPEG or a DICOM file/);
    }
  }
});

test("a file over maxBytes is TOO_LARGE (HTTP 413) before its format is even looked at", () => {
  const small = resolveImageLimits({ maxBytes: 100_000 });
  const err = (() => {
    try {
      decodeImage(fixture("siim_cr_chest_pa_mono2.dcm"), { limits: small });
    } catch (e) {
      return e as ImageError;
    }
    return undefined;
  })();
  assert.equal(err?.code, "TOO_LARGE");
  assert.equal(err?.httpStatus, 413);
  assert.match(err?.message ?? "", /127290 bytes; the limit is 100000/);
});

test("truncating the real DICOM files anywhere gives CORRUPT_IMAGE (or UNSUPPORTED_FORMAT when too short to recognise), never a crash", () => {
  for (const name of ["siim_cr_chest_pa_mono2.dcm", "nema_cr_mono1_10bit_chest.dcm"]) {
    const bytes = fixture(name);
    for (const cut of [10, 131, 200, 700, 1200, 5000, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const code = codeOf(() => decodeImage(bytes.subarray(0, cut), { limits }));
      const allowed = cut < 140 ? ["UNSUPPORTED_FORMAT", "CORRUPT_IMAGE"] : ["CORRUPT_IMAGE"];
      assert.ok(allowed.includes(code), `${name} cut at ${cut}: ${code}`);
    }
  }
});

test("pixel limits apply to DICOM Rows/Columns from the header", () => {
  const tight = resolveImageLimits({ maxWidth: 512, maxHeight: 512 });
  assert.equal(
    codeOf(() => decodeImage(fixture("siim_cr_chest_pa_mono2.dcm"), { limits: tight })),
    "DIMENSIONS_TOO_LARGE",
  );
  assert.equal(
    codeOf(() => decodeImage(fixture("nema_cr_mono1_10bit_chest.dcm"), { limits: tight })),
    "NO_ERROR",
  );
});

test('a real Part 10 file with its preamble and "DICM" stripped decodes to the same pixels', () => {
  const full = fixture("siim_cr_chest_pa_mono2.dcm");
  const stripped = full.subarray(132);
  assert.deepEqual(detectFormat(stripped), { format: "DICOM", layout: "part10-no-preamble" });
  assert.deepEqual(decodeImage(stripped, { limits }).pixels, decodeImage(full, { limits }).pixels);
});
