// DICOM in with the PACS as the only image store (IMAGE_STORE=pacs), through the real gateway (its watcher), the real
// worker on a different disk, Orthanc, PostgreSQL and Kafka: a film sent by C-STORE is analysed from the instance that
// was sent, with no second (Secondary Capture) copy of it in the PACS, and its classification equals the one today's
// path gives the same film (an upload, whose display image is stored in the PACS).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createLocalDiskImageStore } from "../../lib/images/index.ts";
import { createPacsImageStore, originalInstanceKey } from "../../lib/images/pacs-store.ts";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import { createOrthancRest } from "../../lib/pacs-ingest/orthanc-rest.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc, type OrthancHandle } from "../../lib/stack/orthanc.ts";
import { loadBundle } from "../../workers/analysis/src/bundle/load.ts";
import { createEngine } from "../../workers/analysis/src/inference/engine.ts";
import { createAnalysisWorker } from "../../workers/analysis/src/worker.ts";
import { createStudy, startGatewayFixture } from "../gateway/fixture.ts";
import { storescu, variant } from "../pacs-ingest/helpers.ts";
import { resolveBundleDir, waitFor, workerConfig } from "../worker-loop/harness.ts";

const work = mkdtempSync(join(tmpdir(), "gkmvlp-pacs-single-"));
const orthancDir = join(work, "orthanc");
after(async () => {
  await stopOrthanc(orthancDir);
  rmSync(work, { recursive: true, force: true });
});

function pacsStore(orthanc: OrthancHandle, diskRoot: string) {
  const client = createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, credentials: orthanc.credentials, timeoutMs: 5_000 });
  const originals = createOrthancRest({ url: orthanc.url, credentials: orthanc.credentials });
  return createPacsImageStore({ client, fallback: createLocalDiskImageStore({ root: diskRoot }), originals });
}

const FINDINGS = `query($id: ID!) { analysis(id: $id) { status result { ... on ClassificationResult { findings { label probability } } } } }`;

test(
  "a film sent by C-STORE is analysed from the sent instance with no second copy in the PACS, to the same classification as today's stored display image",
  { skip: !orthancInstalled(), timeout: 400_000 },
  async (t) => {
    const orthanc = await startOrthanc({ dataDir: orthancDir, httpPort: await freePort(), dicomPort: await freePort() });
    const fx = await startGatewayFixture(t, {
      imageStore: (storeDir) => pacsStore(orthanc, storeDir),
      env: {
        IMAGE_STORE: "pacs",
        ORTHANC_URL: orthanc.url,
        ORTHANC_USERNAME: orthanc.credentials.username,
        ORTHANC_PASSWORD: orthanc.credentials.password,
        PACS_INGEST: "true",
        PACS_INGEST_POLL_MS: "100",
      },
    });
    const { ctx } = fx;
    const prisma = ctx.db.prisma;
    const bundleDir = resolveBundleDir();
    const bundle = await loadBundle(bundleDir);
    const engine = createEngine(bundle);
    ctx.defer(async () => {
      await engine.close();
      await bundle.release();
    });
    const workerRoot = join(work, "worker-disk");
    const config = workerConfig({
      databaseUrl: ctx.databaseUrl,
      brokers: ctx.brokers,
      topics: ctx.topics,
      bundleDir,
      storageDir: workerRoot,
    });
    const worker = createAnalysisWorker({ config, db: ctx.db, kafka: ctx.kafka, engine, imageStore: pacsStore(orthanc, workerRoot) });
    ctx.defer(() => worker.stop());
    await worker.start();

    const tenantId = fx.tenantA.tenantId;
    await ctx.repos.pacsIngest.upsertSource({ tenantId, callingAet: "ONE_COPY_CR", tasks: ["CLASSIFICATION"] });
    const film = variant(work, "film", []);
    storescu(orthanc, "ONE_COPY_CR", [film]);

    const log = await waitFor("the film ingested", async () => (await ctx.repos.pacsIngest.listLog(tenantId, 5))[0] ?? false, 60_000);
    assert.equal(log.outcome, "INGESTED");
    const image = await prisma.image.findUniqueOrThrow({ where: { id: log.imageId! } });
    assert.equal(image.derivedPngKey, originalInstanceKey(log.orthancId), "the display key names the sent instance");
    const ingested = await prisma.analysis.findFirstOrThrow({ where: { imageId: image.id, task: "CLASSIFICATION" } });
    const finished = async (id: string) =>
      waitFor(
        `analysis ${id} to finish`,
        async () => {
          const a = await prisma.analysis.findUnique({ where: { id } });
          return a?.status === "SUCCEEDED" || a?.status === "FAILED" ? a : false;
        },
        180_000,
      );
    const done = await finished(ingested.id);
    assert.equal(done.status, "SUCCEEDED", `${done.errorCode}: ${done.errorMessage}`);
    const basic = {
      authorization: `Basic ${Buffer.from(`${orthanc.credentials.username}:${orthanc.credentials.password}`).toString("base64")}`,
    };
    const instances = (await (await fetch(`${orthanc.url}/instances`, { headers: basic })).json()) as string[];
    assert.deepEqual(instances, [log.orthancId], "one instance in the PACS: the film as sent");
    const auth = fx.a.RADIOLOGIST;
    const served = await fetch(`${fx.gateway.url}/images/${image.id}`, { headers: auth });
    assert.equal(served.status, 200, "the image endpoint serves it from the original");

    // today's path for the same film: uploaded, its display image stored in the PACS as a Secondary Capture
    const up = await fx.upload(readFileSync(film), "application/dicom", auth);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const { studyId } = await createStudy(fx, auth);
    const attached = await fx.gql(
      `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id } errors { code } } }`,
      { s: studyId, u: up.body.uploadId },
      auth,
    );
    assert.deepEqual(attached.body.data.attachImage.errors, []);
    const requested = await fx.gql(
      `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [CLASSIFICATION] }) { analyses { id } errors { code } } }`,
      { s: studyId },
      auth,
    );
    const todayId = requested.body.data.requestAnalyses.analyses[0].id as string;
    assert.equal((await finished(todayId)).status, "SUCCEEDED");
    const findings = async (id: string) => (await fx.gql(FINDINGS, { id }, auth)).body.data.analysis.result.findings;
    const fromOriginal = await findings(ingested.id);
    assert.ok(fromOriginal.length > 0);
    assert.deepEqual(fromOriginal, await findings(todayId), "the same probabilities as from a stored display image");
  },
);
