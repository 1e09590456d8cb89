import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { createLocalDiskImageStore, decodeImage, DEFAULT_IMAGE_LIMITS, ImageError, ingestImage } from "../../lib/images/index.ts";
import { fixture, findChunk, ihdr, listFiles, makeDicom, monoImage, pngChunk, PNG_SIGNATURE, tempDir, words16 } from "./helpers.ts";

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

test("with de-identification switched off, the three real DICOM files ingest byte for byte: original and display PNG stored, record carries UIDs and no PHI", async () => {
  const root = tempDir("ingest");
  const store = createLocalDiskImageStore({ root });
  const expected = {
    "siim_cr_chest_pa_mono2.dcm": {
      width: 1024,
      bitsStored: 8,
      photometric: "MONOCHROME2",
      sop: "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819",
    },
    "siim_cr_chest_pa_photometric_flipped_mono1.dcm": {
      width: 1024,
      bitsStored: 8,
      photometric: "MONOCHROME1",
      sop: "1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819",
    },
    "nema_cr_mono1_10bit_chest.dcm": {
      width: 440,
      bitsStored: 10,
      photometric: "MONOCHROME1",
      sop: "1.2.392.200036.9125.0.19950720112207",
    },
  };
  const displayKeys = new Set<string>();
  for (const [name, want] of Object.entries(expected)) {
    const bytes = fixture(name);
    const rec = await ingestImage(bytes, store, DEFAULT_IMAGE_LIMITS, { filenameHint: name, deidentify: false });
    assert.equal(rec.deidentified, false);
    assert.equal(rec.deidentificationProfile, null);
    assert.equal(rec.format, "DICOM");
    assert.equal(rec.mediaType, "application/dicom");
    assert.equal(rec.sha256, sha(bytes));
    assert.equal(rec.bytes, bytes.length);
    assert.equal(rec.width, want.width);
    assert.equal(rec.height, want.width);
    assert.equal(rec.bitsStored, want.bitsStored);
    assert.equal(rec.photometric, want.photometric);
    assert.equal(rec.dicom?.sopInstanceUid, want.sop);
    assert.equal(rec.dicom?.modality, "CR");
    assert.equal(rec.created, true);
    assert.deepEqual(await store.get(rec.originalKey), bytes, "original stored byte for byte");
    assert.match(rec.originalKey, /\.dcm$/);
    // The display PNG is an 8-bit gray PNG equal to decodeImage's pixels.
    const display = (await store.get(rec.displayKey))!;
    assert.equal(rec.displaySha256, sha(display));
    const fromPng = decodeImage(display, { limits: DEFAULT_IMAGE_LIMITS });
    assert.equal(fromPng.photometric, "MONOCHROME2");
    assert.equal(fromPng.bitsStored, 8);
    assert.deepEqual(fromPng.pixels, decodeImage(bytes, { limits: DEFAULT_IMAGE_LIMITS }).pixels);
    displayKeys.add(rec.displayKey);
    const json = JSON.stringify(rec);
    assert.doesNotMatch(json, /Anonymized|birth|patientName/i);
  }
  // MONOCHROME1 copy of the SIIM file displays differently (inverted): three distinct display images.
  assert.equal(displayKeys.size, 3);
  // an original, a display PNG and an analysis copy (PGM) each
  assert.equal(listFiles(root).filter((f) => !f.startsWith(".tmp")).length, 9);
});

test("ingesting the same upload twice stores nothing new and returns the same keys", async () => {
  const store = createLocalDiskImageStore({ root: tempDir("ingest") });
  const bytes = fixture("nih_00000075_000_gray_256.png");
  const a = await ingestImage(bytes, store);
  const b = await ingestImage(bytes, store);
  assert.equal(a.created, true);
  assert.equal(b.created, false);
  assert.deepEqual({ ...a, created: false }, b);
  assert.equal(a.format, "PNG");
  assert.equal(a.mediaType, "image/png");
  assert.equal(a.displayKey, a.originalKey, "an 8-bit gray PNG is its own display image");
});

test("an RGBA PNG gets a separate gray display PNG", async () => {
  const store = createLocalDiskImageStore({ root: tempDir("ingest") });
  const rec = await ingestImage(fixture("nih_00005224_000_rgba_256.png"), store);
  assert.notEqual(rec.displayKey, rec.originalKey);
  const display = decodeImage((await store.get(rec.displayKey))!, { limits: DEFAULT_IMAGE_LIMITS });
  assert.equal(display.photometric, "MONOCHROME2");
  assert.deepEqual(display.pixels, decodeImage(fixture("nih_00005224_000_rgba_256.png"), { limits: DEFAULT_IMAGE_LIMITS }).pixels);
});

