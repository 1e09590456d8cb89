// IMAGE_STORE=pacs: the original of a DICOM upload goes into the PACS as its own instance (de-identified, as the stored
// original is), a JPEG original inside a Secondary Capture byte for byte, so a second gateway with a different disk
// root can finish either upload. Real Orthanc, PostgreSQL, Kafka
// and two gateways; the DICOM-in watcher runs too and must pass the platform's own original without a log row.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createLocalDiskImageStore } from "../../lib/images/index.ts";
import { createPacsImageStore } from "../../lib/images/pacs-store.ts";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import { createOrthancRest } from "../../lib/pacs-ingest/orthanc-rest.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc, type OrthancHandle } from "../../lib/stack/orthanc.ts";
import { createStudy, startGatewayFixture } from "../gateway/fixture.ts";
import { waitFor } from "../worker-loop/harness.ts";

const jpegJs = createRequire(import.meta.url)("jpeg-js") as typeof import("jpeg-js");
const FILM = join(import.meta.dirname, "../fixtures/images/siim_cr_chest_pa_mono2.dcm");
const work = mkdtempSync(join(tmpdir(), "gkmvlp-pacs-originals-"));
after(async () => {
  await stopOrthanc(join(work, "orthanc"));
  rmSync(work, { recursive: true, force: true });
});

const files = (dir: string): string[] => {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
  } catch {
    return [];
  }
};

test(
  "DICOM and JPEG uploads on gateway 1 are attached through gateway 2 with another disk root: their originals are in the PACS (the DICOM de-identified, the JPEG byte for byte), on no disk, and the watcher passes them",
  { skip: !orthancInstalled(), timeout: 240_000 },
  async (t) => {
    const orthanc: OrthancHandle = await startOrthanc({
      dataDir: join(work, "orthanc"),
      httpPort: await freePort(),
      dicomPort: await freePort(),
    });
    const roots: string[] = [];
    const fx = await startGatewayFixture(t, {
      // each gateway its own disk root: nothing on disk can be shared
      imageStore: () => {
        const root = join(work, `disk-${roots.length}`);
        roots.push(root);
        return createPacsImageStore({
          client: createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, credentials: orthanc.credentials }),
          fallback: createLocalDiskImageStore({ root }),
          originals: createOrthancRest({ url: orthanc.url, credentials: orthanc.credentials }),
        });
      },
      env: {
        IMAGE_STORE: "pacs",
        ORTHANC_URL: orthanc.url,
        ORTHANC_USERNAME: orthanc.credentials.username,
        ORTHANC_PASSWORD: orthanc.credentials.password,
        PACS_INGEST: "true",
        PACS_INGEST_POLL_MS: "100",
      },
    });
    const second = await fx.replica();
    assert.equal(roots.length, 2);
    const auth = fx.a.RADIOLOGIST;
    /** uploads on gateway 1, attaches through gateway 2: the Image row */
    const uploadThenAttachElsewhere = async (bytes: Uint8Array, type: string) => {
      const up = await fx.upload(bytes, type, auth);
      assert.equal(up.status, 200, JSON.stringify(up.body));
      const { studyId } = await createStudy(fx, auth);
      const res = await fetch(`${second.url}/graphql`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          query: `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id } errors { code message } } }`,
          variables: { s: studyId, u: up.body.uploadId },
        }),
      });
      const body = (await res.json()) as any;
      assert.deepEqual(body.data.attachImage.errors, [], `gateway 2 finishes gateway 1's ${type} upload`);
      return fx.ctx.db.prisma.image.findUniqueOrThrow({ where: { id: body.data.attachImage.image.id } });
    };

    const bytes = readFileSync(FILM);
    const image = await uploadThenAttachElsewhere(bytes, "application/dicom");
    const m = /^dicomweb:([0-9.]+)\/([0-9.]+)\/([0-9.]+)\.dcm$/.exec(image.storageKey);
    assert.ok(m, `the original is a PACS instance: ${image.storageKey}`);
    assert.equal(m[3], image.sopInstanceUid, "under its own (pseudonymised) SOP Instance UID");
    // a colour JPEG: its original is a Secondary Capture holding the JPEG file as it is
    const rgba = Buffer.alloc(96 * 80 * 4);
    for (let i = 0; i < 96 * 80; i++) rgba.fill((i * 5) % 256, i * 4, i * 4 + 3).writeUInt8(255, i * 4 + 3);
    const jpeg = new Uint8Array(jpegJs.encode({ width: 96, height: 80, data: rgba }, 90).data);
    const jpegImage = await uploadThenAttachElsewhere(jpeg, "image/jpeg");
    assert.match(jpegImage.storageKey, /^dicomweb:2\.25\.\d+\/2\.25\.\d+\/2\.25\.\d+\.jpg$/);
    const reader = createPacsImageStore({
      client: createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, credentials: orthanc.credentials }),
      fallback: createLocalDiskImageStore({ root: join(work, "reader") }),
    });
    assert.ok((await reader.get(jpegImage.storageKey))!.equals(Buffer.from(jpeg)), "the JPEG read back byte for byte");

    assert.deepEqual(
      roots.flatMap((r) => files(r)),
      [],
      "nothing on either gateway's disk",
    );

    // the instance in the PACS is the stored original byte for byte: de-identified, its hash the recorded one
    const client = createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, credentials: orthanc.credentials });
    const stored = await client.retrieveInstance(m[1]!, m[2]!, m[3]!);
    assert.equal(createHash("sha256").update(stored).digest("hex"), image.sha256);
    // the fixture's PatientName and PatientID are this UUID: de-identification removed or replaced both
    assert.ok(!stored.includes(Buffer.from("16d7f894-55d7-4d95-8957-d18987f0e981")), "no patient name or id of the film");

    // the watcher follows the feed past it: the platform's own upload, no log row, no unknown sender
    await waitFor(
      "the watcher to pass every change",
      async () => {
        const auth64 = Buffer.from(`${orthanc.credentials.username}:${orthanc.credentials.password}`).toString("base64");
        const last = (
          (await (await fetch(`${orthanc.url}/changes?limit=0`, { headers: { authorization: `Basic ${auth64}` } })).json()) as {
            Last: number;
          }
        ).Last;
        return (await fx.ctx.repos.pacsIngest.readCursor("orthanc")) >= last;
      },
      30_000,
    );
    assert.deepEqual(await fx.ctx.repos.pacsIngest.listUnmapped(10), []);
    assert.deepEqual(await fx.ctx.repos.pacsIngest.listLog(fx.tenantA.tenantId, 10), []);
  },
);
