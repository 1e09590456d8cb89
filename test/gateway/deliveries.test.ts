// Deliveries through GraphQL against a real gateway: sendToPacs stores the SR in a real Orthanc and Study.deliveries
// shows it SENT; role and tenant refusals; NOT_ANALYSED and NOT_CONFIGURED as typed errors; the tenant ADMIN's
// delivery settings are validated, audited, and drive what a sign-off sends.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc } from "../../lib/stack/orthanc.ts";
import { waitFor } from "../helpers/index.ts";
import { writeResults } from "../deliveries/helpers.ts";
import { startGatewayFixture, type GatewayFixture } from "./fixture.ts";

const SEND = `mutation($s: ID!) { sendToPacs(studyId: $s) { delivery { id kind trigger status } errors { code field message } } }`;
const DELIVERIES = `query($s: ID!) { study(id: $s) { deliveries { id kind trigger status attempts target sentId lastError { code message } sentAt } } }`;
const SETTINGS = `mutation($i: DeliverySettingsInput!) { updateDeliverySettings(input: $i) { settings { srMode hl7Host hl7Port fhirBaseUrl } errors { code field } } }`;

async function studyOf(fx: GatewayFixture, label: string, analysed: boolean) {
  const repos = fx.ctx.repos;
  const tenantId = fx.tenantA.tenantId;
  const patient = await repos.patients.create({ tenantId, mrn: `MRN-${label}` });
  const study = await repos.studies.create({ tenantId, patientId: patient.id, accession: `ACC-${label}` });
  const sha = Buffer.from(label.padEnd(32, "x")).toString("hex").slice(0, 64);
  const { image } = await repos.images.attach({
    tenantId,
    studyId: study.id,
    sha256: sha,
    format: "PNG",
    width: 256,
    height: 256,
    bytes: 10,
    bitDepth: 8,
    storageKey: `${sha}.png`,
  });
  const results = analysed ? await writeResults(repos, { tenantId, studyId: study.id, imageId: image.id }, label) : null;
  return { studyId: study.id, studyInstanceUid: results?.studyInstanceUid ?? null };
}

const orthancDir = mkdtempSync(join(tmpdir(), "gkmvlp-gw-deliveries-"));
after(async () => {
  await stopOrthanc(orthancDir);
  rmSync(orthancDir, { recursive: true, force: true });
});

test(
  "sendToPacs stores the study's SR in the PACS for a radiologist of its tenant, refuses other roles and tenants, and is audited",
  { skip: !orthancInstalled(), timeout: 180_000 },
  async (t) => {
    const orthanc = await startOrthanc({ dataDir: orthancDir, httpPort: await freePort(), dicomPort: await freePort() });
    const fx = await startGatewayFixture(t, {
      env: {
        ORTHANC_URL: orthanc.url,
        ORTHANC_USERNAME: orthanc.credentials.username,
        ORTHANC_PASSWORD: orthanc.credentials.password,
        DELIVERY_POLL_MS: "100",
      },
    });
    const analysed = await studyOf(fx, "pacs-1", true);
    const empty = await studyOf(fx, "pacs-2", false);

    for (const role of ["CLINICIAN", "AUDITOR"] as const) {
      const refused = await fx.gql(SEND, { s: analysed.studyId }, fx.a[role]);
      assert.equal(refused.body.errors?.[0]?.extensions?.code, "FORBIDDEN", role);
    }
    const otherTenant = await fx.gql(SEND, { s: analysed.studyId }, fx.b.RADIOLOGIST);
    assert.deepEqual(
      otherTenant.body.data.sendToPacs.errors.map((e: any) => e.code),
      ["NOT_FOUND"],
    );
    const notAnalysed = await fx.gql(SEND, { s: empty.studyId }, fx.a.RADIOLOGIST);
    assert.deepEqual(
      notAnalysed.body.data.sendToPacs.errors.map((e: any) => [e.code, e.field]),
      [["NOT_ANALYSED", "studyId"]],
    );

    const sent = await fx.gql(SEND, { s: analysed.studyId }, fx.a.RADIOLOGIST);
    assert.deepEqual(sent.body.data.sendToPacs.errors, []);
    assert.equal(sent.body.data.sendToPacs.delivery.trigger, "MANUAL");
    const delivered = await waitFor("the SR delivery is SENT", async () => {
      const res = await fx.gql(DELIVERIES, { s: analysed.studyId }, fx.a.CLINICIAN);
      const [row] = res.body.data.study.deliveries;
      return row?.status === "SENT" && row;
    });
    assert.equal(delivered.kind, "SR");
    assert.equal(delivered.target, "pacs");
    assert.equal(delivered.lastError, null);
    const found = await createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, credentials: orthanc.credentials }).searchInstances(
      analysed.studyInstanceUid!,
    );
    assert.deepEqual(
      found.map((i) => i["00080018"]?.Value?.[0]),
      [delivered.sentId],
    );
    const audit = await fx.ctx.db.prisma.auditEvent.findMany({ where: { action: "study.send_to_pacs", targetId: analysed.studyId } });
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.tenantId, fx.tenantA.tenantId);
    // another tenant does not see the study's deliveries
    const hidden = await fx.gql(DELIVERIES, { s: analysed.studyId }, fx.b.ADMIN);
    assert.equal(hidden.body.data.study, null);
  },
);