test("bad uploads leave the store directory empty: corrupt PNG, truncated DICOM, wrong type, oversize, huge dimensions, empty", async () => {
  const png = fixture("nih_00000075_000_gray_256.png");
  const corruptPng = Buffer.from(png);
  const at = findChunk(png, "IDAT");
  for (let i = at + 8 + 50; i < at + 8 + 90; i++) corruptPng[i] = corruptPng[i]! ^ 0x5a;
  const dcm = fixture("siim_cr_chest_pa_mono2.dcm");
  const hugePng = Buffer.concat([
    PNG_SIGNATURE,
    ihdr(100000, 100000, 8, 0),
    pngChunk("IDAT", zlib.deflateSync(Buffer.alloc(64))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
  const cases: Array<[string, Uint8Array, string, number]> = [
    ["corrupt PNG", corruptPng, "CORRUPT_IMAGE", 422],
    ["truncated DICOM", dcm.subarray(0, 60000), "CORRUPT_IMAGE", 422],
    ["truncated legacy DICOM", fixture("nema_cr_mono1_10bit_chest.dcm").subarray(0, 200000), "CORRUPT_IMAGE", 422],
    ["text file", Buffer.from("this is not an image\n"), "UNSUPPORTED_FORMAT", 415],
    ["GIF", Buffer.concat([Buffer.from("GIF89a"), Buffer.alloc(100)]), "UNSUPPORTED_FORMAT", 415],
    ["oversize", Buffer.concat([dcm, Buffer.alloc(200_000)]), "TOO_LARGE", 413],
    ["huge dimensions", hugePng, "DIMENSIONS_TOO_LARGE", 422],
    ["empty", new Uint8Array(0), "EMPTY_FILE", 400],
    [
      "unsupported transfer syntax",
      makeDicom(monoImage({ rows: 1, columns: 1, bitsAllocated: 16, bitsStored: 12, pixelData: words16([1]) }), {
        transferSyntax: "1.2.840.10008.1.2.4.70",
      }),
      "UNSUPPORTED_TRANSFER_SYNTAX",
      415,
    ],
  ];
  for (const [label, bytes, code, status] of cases) {
    const root = tempDir("ingest-bad");
    const store = createLocalDiskImageStore({ root });
    await assert.rejects(
      () => ingestImage(bytes, store, { maxBytes: 300_000 }),
      (err: unknown) => {
        assert.ok(err instanceof ImageError, `${label}: ${String(err)}`);
        assert.equal(err.code, code, `${label}: ${err.message}`);
        assert.equal(err.httpStatus, status, label);
        assert.ok(err.message.length > 10);
        return true;
      },
    );
    assert.deepEqual(fs.readdirSync(root), [], `${label}: nothing stored`);
  }
});

test("by default the stored DICOM is de-identified (name, ID, birth date gone), the record says so and has no patientId", async () => {
  const store = createLocalDiskImageStore({ root: tempDir("ingest") });
  const file = makeDicom(monoImage({ rows: 2, columns: 2, bitsAllocated: 8, bitsStored: 8, pixelData: new Uint8Array([1, 2, 3, 4]) }));
  assert.ok(file.includes(Buffer.from("Doe^Jane")));
  const plain = await ingestImage(file, store, {}, { deidentify: false });
  assert.equal(plain.dicom?.patientId, "PID-12345");
  assert.equal(plain.sha256, sha(file));
  const rec = await ingestImage(file, store, {}, { uidKey: "k" });
  assert.equal(rec.deidentified, true);
  assert.match(rec.deidentificationProfile ?? "", /Basic Application Level Confidentiality Profile/);
  assert.equal(rec.dicom?.patientId, undefined);
  const stored = (await store.get(rec.originalKey))!;
  assert.equal(rec.sha256, sha(stored));
  assert.equal(rec.bytes, stored.length);
  assert.notEqual(rec.sha256, plain.sha256);
  for (const phi of ["Doe^Jane", "PID-12345", "19700101", "1.2.3.4.5.6"]) assert.ok(!stored.includes(Buffer.from(phi)), `${phi} removed`);
  assert.equal(
    rec.dicom?.sopInstanceUid,
    decodeImage(stored, { limits: DEFAULT_IMAGE_LIMITS }).dicom?.sopInstanceUid,
    "record UIDs are those in the stored file",
  );
  // still a valid DICOM with the same pixels
  assert.deepEqual(
    decodeImage(stored, { limits: DEFAULT_IMAGE_LIMITS }).pixels,
    decodeImage(file, { limits: DEFAULT_IMAGE_LIMITS }).pixels,
  );
  // PNG and JPEG carry no DICOM header to de-identify: said so, stored as uploaded.
  const png = await ingestImage(fixture("nih_00000075_000_gray_256.png"), store);
  assert.equal(png.deidentified, false);
  assert.equal(png.deidentificationProfile, null);
});

test("every ingest stores an analysis copy: the display pixels as binary PGM, header padded to 8 bytes; a store that keeps none gets none", async () => {
  const store = createLocalDiskImageStore({ root: tempDir("ingest") });
  for (const name of ["nih_00000075_000_gray_256.png", "nih_00005224_000_rgba_256.png"]) {
    const rec = await ingestImage(fixture(name), store);
    assert.ok(rec.analysisKey?.endsWith(".pgm"), `${name}: analysis copy stored`);
    const copy = (await store.get(rec.analysisKey!))!;
    const display = decodeImage((await store.get(rec.displayKey))!, { limits: DEFAULT_IMAGE_LIMITS });
    const header = `P5\n${" ".repeat(copy.length - display.pixels.length - `P5\n${display.width} ${display.height}\n255\n`.length)}${display.width} ${display.height}\n255\n`;
    assert.equal(copy.subarray(0, copy.length - display.pixels.length).toString("ascii"), header, `${name}: PGM header`);
    assert.equal((copy.length - display.pixels.length) % 8, 0, `${name}: samples start on an 8-byte boundary`);
    assert.ok(copy.subarray(copy.length - display.pixels.length).equals(Buffer.from(display.pixels)), `${name}: the display pixels`);
    assert.equal(rec.analysisKey, `${sha(copy).slice(0, 2)}/${sha(copy).slice(2, 4)}/${sha(copy)}.pgm`, "content-addressed");
  }
  const pacsLike = createLocalDiskImageStore({ root: tempDir("ingest") });
  const rec = await ingestImage(fixture("nih_00000075_000_gray_256.png"), { ...pacsLike, analysisCopies: false });
  assert.equal(rec.analysisKey, null);
  assert.equal(listFiles(pacsLike.root).filter((f) => f.endsWith(".pgm")).length, 0);
});
