// The PACS as the only shared image store: a real gateway and a real worker with DIFFERENT disk roots, a real Orthanc,
// PostgreSQL and Kafka. Uploads reach the worker only through DICOMweb; the PACS being away is a typed, retriable
// refusal at upload and a retry (not a lost analysis) at analysis time.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createLocalDiskImageStore, decodeImage, resolveImageLimits } from "../../lib/images/index.ts";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import { createPacsImageStore, parsePacsKey } from "../../lib/images/pacs-store.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc, type OrthancHandle } from "../../lib/stack/orthanc.ts";
import { loadBundle } from "../../workers/analysis/src/bundle/load.ts";
import { createEngine } from "../../workers/analysis/src/inference/engine.ts";
import { createAnalysisWorker } from "../../workers/analysis/src/worker.ts";
import { createStudy, grayPng, startGatewayFixture, type Auth, type GatewayFixture } from "../gateway/fixture.ts";
import { resolveBundleDir, waitFor, workerConfig } from "../worker-loop/harness.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/images");
const work = mkdtempSync(join(tmpdir(), "gkmvlp-pacs-e2e-"));
const orthancDir = join(work, "orthanc");
after(async () => {
  await stopOrthanc(orthancDir);
  rmSync(work, { recursive: true, force: true });
});

function pacsStore(orthanc: OrthancHandle, diskRoot: string) {
  const client = createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, credentials: orthanc.credentials, timeoutMs: 5_000 });
  return createPacsImageStore({ client, fallback: createLocalDiskImageStore({ root: diskRoot }) });
}

async function attach(fx: GatewayFixture, auth: Auth, uploadId: string): Promise<{ studyId: string; imageId: string }> {
  const { studyId } = await createStudy(fx, auth);
  const a = await fx.gql(
    `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id } errors { code message } } }`,
    { s: studyId, u: uploadId },
    auth,
  );
  assert.deepEqual(a.body.data.attachImage.errors, [], JSON.stringify(a.body));
  return { studyId, imageId: a.body.data.attachImage.image.id as string };
}

async function requestClassification(fx: GatewayFixture, auth: Auth, studyId: string): Promise<string> {
  const r = await fx.gql(
    `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [CLASSIFICATION] }) { analyses { id } errors { code message } } }`,
    { s: studyId },
    auth,
  );
  assert.deepEqual(r.body.data.requestAnalyses.errors, [], JSON.stringify(r.body));
  return r.body.data.requestAnalyses.analyses[0].id as string;
}