test("without a PACS sendToPacs answers NOT_CONFIGURED; delivery settings are the ADMIN's, validated and audited", async (t) => {
  const fx = await startGatewayFixture(t, { env: { DELIVERY_EGRESS_ALLOW: "127.0.0.1:2575,*.example" } });
  const analysed = await studyOf(fx, "nopacs", true);
  const res = await fx.gql(SEND, { s: analysed.studyId }, fx.a.ADMIN);
  assert.deepEqual(
    res.body.data.sendToPacs.errors.map((e: any) => e.code),
    ["NOT_CONFIGURED"],
  );

  const read = await fx.gql(`{ deliverySettings { srMode hl7Host fhirBaseUrl } }`, {}, fx.a.ADMIN);
  assert.deepEqual(read.body.data.deliverySettings, { srMode: "ON_SIGN_OFF", hl7Host: null, fhirBaseUrl: null });
  const byRadiologist = await fx.gql(SETTINGS, { i: { srMode: "OFF" } }, fx.a.RADIOLOGIST);
  assert.equal(byRadiologist.body.errors?.[0]?.extensions?.code, "FORBIDDEN");

  const bad = [
    [{ srMode: "OFF", fhirBaseUrl: "file:///etc/passwd" }, "input.fhirBaseUrl"],
    [{ srMode: "OFF", fhirBaseUrl: "https://user:secret@fhir.example/r4" }, "input.fhirBaseUrl"],
    [{ srMode: "OFF", hl7Host: "ris.example" }, "input.hl7Port"],
    [{ srMode: "OFF", hl7Host: "bad host!", hl7Port: 2575 }, "input.hl7Host"],
    [{ srMode: "OFF", hl7Host: "ris.example", hl7Port: 70000 }, "input.hl7Port"],
  ] as const;
  for (const [input, field] of bad) {
    const refused = await fx.gql(SETTINGS, { i: input }, fx.a.ADMIN);
    assert.deepEqual(refused.body.data.updateDeliverySettings.errors, [{ code: "VALIDATION", field }], JSON.stringify(input));
  }
  const saved = await fx.gql(
    SETTINGS,
    { i: { srMode: "ON_COMPLETION", hl7Host: "127.0.0.1", hl7Port: 2575, fhirBaseUrl: "https://fhir.example/r4/" } },
    fx.a.ADMIN,
  );
  assert.deepEqual(saved.body.data.updateDeliverySettings, {
    settings: { srMode: "ON_COMPLETION", hl7Host: "127.0.0.1", hl7Port: 2575, fhirBaseUrl: "https://fhir.example/r4" },
    errors: [],
  });
  const other = await fx.gql(`{ deliverySettings { srMode } }`, {}, fx.b.ADMIN);
  assert.equal(other.body.data.deliverySettings.srMode, "ON_SIGN_OFF", "another tenant keeps its own settings");
  assert.equal(
    await fx.ctx.db.prisma.auditEvent.count({ where: { action: "tenant.delivery_settings.update", tenantId: fx.tenantA.tenantId } }),
    1,
  );
});

test("delivery endpoints outside the operator's egress allow-list are refused before anything is stored", async (t) => {
  const fx = await startGatewayFixture(t, { env: { DELIVERY_EGRESS_ALLOW: "127.0.0.1:2575,ris.hospital.test" } });
  const refused = [
    [{ srMode: "OFF", hl7Host: "169.254.169.254", hl7Port: 80 }, "input.hl7Host"],
    [{ srMode: "OFF", hl7Host: "127.0.0.1", hl7Port: 5432 }, "input.hl7Host"],
    [{ srMode: "OFF", fhirBaseUrl: "http://127.0.0.1:2575/fhir" }, null],
    [{ srMode: "OFF", fhirBaseUrl: "http://10.0.0.1/fhir" }, "input.fhirBaseUrl"],
    [{ srMode: "OFF", hl7Host: "nowhere.invalid", hl7Port: 2575 }, "input.hl7Host"],
  ] as const;
  for (const [input, field] of refused) {
    const res = await fx.gql(SETTINGS, { i: input }, fx.a.ADMIN);
    if (field === null) {
      // the same host and port as an allowed MLLP endpoint: the rule is host and port, not the protocol
      assert.deepEqual(res.body.data.updateDeliverySettings.errors, [], JSON.stringify(input));
      continue;
    }
    assert.deepEqual(res.body.data.updateDeliverySettings.errors, [{ code: "EGRESS_NOT_ALLOWED", field }], JSON.stringify(input));
  }
  const allowed = await fx.gql(SETTINGS, { i: { srMode: "OFF", hl7Host: "ris.hospital.test", hl7Port: 2575 } }, fx.a.ADMIN);
  assert.deepEqual(allowed.body.data.updateDeliverySettings.errors, [], "a named host the operator allowed (no DNS needed)");
  const stored = await fx.gql(`{ deliverySettings { hl7Host hl7Port } }`, {}, fx.a.ADMIN);
  assert.deepEqual(stored.body.data.deliverySettings, { hl7Host: "ris.hospital.test", hl7Port: 2575 });
});

test("with no egress allow-list (the default) no tenant can set an HL7 or FHIR endpoint", async (t) => {
  const fx = await startGatewayFixture(t);
  const res = await fx.gql(SETTINGS, { i: { srMode: "OFF", hl7Host: "127.0.0.1", hl7Port: 2575 } }, fx.a.ADMIN);
  assert.deepEqual(res.body.data.updateDeliverySettings.errors, [{ code: "EGRESS_NOT_ALLOWED", field: "input.hl7Host" }]);
  const read = await fx.gql(`{ deliverySettings { hl7Host } }`, {}, fx.a.ADMIN);
  assert.equal(read.body.data.deliverySettings.hl7Host, null, "nothing stored");
});
