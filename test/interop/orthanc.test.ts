// The local Orthanc the stack starts: loopback with authentication, data kept across a restart, and a grounded SR
// stored with STOW-RS found by QIDO-RS and read back byte for byte by WADO-RS.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import { readImageFromDicomWeb } from "../../lib/interop/dicomweb/read-image.ts";
import { wrapSecondaryCapture } from "../../lib/interop/dicom-sc/wrap.ts";
import { DEFAULT_IMAGE_LIMITS } from "../../lib/images/limits.ts";
import { buildGroundedSr } from "../../lib/interop/dicom-sr/index.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { findOrthancPids, orthancInstalled, startOrthanc, stopOrthanc } from "../../lib/stack/orthanc.ts";

const dataDir = mkdtempSync(join(tmpdir(), "gkmvlp-orthanc-"));
after(async () => {
  await stopOrthanc(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
});

function sr() {
  return buildGroundedSr({
    study: { studyInstanceUid: "2.25.555", accession: "ACC-O" },
    patient: { id: "MRN-O" },
    source: { sopClassUid: "1.2.840.10008.5.1.4.1.1.7", sopInstanceUid: "2.25.557", seriesInstanceUid: "2.25.556" },
    algorithm: { name: "gkmvlp-cxr", version: "1", bundleSha256: "0".repeat(64), deviceUid: "2.25.9", manufacturer: "GK-MVLP" },
    findings: [{ label: "Pneumothorax", probability: 0.7, regions: ["left lung"], box: { x1: 1, y1: 2, x2: 30, y2: 40 } }],
    sentences: [{ text: "Left pneumothorax.", regions: ["left lung"] }],
    createdAt: new Date(),
  });
}

test(
  "Orthanc starts with auth on, keeps a STOW-RS instance across a restart, and serves it by QIDO-RS and WADO-RS",
  { skip: !orthancInstalled(), timeout: 180_000 },
  async () => {
    const options = { dataDir, httpPort: await freePort(), dicomPort: await freePort() };
    const first = await startOrthanc(options);
    assert.equal(first.reused, false);
    const anonymous = await fetch(`${first.url}/system`);
    await anonymous.arrayBuffer();
    assert.equal(anonymous.status, 401);

    const built = sr();
    await createDicomWebClient({ baseUrl: first.dicomWebUrl, credentials: first.credentials }).store([built.bytes]);
    await first.stop();
    assert.deepEqual(findOrthancPids(dataDir), []);

    const second = await startOrthanc(options);
    assert.deepEqual(second.credentials, first.credentials);
    const client = createDicomWebClient({ baseUrl: second.dicomWebUrl, credentials: second.credentials });
    const found = await client.searchInstances("2.25.555");
    assert.deepEqual(
      found.map((i) => i["00080018"]?.Value?.[0]),
      [built.sopInstanceUid],
    );
    const back = await client.retrieveInstance("2.25.555", built.seriesInstanceUid, built.sopInstanceUid);
    assert.ok(back.equals(built.bytes));

    // an upload stored in the PACS reads back, through the worker's reader, as the uploaded pixels
    const pixels = Uint8Array.from({ length: 40 * 30 }, (_, i) => (i * 31) % 256);
    const sc = wrapSecondaryCapture({
      width: 40,
      height: 30,
      pixels,
      patient: { id: "MRN-O" },
      study: { studyInstanceUid: "2.25.555", accession: "ACC-O" },
      createdAt: new Date(),
    });
    await client.store([sc.bytes]);
    const image = await readImageFromDicomWeb(client, sc, DEFAULT_IMAGE_LIMITS);
    assert.deepEqual([image.width, image.height], [40, 30]);
    assert.deepEqual(Buffer.from(image.pixels), Buffer.from(pixels));
    await second.stop();
  },
);
