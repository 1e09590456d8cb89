// DICOM in against a real Orthanc (C-STORE with dcmtk's storescu) and real PostgreSQL: the watcher follows
// /changes, maps the calling AE title to a tenant, ingests frontal chest radiographs and logs every skip.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Repositories } from "../../lib/db/index.ts";
import { createLocalDiskImageStore, ingestImage } from "../../lib/images/index.ts";
import { silentLogger } from "../../lib/logger/index.ts";
import { wrapSecondaryCapture } from "../../lib/interop/dicom-sc/wrap.ts";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import { createOrthancRest } from "../../lib/pacs-ingest/orthanc-rest.ts";
import { createPacsIngestWatcher } from "../../lib/pacs-ingest/watcher.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc, type OrthancHandle } from "../../lib/stack/orthanc.ts";
import { createTestContext, waitFor } from "../helpers/index.ts";
import { storescu, variant as variantIn } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "gkmvlp-pacs-ingest-"));
const orthancDir = join(work, "orthanc");
after(async () => {
  await stopOrthanc(orthancDir);
  rmSync(work, { recursive: true, force: true });
});

const variant = (name: string, modify: string[]) => variantIn(work, name, modify);

function watcher(repos: Repositories, orthanc: OrthancHandle, store: ReturnType<typeof createLocalDiskImageStore>) {
  return createPacsIngestWatcher({
    orthanc: createOrthancRest({ url: orthanc.url, credentials: orthanc.credentials }),
    repos,
    ingest: (bytes, policy) => ingestImage(bytes, store, {}, { deidentify: policy.deidentify, uidKey: policy.uidKey }),
    policyFor: async (tenantId) => ({ deidentify: true, uidKey: `key-${tenantId}` }),
    logger: silentLogger,
    options: { pollMs: 50, batchSize: 3, maxInstanceBytes: 64 * 1024 * 1024, maxAttempts: 3, backoff: { initialMs: 20, maxMs: 100 } },
  });
}

async function drain(w: ReturnType<typeof watcher>): Promise<void> {
  while ((await w.runOnce()) > 0);
}

