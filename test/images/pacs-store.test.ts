// The PACS-backed image store against a real Orthanc: display images become Secondary Capture instances under UIDs
// derived from their content, a second put adds no instance, a read gives the encoder exactly the input the disk
// store gives it, and a PACS that is away is a retriable UnavailableError, never a half-written image.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { UnavailableError } from "../../lib/errors/index.ts";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import { createLocalDiskImageStore, decodeImage, ingestImage, resolveImageLimits } from "../../lib/images/index.ts";
import { contentUids, createPacsImageStore, parsePacsKey } from "../../lib/images/pacs-store.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc, type OrthancHandle } from "../../lib/stack/orthanc.ts";
import { loadBundle, type Bundle } from "../../workers/analysis/src/bundle/load.ts";
import { createEngine, type Engine } from "../../workers/analysis/src/inference/engine.ts";
import { resolveBundleDir } from "../worker-loop/harness.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/images");
const work = mkdtempSync(join(tmpdir(), "gkmvlp-pacs-store-"));
const skip = !orthancInstalled();
let orthanc: OrthancHandle;
after(async () => {
  await stopOrthanc(join(work, "orthanc"));
  rmSync(work, { recursive: true, force: true });
});
before(async () => {
  if (skip) return;
  orthanc = await startOrthanc({ dataDir: join(work, "orthanc"), httpPort: await freePort(), dicomPort: await freePort() });
});

function stores(name: string) {
  const client = createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, credentials: orthanc.credentials });
  const disk = createLocalDiskImageStore({ root: join(work, `${name}-disk`) });
  const pacs = createPacsImageStore({ client, fallback: createLocalDiskImageStore({ root: join(work, `${name}-originals`) }) });
  return { client, disk, pacs };
}

const pixelsOf = (png: Uint8Array) => decodeImage(png, { limits: resolveImageLimits({}) });

test(
  "a display image put in the PACS store is one Secondary Capture instance under UIDs from its SHA-256, and a second put of the same bytes adds none",
  { skip, timeout: 120_000 },
  async () => {
    const { client, pacs } = stores("idem");
    const bytes = readFileSync(join(FIXTURES, "nih_00000075_000_gray_256.png"));
    const first = await ingestImage(bytes, pacs);
    const uids = parsePacsKey(first.displayKey);
    assert.deepEqual(uids, contentUids(first.displaySha256), "the key names the instance the content hash derives");
    assert.match(uids!.sopInstanceUid, /^2\.25\.\d{1,39}$/);
    assert.equal(first.created, true);

    const second = await ingestImage(bytes, pacs);
    assert.equal(second.displayKey, first.displayKey);
    assert.equal(second.created, false);
    const found = await client.searchInstances(uids!.studyInstanceUid);
    assert.deepEqual(
      found.map((i) => [i["00080016"]?.Value?.[0], i["00080018"]?.Value?.[0]]),
      [["1.2.840.10008.5.1.4.1.1.7", uids!.sopInstanceUid]],
      "one Secondary Capture instance",
    );
    assert.equal(await pacs.has(first.displayKey), true);
    assert.equal(await pacs.delete(first.displayKey), false, "shared PACS instances are never deleted by the platform");
  },
);

let bundle: Bundle | undefined;
let engine: Engine | undefined;
after(async () => {
  await engine?.close();
  await bundle?.release();
});

test(
  "an image read back from the PACS gives the encoder the same pixels and the same features as the disk store, for a gray PNG, an RGBA PNG and a DICOM",
  { skip, timeout: 180_000 },
  async () => {
    const { disk, pacs } = stores("parity");
    bundle = await loadBundle(resolveBundleDir());
    engine = createEngine(bundle);
    for (const name of ["nih_00000075_000_gray_256.png", "nih_00005224_000_rgba_256.png", "siim_cr_chest_pa_mono2.dcm"]) {
      const bytes = readFileSync(join(FIXTURES, name));
      const onDisk = await ingestImage(bytes, disk);
      const inPacs = await ingestImage(bytes, pacs);
      assert.ok(parsePacsKey(inPacs.displayKey), `${name}: the display image is in the PACS`);
      const fromDisk = (await disk.get(onDisk.displayKey))!;
      const fromPacs = (await pacs.get(inPacs.displayKey))!;
      const a = pixelsOf(fromDisk);
      const b = pixelsOf(fromPacs);
      assert.deepEqual([b.width, b.height], [a.width, a.height], name);
      assert.ok(Buffer.from(b.pixels).equals(Buffer.from(a.pixels)), `${name}: identical 8-bit pixels`);
      const encodedDisk = await engine.encode({ key: `disk-${name}`, bytes: fromDisk });
      const encodedPacs = await engine.encode({ key: `pacs-${name}`, bytes: fromPacs });
      for (const [output, tensor] of Object.entries(encodedDisk.features)) {
        assert.deepEqual(encodedPacs.features[output]!.data, tensor.data, `${name}: encoder output ${output}`);
      }
    }
  },
);

test(
  "with the PACS away, a put and a get fail with a retriable UnavailableError and the original is not left on disk",
  { skip, timeout: 60_000 },
  async () => {
    const client = createDicomWebClient({ baseUrl: `http://127.0.0.1:${await freePort()}/dicom-web`, timeoutMs: 2_000 });
    const originalsRoot = join(work, "down-originals");
    const originals = createLocalDiskImageStore({ root: originalsRoot });
    const pacs = createPacsImageStore({ client, fallback: originals });
    // a JPEG-like path: an RGBA PNG's original goes to disk first, then its display PNG to the PACS
    const bytes = readFileSync(join(FIXTURES, "nih_00005224_000_rgba_256.png"));
    await assert.rejects(ingestImage(bytes, pacs), (error: unknown) => {
      assert.ok(error instanceof UnavailableError, String(error));
      assert.equal(error.retriable, true);
      assert.equal(error.httpStatus, 503);
      return true;
    });
    const record = await ingestImage(bytes, createLocalDiskImageStore({ root: join(work, "down-probe") }));
    assert.equal(await originals.has(record.originalKey), false, "the original written before the PACS failed is removed");
    const key = `dicomweb:${contentUids("0".repeat(64)).studyInstanceUid}/${contentUids("0".repeat(64)).seriesInstanceUid}/${contentUids("0".repeat(64)).sopInstanceUid}.png`;
    await assert.rejects(pacs.get(key), UnavailableError);
  },
);

test(
  "a DICOM data set without the Part 10 header (no DICM, so no UIDs STOW could use) keeps its original on the fallback disk, and its display image still goes to the PACS",
  { skip, timeout: 120_000 },
  async () => {
    const { pacs } = stores("raw-dataset");
    const bytes = readFileSync(join(FIXTURES, "nema_cr_mono1_10bit_chest.dcm"));
    assert.notEqual(Buffer.from(bytes.subarray(128, 132)).toString("latin1"), "DICM", "the fixture is a bare data set");
    const record = await ingestImage(bytes, pacs);
    assert.equal(parsePacsKey(record.originalKey), null, `original on the fallback disk: ${record.originalKey}`);
    // kept as the upload path keeps DICOM originals (de-identified), and still the same film
    const stored = await pacs.get(record.originalKey);
    assert.ok(stored, "the original is readable");
    const kept = decodeImage(stored, { limits: resolveImageLimits({}) });
    const sent = decodeImage(bytes, { limits: resolveImageLimits({}) });
    assert.deepEqual([kept.width, kept.height, kept.pixels.length], [sent.width, sent.height, sent.pixels.length]);
    assert.ok(parsePacsKey(record.displayKey), `display image in the PACS: ${record.displayKey}`);
  },
);
