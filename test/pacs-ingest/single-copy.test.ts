// IMAGE_STORE=pacs and DICOM in: a film that arrived in the PACS is not stored there a second time. Real Orthanc
// (C-STORE with storescu) and PostgreSQL: after the watcher ingests it, Orthanc holds the one instance that was sent;
// the image's keys (original and display) name that instance by its Orthanc id; reading it gives byte for byte the display PNG that
// today's path (a stored display image) would have given, hence the same encoder features and the same analysis.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createLocalDiskImageStore, ingestImage } from "../../lib/images/index.ts";
import { createPacsImageStore, displayFromOriginal, originalInstanceKey } from "../../lib/images/pacs-store.ts";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import { silentLogger } from "../../lib/logger/index.ts";
import { createOrthancRest } from "../../lib/pacs-ingest/orthanc-rest.ts";
import { createPacsIngestWatcher } from "../../lib/pacs-ingest/watcher.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc } from "../../lib/stack/orthanc.ts";
import { loadBundle } from "../../workers/analysis/src/bundle/load.ts";
import { createEngine } from "../../workers/analysis/src/inference/engine.ts";
import { createTestContext } from "../helpers/index.ts";
import { resolveBundleDir } from "../worker-loop/harness.ts";
import { storescu, variant } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "gkmvlp-single-copy-"));
after(async () => {
  await stopOrthanc(join(work, "orthanc"));
  rmSync(work, { recursive: true, force: true });
});

test(
  "a film ingested from the PACS with the PACS as image store stays one instance there; its display key reads back as the same PNG and encoder features as a stored display image",
  { skip: !orthancInstalled(), timeout: 240_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    const orthanc = await startOrthanc({ dataDir: join(work, "orthanc"), httpPort: await freePort(), dicomPort: await freePort() });
    const rest = createOrthancRest({ url: orthanc.url, credentials: orthanc.credentials });
    const client = createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, credentials: orthanc.credentials });
    const pacs = createPacsImageStore({ client, fallback: createLocalDiskImageStore({ root: join(work, "originals") }), originals: rest });
    const tenant = await ctx.repos.tenants.create({ slug: `single-${Date.now()}`, name: "S" });
    await ctx.repos.pacsIngest.upsertSource({ tenantId: tenant.id, callingAet: "ONE_COPY", tasks: ["CLASSIFICATION"] });
    const file = variant(work, "film", []);
    storescu(orthanc, "ONE_COPY", [file]);

    const policy = { deidentify: true, uidKey: `key-${tenant.id}` };
    const watcher = createPacsIngestWatcher({
      orthanc: rest,
      repos: ctx.repos,
      // what the gateway wires when IMAGE_STORE=pacs (services/gateway/src/pacs-ingest.ts)
      ingest: (bytes, p, orthancId) => ingestImage(bytes, displayFromOriginal(pacs, orthancId), {}, p),
      policyFor: async () => policy,
      logger: silentLogger,
      options: { pollMs: 50, batchSize: 10, maxInstanceBytes: 64 * 1024 * 1024, maxAttempts: 3, backoff: { initialMs: 20, maxMs: 100 } },
    });
    while ((await watcher.runOnce()) > 0);
    const [log] = await ctx.repos.pacsIngest.listLog(tenant.id, 5);
    assert.equal(log?.outcome, "INGESTED");

    const auth = `Basic ${Buffer.from(`${orthanc.credentials.username}:${orthanc.credentials.password}`).toString("base64")}`;
    const instances = (await (await fetch(`${orthanc.url}/instances`, { headers: { authorization: auth } })).json()) as string[];
    assert.deepEqual(instances, [log!.orthancId], "the PACS holds the film that was sent, and no second instance of it");
    const image = await ctx.db.prisma.image.findUniqueOrThrow({ where: { id: log!.imageId! } });
    assert.equal(image.derivedPngKey, originalInstanceKey(log!.orthancId));
    assert.equal(await pacs.has(image.derivedPngKey!), true);
    assert.equal(image.storageKey, originalInstanceKey(log!.orthancId, "dcm"), "the original too is the sent instance");
    assert.ok((await pacs.get(image.storageKey))!.equals(readFileSync(file)), "read back as the file that was sent");

    // today's path: the same film ingested with its display image stored
    const disk = createLocalDiskImageStore({ root: join(work, "disk") });
    const today = await ingestImage(readFileSync(file), disk, {}, policy);
    const expected = (await disk.get(today.displayKey))!;
    const read = (await pacs.get(image.derivedPngKey!))!;
    assert.ok(read.equals(expected), "the display PNG read from the original is byte for byte today's");
    const bundle = await loadBundle(resolveBundleDir());
    t.after(() => bundle.release());
    const engine = createEngine(bundle);
    t.after(() => engine.close());
    const a = await engine.encode({ key: "today", bytes: expected });
    const b = await engine.encode({ key: "original", bytes: read });
    for (const [output, tensor] of Object.entries(a.features)) assert.deepEqual(b.features[output]!.data, tensor.data, output);

    // an id Orthanc does not hold reads as absent; a store without Orthanc's API says what is missing
    const gone = originalInstanceKey("00000000-00000000-00000000-00000000-00000000");
    assert.equal(await pacs.get(gone), null);
    assert.equal(await pacs.has(gone), false);
    const withoutOrthanc = createPacsImageStore({ client, fallback: disk });
    await assert.rejects(withoutOrthanc.get(image.derivedPngKey!), /ORTHANC_URL/);
    assert.equal(await pacs.delete(image.derivedPngKey!), false, "the platform never deletes a PACS instance");
  },
);
