// The STOW-RS handler against a real Orthanc and PostgreSQL (no gateway around it): the claim decides the tenant the
// watcher ingests into and who asked for the analyses; an instance that reached the PACS by C-STORE is never claimed
// by a STOW-RS; a PACS that is down answers 503, and the claim waits for the resend.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Repositories } from "../../lib/db/index.ts";
import { createLocalDiskImageStore, ingestImage } from "../../lib/images/index.ts";
import { silentLogger } from "../../lib/logger/index.ts";
import { createOrthancRest } from "../../lib/pacs-ingest/orthanc-rest.ts";
import { readStowIdentity } from "../../lib/pacs-ingest/stow-identity.ts";
import { createPacsIngestWatcher } from "../../lib/pacs-ingest/watcher.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc } from "../../lib/stack/orthanc.ts";
import type { Principal } from "../../services/gateway/src/auth/principal.ts";
import { createStowHandler } from "../../services/gateway/src/http/stow.ts";
import { createTestContext } from "../helpers/index.ts";
import { storescu, variant } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "gkmvlp-stow-"));
after(async () => {
  await stopOrthanc(join(work, "orthanc"));
  rmSync(work, { recursive: true, force: true });
});

const limits = { maxBodyBytes: 4 * 1024 * 1024, maxParts: 8, maxPartBytes: 2 * 1024 * 1024, maxConcurrent: 2 };

async function serve(repos: Repositories, orthancUrl: string, credentials: { username: string; password: string } | null, who: Principal) {
  const handle = createStowHandler({
    orthanc: createOrthancRest({ url: orthancUrl, credentials, timeoutMs: 5000 }),
    repos,
    limits,
    logger: silentLogger,
  });
  const server = http.createServer((req, res) => void handle(req, res, who));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    close: () => new Promise<void>((r) => server.close(() => r())),
    async send(files: Buffer[]): Promise<{ status: number; body: any; retryAfter: string | null }> {
      const body = Buffer.concat([
        ...files.flatMap((f) => [Buffer.from("--B\r\nContent-Type: application/dicom\r\n\r\n"), f, Buffer.from("\r\n")]),
        Buffer.from("--B--\r\n"),
      ]);
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": 'multipart/related; type="application/dicom"; boundary=B' },
        body: new Uint8Array(body),
      });
      return { status: res.status, body: await res.json(), retryAfter: res.headers.get("retry-after") };
    },
  };
}

const principal = (tenantId: string, keyId: string): Principal => ({
  kind: "apikey",
  id: keyId,
  tenantId,
  role: "CLINICIAN",
  actor: `apikey:${keyId}`,
  email: "",
  name: "pacs router",
  sessionId: null,
});
const failures = (body: any) => (body["00081198"]?.Value ?? []).map((i: any) => i["00081197"].Value[0]);

test(
  "a STOW-RS claim makes the watcher ingest into the key's tenant with the key as requester; an instance already in the PACS by C-STORE is refused 0x0111 and stays with its sender; a PACS that is down answers 503 and the claim waits for the resend",
  { skip: !orthancInstalled(), timeout: 180_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    const orthanc = await startOrthanc({ dataDir: join(work, "orthanc"), httpPort: await freePort(), dicomPort: await freePort() });
    const a = await ctx.repos.tenants.create({ slug: `stow-a-${Date.now()}`, name: "A" });
    const b = await ctx.repos.tenants.create({ slug: `stow-b-${Date.now()}`, name: "B" });
    await ctx.repos.pacsIngest.upsertSource({ tenantId: b.id, callingAet: "B_ROOM", tasks: ["CLASSIFICATION"] });
    const keyA = (await ctx.repos.apiKeys.create({ tenantId: a.id, name: "a router", role: "CLINICIAN" })).apiKey.id;
    const stowA = await serve(ctx.repos, orthanc.url, orthanc.credentials, principal(a.id, keyA));
    t.after(() => stowA.close());

    const mine = readFileSync(variant(work, "mine", []));
    const stored = await stowA.send([mine]);
    assert.equal(stored.status, 200);
    const claim = await ctx.repos.pacsIngest.findStowReceipt(readStowIdentity(mine)!.orthancId);
    assert.equal(claim?.tenantId, a.id);

    // an instance B's modality sent by C-STORE: A storing the same file is refused and claims nothing
    const bFile = variant(work, "b-film", []);
    storescu(orthanc, "B_ROOM", [bFile]);
    const dup = await stowA.send([readFileSync(bFile)]);
    assert.equal(dup.status, 409);
    assert.deepEqual(failures(dup.body), [0x0111]);
    assert.equal(await ctx.repos.pacsIngest.findStowReceipt(readStowIdentity(readFileSync(bFile))!.orthancId), null);

    const store = createLocalDiskImageStore({ root: join(work, "store") });
    const watcher = createPacsIngestWatcher({
      orthanc: createOrthancRest({ url: orthanc.url, credentials: orthanc.credentials }),
      repos: ctx.repos,
      ingest: (bytes, policy) => ingestImage(bytes, store, {}, { deidentify: policy.deidentify, uidKey: policy.uidKey }),
      policyFor: async (tenantId) => ({ deidentify: true, uidKey: `key-${tenantId}` }),
      logger: silentLogger,
      options: { pollMs: 50, batchSize: 10, maxInstanceBytes: 64 * 1024 * 1024, maxAttempts: 3, backoff: { initialMs: 20, maxMs: 100 } },
    });
    while ((await watcher.runOnce()) > 0);
    const [logA] = await ctx.repos.pacsIngest.listLog(a.id, 5);
    assert.equal(logA?.outcome, "INGESTED");
    assert.equal(logA?.callingAet, null);
    const analyses = await ctx.db.prisma.analysis.findMany({ where: { studyId: logA!.studyId! } });
    assert.equal(analyses.length, 4, "no AE title rule: all four tasks");
    assert.ok(analyses.every((x) => x.tenantId === a.id && x.requestedBy === `stow:apikey:${keyA}`));
    const [logB] = await ctx.repos.pacsIngest.listLog(b.id, 5);
    assert.equal(logB?.outcome, "INGESTED", "B's C-STORE film went to B");
    assert.equal(await ctx.db.prisma.study.count({ where: { tenantId: a.id } }), 1);
    const audit = await ctx.db.prisma.auditEvent.findMany({ where: { tenantId: a.id, action: "dicomweb.stow" }, orderBy: { at: "asc" } });
    assert.deepEqual(
      audit.map((e) => (e.details as { stored: number }).stored),
      [1, 0],
    );

    // the PACS away: 503 with Retry-After, the part failed as a processing failure; the claim stays A's (the PACS may
    // have the file after all), so A's resend is stored once the PACS is back and B still cannot take it
    const down = await serve(ctx.repos, `http://127.0.0.1:${await freePort()}`, null, principal(a.id, keyA));
    t.after(() => down.close());
    const fresh = readFileSync(variant(work, "fresh", []));
    const refused = await down.send([fresh]);
    assert.equal(refused.status, 503);
    assert.ok(refused.retryAfter);
    assert.deepEqual(failures(refused.body), [0x0110]);
    assert.equal((await ctx.repos.pacsIngest.findStowReceipt(readStowIdentity(fresh)!.orthancId))?.tenantId, a.id);
    assert.equal((await stowA.send([fresh])).status, 200);
  },
);