test(
  "a frontal chest CR sent by a mapped AE title becomes a PACS study of that tenant with its analyses queued; lateral, non-chest, SR and unknown senders are logged and skipped; a restart ingests nothing twice",
  { skip: !orthancInstalled(), timeout: 180_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    const orthanc = await startOrthanc({ dataDir: orthancDir, httpPort: await freePort(), dicomPort: await freePort() });
    const store = createLocalDiskImageStore({ root: join(work, "store") });
    const a = await ctx.repos.tenants.create({ slug: `pacs-a-${Date.now()}`, name: "A" });
    const b = await ctx.repos.tenants.create({ slug: `pacs-b-${Date.now()}`, name: "B" });
    await ctx.repos.pacsIngest.upsertSource({ tenantId: a.id, callingAet: "CR_ROOM_1", tasks: [] });
    await ctx.repos.pacsIngest.upsertSource({ tenantId: b.id, callingAet: "B_ROOM", tasks: ["CLASSIFICATION"] });

    const frontal = variant("frontal", []);
    storescu(orthanc, "CR_ROOM_1", [
      frontal,
      variant("lateral", ["(0018,5101)=LL"]),
      variant("hand", ["(0018,0015)=HAND"]),
      variant("sr", ["(0008,0060)=SR"]),
    ]);
    storescu(orthanc, "STRANGER", [variant("stranger", [])]);

    const w = watcher(ctx.repos, orthanc, store);
    await waitFor("five instances handled", async () => {
      await drain(w);
      const logA = await ctx.repos.pacsIngest.listLog(a.id, 50);
      const unmapped = await ctx.repos.pacsIngest.listUnmapped(50);
      return logA.length === 4 && unmapped.length === 1;
    });

    const logA = await ctx.repos.pacsIngest.listLog(a.id, 50);
    const reasons = logA.map((r) => `${r.outcome}:${r.reason ?? ""}`).sort();
    assert.deepEqual(reasons, ["INGESTED:", "SKIPPED:LATERAL", "SKIPPED:NOT_CHEST", "SKIPPED:NOT_IMAGE"]);
    const [unknown] = await ctx.repos.pacsIngest.listUnmapped(50);
    assert.equal(unknown!.callingAet, "STRANGER");
    assert.equal(unknown!.reason, "UNKNOWN_SOURCE");
    assert.deepEqual(await ctx.repos.pacsIngest.listLog(b.id, 50), [], "tenant B sees none of A's instances");

    const ingested = logA.find((r) => r.outcome === "INGESTED")!;
    const study = await ctx.repos.studies.findById(a.id, ingested.studyId!);
    assert.ok(study, "the study is in tenant A");
    assert.equal(study.source, "PACS");
    assert.equal(study.sourceAet, "CR_ROOM_1");
    assert.ok(study.studyInstanceUid, "the (pseudonymised) Study Instance UID is kept");
    assert.equal(await ctx.repos.studies.findById(b.id, study.id), null);
    const analyses = await ctx.db.prisma.analysis.findMany({ where: { studyId: study.id } });
    assert.deepEqual(analyses.map((x) => x.task).sort(), ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"]);
    assert.ok(analyses.every((x) => x.status === "QUEUED"));
    const audited = await ctx.db.prisma.auditEvent.findMany({ where: { tenantId: a.id, action: "pacs.ingest" } });
    assert.deepEqual(
      audited.map((e) => [e.actor, e.targetId]),
      [["system:pacs-ingest", study.id]],
    );

    // restart, and a crash that lost the cursor: the same changes replayed are recognised, nothing is ingested twice
    await w.stop(); // gives the feed's lease up, as a stopping gateway does
    const again = watcher(ctx.repos, orthanc, store);
    await drain(again);
    await ctx.repos.pacsIngest.writeCursor("orthanc", 0);
    await drain(again);
    assert.equal(await ctx.db.prisma.image.count({ where: { tenantId: a.id } }), 1);
    assert.equal(await ctx.db.prisma.analysis.count({ where: { tenantId: a.id } }), 4);
    assert.equal(await ctx.db.prisma.pacsIngestLog.count(), 5);
    assert.equal(again.leading(), true, "the restarted watcher follows the feed");
    // and the started loop follows new instances by itself
    await again.start();
    t.after(() => again.stop());
    storescu(orthanc, "B_ROOM", [variant("frontal-b", [])]);
    await waitFor("B's instance ingested", async () => (await ctx.repos.pacsIngest.listLog(b.id, 5)).length === 1);
    assert.equal(await ctx.db.prisma.analysis.count({ where: { tenantId: b.id } }), 1);
    assert.equal(again.ready(), true);
  },
);

test(
  "an unreachable Orthanc fails the pass without moving the cursor and makes the watcher unready; an instance over the size cap is logged TOO_LARGE unread; a poison instance is logged FAILED once and passed",
  { skip: !orthancInstalled(), timeout: 180_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    const store = createLocalDiskImageStore({ root: join(work, "store2") });
    const tenant = await ctx.repos.tenants.create({ slug: `pacs-c-${Date.now()}`, name: "C" });
    await ctx.repos.pacsIngest.upsertSource({ tenantId: tenant.id, callingAet: "BIG_CR", tasks: [] });
    // nothing listens on this port: a real refused connection, as when Orthanc is down
    const down = { url: `http://127.0.0.1:${await freePort()}`, credentials: { username: "u", password: "p" } } as OrthancHandle;
    const offline = watcher(ctx.repos, down, store);
    await ctx.repos.pacsIngest.writeCursor("orthanc", 7);
    await assert.rejects(offline.runOnce(), (error: unknown) => (error as { code?: string }).code === "ORTHANC_UNAVAILABLE");
    assert.equal(await ctx.repos.pacsIngest.readCursor("orthanc"), 7);
    await offline.start();
    await waitFor("unready while Orthanc is down", async () => !offline.ready());
    await offline.stop();
    await ctx.repos.pacsIngest.writeCursor("orthanc", 0);

    const dir = join(work, "orthanc2");
    t.after(() => stopOrthanc(dir));
    const orthanc = await startOrthanc({ dataDir: dir, httpPort: await freePort(), dicomPort: await freePort() });
    storescu(orthanc, "BIG_CR", [variant("big", [])]);
    const capped = createPacsIngestWatcher({
      orthanc: createOrthancRest({ url: orthanc.url, credentials: orthanc.credentials }),
      repos: ctx.repos,
      ingest: () => Promise.reject(new Error("must not be fetched or decoded")),
      policyFor: async () => ({ deidentify: true, uidKey: "k" }),
      logger: silentLogger,
      options: { pollMs: 50, batchSize: 10, maxInstanceBytes: 1024, maxAttempts: 3, backoff: { initialMs: 20, maxMs: 100 } },
    });
    await waitFor("the instance logged", async () => {
      await drain(capped);
      return (await ctx.repos.pacsIngest.listLog(tenant.id, 5)).length === 1;
    });
    const [row] = await ctx.repos.pacsIngest.listLog(tenant.id, 5);
    assert.equal(row!.reason, "TOO_LARGE");
    assert.equal(await ctx.db.prisma.study.count({ where: { tenantId: tenant.id } }), 0);

    // a poison instance (fails while Orthanc and PostgreSQL answer) is retried, then logged FAILED once and passed
    await ctx.repos.pacsIngest.upsertSource({ tenantId: tenant.id, callingAet: "POISON_CR", tasks: [] });
    storescu(orthanc, "POISON_CR", [variant("poison", [])]);
    const poisoned = createPacsIngestWatcher({
      orthanc: createOrthancRest({ url: orthanc.url, credentials: orthanc.credentials }),
      repos: ctx.repos,
      ingest: () => Promise.reject(new Error("a decoder bug")),
      policyFor: async () => ({ deidentify: true, uidKey: "k" }),
      logger: silentLogger,
      cursorId: "poison",
      options: { pollMs: 50, batchSize: 10, maxInstanceBytes: 64 * 1024 * 1024, maxAttempts: 3, backoff: { initialMs: 20, maxMs: 100 } },
    });
    let failures = 0;
    await waitFor("the poison instance logged", async () => {
      await drain(poisoned).catch(() => failures++);
      return (await ctx.repos.pacsIngest.listLog(tenant.id, 5)).length === 2;
    });
    assert.equal(failures, 2, "two failed passes, the third records it");
    const failed = (await ctx.repos.pacsIngest.listLog(tenant.id, 5)).find((r) => r.callingAet === "POISON_CR");
    assert.equal(failed?.reason, "FAILED");
    assert.ok((await ctx.repos.pacsIngest.readCursor("poison")) > 0, "the cursor moved past it");
  },
);

test(
  "two gateways running the watcher: one holds the feed's lease and ingests each instance once; when it stops, the other takes over; an expired lease passes on",
  { skip: !orthancInstalled(), timeout: 180_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    const orthanc = await startOrthanc({ dataDir: join(work, "orthanc-lease"), httpPort: await freePort(), dicomPort: await freePort() });
    t.after(() => stopOrthanc(join(work, "orthanc-lease")));
    const store = createLocalDiskImageStore({ root: join(work, "store-lease") });
    const tenant = await ctx.repos.tenants.create({ slug: `pacs-lease-${Date.now()}`, name: "L" });
    await ctx.repos.pacsIngest.upsertSource({ tenantId: tenant.id, callingAet: "LEASE_CR", tasks: ["CLASSIFICATION"] });
    storescu(orthanc, "LEASE_CR", [variant("lease-1", []), variant("lease-2", []), variant("lease-3", [])]);

    const first = watcher(ctx.repos, orthanc, store);
    const second = watcher(ctx.repos, orthanc, store);
    await waitFor("three instances handled", async () => {
      await Promise.all([first.runOnce(), second.runOnce()]);
      return (await ctx.repos.pacsIngest.listLog(tenant.id, 10)).length === 3;
    });
    assert.equal([first.leading(), second.leading()].filter(Boolean).length, 1, "exactly one follows the feed");
    assert.equal(await ctx.db.prisma.image.count({ where: { tenantId: tenant.id } }), 3);
    assert.equal(await ctx.db.prisma.analysis.count({ where: { tenantId: tenant.id } }), 3);

    const [leader, standby] = first.leading() ? [first, second] : [second, first];
    await leader.stop();
    storescu(orthanc, "LEASE_CR", [variant("lease-4", [])]);
    await waitFor("the standby ingests the next instance", async () => {
      await standby.runOnce();
      return (await ctx.repos.pacsIngest.listLog(tenant.id, 10)).length === 4;
    });
    assert.equal(standby.leading(), true);

    // the platform's own objects in the same PACS (a stored image, an SR), sent over DICOMweb with no calling AE
    // title, are not input: passed without a log row, not reported as an unknown source
    const own = wrapSecondaryCapture({
      width: 4,
      height: 4,
      pixels: new Uint8Array(16).fill(90),
      patient: { id: "P" },
      study: { accession: "A" },
      createdAt: new Date(),
    });
    await createDicomWebClient({ baseUrl: `${orthanc.url}/dicom-web`, credentials: orthanc.credentials }).store([own.bytes]);
    const before = await ctx.db.prisma.pacsIngestLog.count();
    while ((await standby.runOnce()) > 0);
    assert.equal(await ctx.db.prisma.pacsIngestLog.count(), before);
    assert.deepEqual(await ctx.repos.pacsIngest.listUnmapped(5), []);
    await standby.stop();

    // the lease itself: held until it expires, then anyone's; one statement, so one winner
    const lease = ctx.repos.pacsIngest;
    assert.equal(await lease.acquireLease("feed-x", "a", 300), true);
    assert.equal(await lease.acquireLease("feed-x", "b", 300), false);
    assert.equal(await lease.acquireLease("feed-x", "a", 300), true, "the holder renews");
    await new Promise((r) => setTimeout(r, 400));
    const race = await Promise.all(["b", "c", "d"].map((h) => lease.acquireLease("feed-x", h, 10_000)));
    assert.equal(race.filter(Boolean).length, 1, "one of three takes an expired lease");
    assert.equal(await lease.acquireLease("feed-x", "a", 300), false);
  },
);