test(
  "with gateway and worker on different disks, an upload is analysed through the PACS; the PACS away refuses uploads with a typed retriable error and delays, but does not lose, an analysis",
  { skip: !orthancInstalled(), timeout: 300_000 },
  async (t) => {
    const ports = { httpPort: await freePort(), dicomPort: await freePort() };
    let orthanc = await startOrthanc({ dataDir: orthancDir, ...ports });
    const workerRoot = join(work, "worker-disk");
    // Orthanc comes back on the same ports with the same credentials, so both stores keep working across its restart
    const fx = await startGatewayFixture(t, { imageStore: (storeDir) => pacsStore(orthanc, storeDir) });
    const { ctx } = fx;
    const bundleDir = resolveBundleDir();
    const bundle = await loadBundle(bundleDir);
    const engine = createEngine(bundle);
    ctx.defer(async () => {
      await engine.close();
      await bundle.release();
    });
    const config = workerConfig(
      { databaseUrl: ctx.databaseUrl, brokers: ctx.brokers, topics: ctx.topics, bundleDir, storageDir: workerRoot },
      // room to wait out a PACS restart (a few seconds) before the message would be dead-lettered
      { retry: { maxAttempts: 30, backoffMs: 500, backoffMaxMs: 1_000 } },
    );
    const worker = createAnalysisWorker({ config, db: ctx.db, kafka: ctx.kafka, engine, imageStore: pacsStore(orthanc, workerRoot) });
    ctx.defer(() => worker.stop());
    await worker.start();
    const auth = fx.a.RADIOLOGIST;
    const prisma = ctx.db.prisma;

    // 1. an 8-bit gray PNG: its own display image, so the original is the SC instance too
    const bytes = readFileSync(join(FIXTURES, "nih_00000075_000_gray_256.png"));
    const up = await fx.upload(bytes, "image/png", auth);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const first = await attach(fx, auth, up.body.uploadId);
    const row = (await prisma.image.findUnique({ where: { id: first.imageId } }))!;
    const uids = parsePacsKey(row.derivedPngKey ?? row.storageKey);
    assert.ok(uids, `the Image row names a PACS instance: ${row.derivedPngKey}`);
    const client = createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, credentials: orthanc.credentials });
    const inPacs = await client.searchInstances(uids.studyInstanceUid);
    assert.deepEqual(
      inPacs.map((i) => i["00080018"]?.Value?.[0]),
      [uids.sopInstanceUid],
      "the SC instance is in Orthanc under the recorded UIDs",
    );
    assert.deepEqual(await fx.storedFiles(), [], "nothing on the gateway's disk: a gray PNG lives in the PACS only");

    const firstAnalysis = await requestClassification(fx, auth, first.studyId);
    await waitFor(
      "the first analysis to succeed",
      async () => {
        const a = await prisma.analysis.findUnique({ where: { id: firstAnalysis } });
        return a?.status === "SUCCEEDED" || a?.status === "FAILED" ? a : false;
      },
      120_000,
    ).then((a) => assert.equal(a.status, "SUCCEEDED", `${a.errorCode}: ${a.errorMessage}`));

    const served = await fetch(`${fx.gateway.url}/images/${first.imageId}`, { headers: auth });
    assert.equal(served.status, 200);
    const shown = decodeImage(new Uint8Array(await served.arrayBuffer()), { limits: resolveImageLimits({}) });
    const uploaded = decodeImage(bytes, { limits: resolveImageLimits({}) });
    assert.ok(
      Buffer.from(shown.pixels).equals(Buffer.from(uploaded.pixels)),
      "the image endpoint serves the uploaded pixels from the PACS",
    );

    // 2. the same bytes again: the same instance, no second one
    const instancesBefore = (await (await fetch(`${orthanc.url}/instances`, { headers: basic(orthanc) })).json()) as string[];
    const again = await fx.upload(bytes, "image/png", auth);
    assert.equal(again.status, 200);
    const instancesAfter = (await (await fetch(`${orthanc.url}/instances`, { headers: basic(orthanc) })).json()) as string[];
    assert.equal(instancesAfter.length, instancesBefore.length, "a second upload of the same bytes stores no second instance");

    // 3. an RGBA PNG (original on the gateway's disk, display PNG in the PACS) attached, then the PACS goes away
    const rgba = await fx.upload(readFileSync(join(FIXTURES, "nih_00005224_000_rgba_256.png")), "image/png", auth);
    assert.equal(rgba.status, 200, JSON.stringify(rgba.body));
    const second = await attach(fx, auth, rgba.body.uploadId);
    await orthanc.stop();
    const secondAnalysis = await requestClassification(fx, auth, second.studyId);
    await waitFor(
      "the worker to retry while the PACS is away",
      async () => {
        const a = await prisma.analysis.findUnique({ where: { id: secondAnalysis } });
        return (a?.attempts ?? 0) >= 2 || a?.status === "FAILED";
      },
      60_000,
    );

    // 4. an upload while the PACS is away: 503 UNAVAILABLE with Retry-After, and no row and no file written
    const imagesBefore = await prisma.image.count();
    const filesBefore = await fx.storedFiles();
    const refused = await fetch(`${fx.gateway.url}/upload`, {
      method: "POST",
      headers: { ...auth, "content-type": "image/png" },
      body: new Uint8Array(grayPng(48, 48, 7)),
    });
    const refusal = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(refused.status, 503);
    assert.equal(refusal.error.code, "UNAVAILABLE");
    assert.ok(Number(refused.headers.get("retry-after")) > 0, "the client is told when to retry");
    assert.equal(await prisma.image.count(), imagesBefore, "no Image row");
    assert.deepEqual(await fx.storedFiles(), filesBefore, "no file left on the gateway's disk");

    const away = await fetch(`${fx.gateway.url}/images/${first.imageId}`, { headers: auth });
    assert.equal(away.status, 503, "the image endpoint says the store is away, retriable");
    assert.equal(((await away.json()) as { error: { code: string } }).error.code, "UNAVAILABLE");

    // the PACS is back: the delayed analysis completes, nothing lost
    orthanc = await startOrthanc({ dataDir: orthancDir, ...ports });
    const done = await waitFor(
      "the delayed analysis to finish",
      async () => {
        const a = await prisma.analysis.findUnique({ where: { id: secondAnalysis } });
        return a?.status === "SUCCEEDED" || a?.status === "FAILED" ? a : false;
      },
      120_000,
    );
    assert.equal(done.status, "SUCCEEDED", `${done.errorCode}: ${done.errorMessage}`);
    assert.ok(done.attempts >= 2, "it succeeded on a retry");
  },
);

function basic(orthanc: OrthancHandle): Record<string, string> {
  const { username, password } = orthanc.credentials;
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` };
}
