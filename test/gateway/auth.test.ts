// Authentication, roles and tenant isolation at the gateway, against real PostgreSQL and Kafka.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { startGatewayFixture, createStudy, subscribe, DICOM_DIR } from "./fixture.ts";

test("gateway authentication, roles and tenant isolation", { timeout: 300_000 }, async (t) => {
  const consoleDir = mkdtempSync(path.join(tmpdir(), "gw-console-"));
  t.after(() => rmSync(consoleDir, { recursive: true, force: true }));
  mkdirSync(path.join(consoleDir, "assets"));
  writeFileSync(path.join(consoleDir, "index.html"), "<!doctype html><title>console</title>");
  writeFileSync(path.join(consoleDir, "assets", "app-1a2b3c4d5e.js"), "console.log('app')");
  const fx = await startGatewayFixture(t, { env: { CONSOLE_DIR: consoleDir } });

  await t.test("a GraphQL query without credentials is refused with 401 UNAUTHENTICATED", async () => {
    const r = await fx.gql(`{ studies { totalCount } }`);
    assert.equal(r.status, 401);
    assert.equal(r.body.errors?.[0]?.extensions?.code, "UNAUTHENTICATED");
    assert.equal(r.body.data, undefined);
  });

  await t.test("introspection without credentials is refused too", async () => {
    const r = await fx.gql(`{ __schema { types { name } } }`);
    assert.equal(r.status, 401);
  });

  await t.test("a mutation other than login without credentials is refused", async () => {
    const r = await fx.gql(`mutation { createPatient(input: { externalId: "X" }) { patient { id } errors { code } } }`);
    assert.equal(r.status, 401);
    assert.equal(await fx.ctx.db.prisma.patient.count(), 0);
  });

  await t.test("an invalid or tampered bearer token is refused with 401", async () => {
    const good = fx.a.CLINICIAN.authorization!;
    const tampered = good.slice(0, -3) + (good.endsWith("A") ? "BBB" : "AAA");
    for (const authorization of ["Bearer nonsense", tampered, "Basic abc"]) {
      const r = await fx.gql(`{ viewer { id } }`, {}, { authorization });
      assert.equal(r.status, 401, authorization);
    }
    const key = await fx.gql(`{ viewer { id } }`, {}, { "x-api-key": "gk_not_a_key" });
    assert.equal(key.status, 401);
  });

  await t.test("upload and image routes refuse unauthenticated calls", async () => {
    const up = await fx.upload(new Uint8Array([1, 2, 3]), "image/png", {});
    assert.equal(up.status, 401);
    assert.equal(up.body.error.code, "UNAUTHENTICATED");
    const img = await fetch(`${fx.gateway.url}/images/whatever`);
    assert.equal(img.status, 401);
  });

  await t.test("health endpoints need no credentials and readyz reports every dependency", async () => {
    assert.equal((await fetch(`${fx.gateway.url}/healthz`)).status, 200);
    const ready = await fetch(`${fx.gateway.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual((await ready.json()).checks, {
      database: true,
      kafka: true,
      relay: true,
      consumer: true,
      tailer: true,
      deliveries: true,
      pacsIngest: true,
    });
  });

  await t.test("the console's static files are served with their content types and index.html for client routes", async () => {
    const index = await fetch(`${fx.gateway.url}/console/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
    const js = await fetch(`${fx.gateway.url}/console/assets/app-1a2b3c4d5e.js`);
    assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await js.text(), "console.log('app')");
    const route = await fetch(`${fx.gateway.url}/console/studies/123`);
    assert.equal(route.status, 200);
    assert.match(await route.text(), /<title>console/);
    assert.equal((await fetch(`${fx.gateway.url}/console/assets/missing.js`)).status, 404);
    assert.equal((await fetch(`${fx.gateway.url}/console/..%2f..%2fetc%2fpasswd`)).status, 404);
  });

  await t.test("login with a wrong password returns a typed error and no token", async () => {
    const r = await fx.gql(
      `mutation { login(email: "${fx.tenantA.users[0]!.email}", password: "wrong-password") { token errors { code message } } }`,
    );
    assert.equal(r.status, 200);
    assert.equal(r.body.data.login.token, null);
    assert.equal(r.body.data.login.errors[0].code, "VALIDATION");
  });

  await t.test("a bearer token and an API key identify the caller and the tenant", async () => {
    const r = await fx.gql(`{ viewer { email role tenant { name } } }`, {}, fx.a.RADIOLOGIST);
    assert.deepEqual(r.body.data.viewer, {
      email: "radiologist+hospital-a@demo.local",
      role: "RADIOLOGIST",
      tenant: { name: "Hospital A" },
    });
    const k = await fx.gql(`{ viewer { role tenant { name } } }`, {}, fx.apiKeyA);
    assert.deepEqual(k.body.data.viewer, { role: "CLINICIAN", tenant: { name: "Hospital A" } });
  });

  await t.test(
    "roles are checked per field: a clinician or tenant admin cannot activate a model, an auditor cannot create patients",
    async () => {
      const model = await fx.ctx.repos.modelVersions.upsert({
        name: "gkmvlp-test",
        version: "0.0.1",
        bundleSha256: "ab".repeat(32),
        manifest: {},
        metrics: {},
      });
      const c = await fx.gql(
        `mutation($id: ID!) { activateModel(id: $id) { model { status } errors { code } } }`,
        { id: model.id },
        fx.a.CLINICIAN,
      );
      assert.equal(c.body.errors?.[0]?.extensions?.code, "FORBIDDEN");
      assert.equal((await fx.ctx.db.prisma.modelVersion.findUnique({ where: { id: model.id } }))!.status, "CANDIDATE");
      const au = await fx.gql(`mutation { createPatient(input: { externalId: "AUD-1" }) { patient { id } } }`, {}, fx.a.AUDITOR);
      assert.equal(au.body.errors?.[0]?.extensions?.code, "FORBIDDEN");
      const cl = await fx.gql(`{ auditEvents(first: 1) { edges { node { id } } } }`, {}, fx.a.CLINICIAN);
      assert.equal(cl.body.errors?.[0]?.extensions?.code, "FORBIDDEN");
      const admin = await fx.gql(
        `mutation($id: ID!) { activateModel(id: $id) { model { status } errors { code } } }`,
        { id: model.id },
        fx.a.ADMIN,
      );
      assert.deepEqual(admin.body.data.activateModel, { model: null, errors: [{ code: "FORBIDDEN" }] });
      const operator = await fx.gql(
        `mutation($id: ID!) { activateModel(id: $id) { model { status } errors { code } } }`,
        { id: model.id },
        await fx.operator(),
      );
      assert.equal(operator.body.data.activateModel.model.status, "ACTIVE");
    },
  );

  // Tenant A's objects, to be attacked from tenant B.
  const { patientId, studyId } = await createStudy(fx, fx.a.CLINICIAN);
  const upload = await fx.upload(readFileSync(`${DICOM_DIR}/nema_cr_mono1_10bit_chest.dcm`), "application/dicom", fx.a.CLINICIAN);
  assert.equal(upload.status, 200);
  const attached = await fx.gql(
    `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id url } errors { code } } }`,
    { s: studyId, u: upload.body.uploadId },
    fx.a.CLINICIAN,
  );
  const image = attached.body.data.attachImage.image;
  const requested = await fx.gql(
    `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [REPORT] }) { analyses { id } errors { code } } }`,
    { s: studyId },
    fx.a.CLINICIAN,
  );
  const analysisId = requested.body.data.requestAnalyses.analyses[0].id as string;

  await t.test("another tenant's patient, study, analysis and image read as not found", async () => {
    const r = await fx.gql(
      `query($p: ID!, $s: ID!, $a: ID!) { patient(id: $p) { id } study(id: $s) { id } analysis(id: $a) { id } studies { totalCount } patients { totalCount } }`,
      { p: patientId, s: studyId, a: analysisId },
      fx.b.ADMIN,
    );
    assert.equal(r.body.errors, undefined);
    assert.deepEqual(r.body.data, { patient: null, study: null, analysis: null, studies: { totalCount: 0 }, patients: { totalCount: 0 } });
    const own = await fx.gql(`query($s: ID!) { study(id: $s) { id images { id } } }`, { s: studyId }, fx.a.CLINICIAN);
    assert.equal(own.body.data.study.id, studyId);
    const png = await fetch(`${fx.gateway.url}${image.url}`, { headers: fx.b.ADMIN });
    assert.equal(png.status, 404);
    const ownPng = await fetch(`${fx.gateway.url}${image.url}`, { headers: fx.a.CLINICIAN });
    assert.equal(ownPng.status, 200);
    assert.equal(ownPng.headers.get("content-type"), "image/png");
  });

  await t.test("writes against another tenant's objects are NOT_FOUND and change nothing", async () => {
    const before = await fx.ctx.db.prisma.analysis.count();
    const study = await fx.gql(
      `mutation($p: ID!) { createStudy(input: { patientId: $p }) { study { id } errors { code field } } }`,
      { p: patientId },
      fx.b.CLINICIAN,
    );
    assert.deepEqual(study.body.data.createStudy, { study: null, errors: [{ code: "NOT_FOUND", field: "input.patientId" }] });
    const req = await fx.gql(
      `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [CLASSIFICATION] }) { analyses { id } errors { code } } }`,
      { s: studyId },
      fx.b.CLINICIAN,
    );
    assert.equal(req.body.data.requestAnalyses.errors[0].code, "NOT_FOUND");
    const cancel = await fx.gql(
      `mutation($a: ID!) { cancelAnalysis(id: $a) { analysis { id } errors { code } } }`,
      { a: analysisId },
      fx.b.CLINICIAN,
    );
    assert.equal(cancel.body.data.cancelAnalysis.errors[0].code, "NOT_FOUND");
    const review = await fx.gql(
      `mutation($a: ID!) { reviewReport(input: { analysisId: $a, action: ACCEPT }) { review { id } errors { code } } }`,
      { a: analysisId },
      fx.b.RADIOLOGIST,
    );
    assert.equal(review.body.data.reviewReport.errors[0].code, "NOT_FOUND");
    // Tenant A's upload id is useless in tenant B, even on tenant B's own study.
    const own = await createStudy(fx, fx.b.CLINICIAN);
    const attach = await fx.gql(
      `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id } errors { code field } } }`,
      { s: own.studyId, u: upload.body.uploadId },
      fx.b.CLINICIAN,
    );
    assert.deepEqual(attach.body.data.attachImage.errors, [{ code: "NOT_FOUND", field: "input.uploadId" }]);
    assert.equal(await fx.ctx.db.prisma.analysis.count(), before);
    assert.equal((await fx.ctx.db.prisma.analysis.findUnique({ where: { id: analysisId } }))!.status, "QUEUED");
    assert.equal(await fx.ctx.db.prisma.review.count(), 0);
    assert.equal(await fx.ctx.db.prisma.image.count({ where: { tenantId: fx.tenantB.tenantId } }), 0);
  });

  await t.test("a WebSocket without credentials is closed with 4403, and another tenant's study cannot be subscribed", async () => {
    const anonymous = createClient({ url: `${fx.gateway.url.replace("http", "ws")}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const closeCode = await new Promise<number>((resolve) => {
      anonymous.on("closed", (event) => resolve((event as { code: number }).code));
      anonymous.subscribe({ query: `subscription { tenantAnalysisUpdates { status } }` }, { next() {}, error() {}, complete() {} });
    });
    await anonymous.dispose();
    assert.equal(closeCode, 4403);
    const other = subscribe(
      fx.ws({ authorization: fx.b.ADMIN.authorization }),
      `subscription($s: ID!) { studyAnalysisUpdates(studyId: $s) { status } }`,
      { s: studyId },
    );
    const deadline = Date.now() + 10_000;
    while (other.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(JSON.stringify(other.errors), /not found/);
  });

  await t.test("reads of patient data and every change are in the audit trail", async () => {
    const events = await fx.ctx.db.prisma.auditEvent.findMany({ where: { tenantId: fx.tenantA.tenantId }, orderBy: { at: "asc" } });
    const actions = new Set(events.map((e) => e.action));
    for (const action of [
      "patient.create",
      "study.create",
      "image.attach",
      "analysis.request",
      "study.read",
      "image.read",
      "model.activate",
      "user.login",
    ]) {
      assert.ok(actions.has(action), `missing audit action ${action}: ${[...actions].join(", ")}`);
    }
    // Tenant B's failed attempts did not read anything of tenant A.
    const bReads = await fx.ctx.db.prisma.auditEvent.findMany({ where: { tenantId: fx.tenantB.tenantId, action: "study.read" } });
    assert.equal(bReads.length, 0);
  });
});
