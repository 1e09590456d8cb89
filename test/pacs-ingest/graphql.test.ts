// DICOM in through a real gateway (PACS_INGEST=true) and a real Orthanc: an ADMIN maps an AE title, a modality
// sends, the study appears with source PACS; the ingest log is the tenant ADMIN's alone, and paged.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc } from "../../lib/stack/orthanc.ts";
import { waitFor } from "../helpers/index.ts";
import { startGatewayFixture } from "../gateway/fixture.ts";
import { storescu, variant } from "./helpers.ts";

const SET = `mutation($i: PacsSourceInput!) { setPacsSource(input: $i) { source { callingAeTitle tasks } errors { code field } } }`;
const LOG = `query($first: Int, $after: String) { pacsIngestLog(first: $first, after: $after) {
  edges { node { outcome reason callingAeTitle studyId } } pageInfo { hasNextPage endCursor } } }`;
const STUDY = `query($id: ID!) { study(id: $id) { source sourceAeTitle analyses { task status } } }`;

const work = mkdtempSync(join(tmpdir(), "gkmvlp-pacs-gql-"));
after(async () => {
  await stopOrthanc(join(work, "orthanc"));
  rmSync(work, { recursive: true, force: true });
});

test(
  "an ADMIN maps an AE title, a sent frontal chest becomes a PACS study with its analyses; the ingest log is readable by its tenant's ADMIN only, page by page",
  { skip: !orthancInstalled(), timeout: 180_000 },
  async (t) => {
    const orthanc = await startOrthanc({ dataDir: join(work, "orthanc"), httpPort: await freePort(), dicomPort: await freePort() });
    const fx = await startGatewayFixture(t, {
      env: {
        ORTHANC_URL: orthanc.url,
        ORTHANC_USERNAME: orthanc.credentials.username,
        ORTHANC_PASSWORD: orthanc.credentials.password,
        PACS_INGEST: "true",
        PACS_INGEST_POLL_MS: "100",
      },
    });
    const mapped = await fx.gql(SET, { i: { callingAeTitle: "WARD_CR", tasks: ["CLASSIFICATION", "REPORT"] } }, fx.a.ADMIN);
    assert.deepEqual(mapped.body.data.setPacsSource.errors, []);
    const stolen = await fx.gql(SET, { i: { callingAeTitle: "WARD_CR", tasks: [] } }, fx.b.ADMIN);
    assert.deepEqual(
      stolen.body.data.setPacsSource.errors.map((e: any) => e.code),
      ["CONFLICT"],
    );
    const bad = await fx.gql(SET, { i: { callingAeTitle: "A\\B", tasks: [] } }, fx.a.ADMIN);
    assert.deepEqual(
      bad.body.data.setPacsSource.errors.map((e: any) => e.field),
      ["input.callingAeTitle"],
    );

    storescu(orthanc, "WARD_CR", [variant(work, "frontal", []), variant(work, "lateral", ["(0018,5101)=LATERAL"])]);
    const edges = await waitFor("both instances in A's log", async () => {
      const res = await fx.gql(LOG, { first: 10 }, fx.a.ADMIN);
      const e = res.body.data?.pacsIngestLog.edges ?? [];
      return e.length === 2 && e;
    });
    const ingested = edges.find((e: any) => e.node.outcome === "INGESTED").node;
    assert.equal(edges.find((e: any) => e.node.outcome === "SKIPPED").node.reason, "LATERAL");
    const study = await fx.gql(STUDY, { id: ingested.studyId }, fx.a.CLINICIAN);
    assert.equal(study.body.data.study.source, "PACS");
    assert.equal(study.body.data.study.sourceAeTitle, "WARD_CR");
    assert.deepEqual(study.body.data.study.analyses.map((a: any) => a.task).sort(), ["CLASSIFICATION", "REPORT"]);

    const page1 = await fx.gql(LOG, { first: 1 }, fx.a.ADMIN);
    assert.equal(page1.body.data.pacsIngestLog.pageInfo.hasNextPage, true);
    const page2 = await fx.gql(LOG, { first: 1, after: page1.body.data.pacsIngestLog.pageInfo.endCursor }, fx.a.ADMIN);
    assert.equal(page2.body.data.pacsIngestLog.edges.length, 1);
    assert.equal(page2.body.data.pacsIngestLog.pageInfo.hasNextPage, false);

    const otherAdmin = await fx.gql(LOG, { first: 10 }, fx.b.ADMIN);
    assert.deepEqual(otherAdmin.body.data.pacsIngestLog.edges, []);
    const clinician = await fx.gql(LOG, { first: 10 }, fx.a.CLINICIAN);
    assert.equal(clinician.body.errors?.[0]?.extensions?.code, "FORBIDDEN");

    // removing the mapping: only its tenant's ADMIN can; later instances from that title are not this tenant's
    const REMOVE = `mutation($a: String!) { removePacsSource(callingAeTitle: $a) { removed errors { code } } }`;
    const notTheirs = await fx.gql(REMOVE, { a: "WARD_CR" }, fx.b.ADMIN);
    assert.deepEqual(notTheirs.body.data.removePacsSource, { removed: false, errors: [{ code: "NOT_FOUND" }] });
    const byClinician = await fx.gql(REMOVE, { a: "WARD_CR" }, fx.a.CLINICIAN);
    assert.equal(byClinician.body.errors?.[0]?.extensions?.code, "FORBIDDEN");
    const removed = await fx.gql(REMOVE, { a: "WARD_CR" }, fx.a.ADMIN);
    assert.deepEqual(removed.body.data.removePacsSource, { removed: true, errors: [] });
    const sources = await fx.gql(`query { pacsSources { callingAeTitle } }`, {}, fx.a.ADMIN);
    assert.deepEqual(sources.body.data.pacsSources, []);
    const again = await fx.gql(REMOVE, { a: "WARD_CR" }, fx.a.ADMIN);
    assert.deepEqual(again.body.data.removePacsSource.errors, [{ code: "NOT_FOUND" }]);
    storescu(orthanc, "WARD_CR", [variant(work, "after-removal", [])]);
    await waitFor("the instance after the removal logged as an unknown source", async () => {
      const rows = await fx.ctx.db.prisma.pacsIngestLog.findMany({ where: { tenantId: null, callingAet: "WARD_CR" } });
      return rows.length === 1 && rows[0]!.reason === "UNKNOWN_SOURCE";
    });
    assert.equal((await fx.gql(LOG, { first: 10 }, fx.a.ADMIN)).body.data.pacsIngestLog.edges.length, 2, "not in A's log");
    // the platform operator sees which titles send without a mapping; a tenant's ADMIN does not
    const UNMAPPED = `query { unmappedPacsInstances(first: 10) { edges { node { callingAeTitle outcome reason studyId } } } }`;
    const seen = await fx.gql(UNMAPPED, {}, await fx.operator());
    assert.deepEqual(
      seen.body.data.unmappedPacsInstances.edges.map((e: any) => e.node),
      [{ callingAeTitle: "WARD_CR", outcome: "SKIPPED", reason: "UNKNOWN_SOURCE", studyId: null }],
    );
    const byAdmin = await fx.gql(UNMAPPED, {}, fx.a.ADMIN);
    assert.equal(byAdmin.body.errors?.[0]?.extensions?.code, "FORBIDDEN");
  },
);
