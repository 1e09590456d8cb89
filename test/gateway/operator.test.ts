// Issue 14, finding 2 and the tenant part of finding 8: the model every tenant uses is changed by a platform
// operator only (a tenant ADMIN gets FORBIDDEN as data), the change is audited where both sides see it (one
// platform-scope row for operators, one row in every tenant's own log), and fleet details (worker hosts, pids,
// model metrics) are for operators; tenant ADMINs get the pseudonymised view of the other roles.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGatewayFixture } from "./fixture.ts";

const ACTIVATE = `mutation($id: ID!) { activateModel(id: $id) { model { status } errors { code message field } } }`;
const RETIRE = `mutation($id: ID!) { retireModel(id: $id) { model { status } errors { code message field } } }`;
const FLEET = `{ workers { id host status } models { version metrics workers { id host } } }`;
const AUDIT = `query($action: String) { auditEvents(first: 20, filter: { action: $action }) { edges { node { action actor targetId scope details } } } }`;

test("model activation and retirement are platform-operator capabilities, audited for every tenant", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t);
  const model = await fx.ctx.repos.modelVersions.upsert({
    name: "gkmvlp-op",
    version: "1.0.0",
    bundleSha256: "cd".repeat(32),
    manifest: {},
    metrics: {},
  });
  const status = async () => (await fx.ctx.db.prisma.modelVersion.findUnique({ where: { id: model.id } }))!.status;

  await t.test("a tenant ADMIN gets FORBIDDEN as data, and the model is unchanged", async () => {
    for (const auth of [fx.a.ADMIN, fx.b.ADMIN]) {
      const r = await fx.gql(ACTIVATE, { id: model.id }, auth);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
      assert.equal(r.body.data.activateModel.model, null);
      assert.equal(r.body.data.activateModel.errors[0]?.code, "FORBIDDEN");
      assert.match(r.body.data.activateModel.errors[0]?.message, /operator/i);
      const retire = await fx.gql(RETIRE, { id: model.id }, auth);
      assert.equal(retire.body.data.retireModel.errors[0]?.code, "FORBIDDEN");
    }
    assert.equal(await status(), "CANDIDATE");
    assert.equal(await fx.ctx.db.prisma.auditEvent.count({ where: { action: { startsWith: "model." } } }), 0);
  });

  await t.test("other roles are still refused by the role table", async () => {
    const r = await fx.gql(ACTIVATE, { id: model.id }, fx.a.CLINICIAN);
    assert.equal(r.body.errors?.[0]?.extensions?.code, "FORBIDDEN");
  });

  await t.test("an operator activates; one platform-scope row and one row in every tenant's log", async () => {
    const op = await fx.operator();
    const r = await fx.gql(ACTIVATE, { id: model.id }, op);
    assert.deepEqual(r.body.data?.activateModel, { model: { status: "ACTIVE" }, errors: [] }, JSON.stringify(r.body));
    const rows = await fx.ctx.db.prisma.auditEvent.findMany({ where: { action: "model.activate", targetId: model.id } });
    const tenants = await fx.ctx.db.prisma.tenant.findMany();
    assert.equal(rows.filter((e) => e.tenantId === null).length, 1, "one platform-scope row");
    for (const tenant of tenants) assert.equal(rows.filter((e) => e.tenantId === tenant.id).length, 1, `one row for ${tenant.slug}`);
    assert.equal(new Set(rows.map((e) => e.actor)).size, 1, "every copy names the operator");
  });

  await t.test("each tenant's ADMIN and AUDITOR read the change in their own audit log", async () => {
    for (const auth of [fx.a.ADMIN, fx.a.AUDITOR, fx.b.ADMIN, fx.b.AUDITOR]) {
      const r = await fx.gql(AUDIT, { action: "model.activate" }, auth);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
      const nodes = r.body.data.auditEvents.edges.map((e: { node: unknown }) => e.node);
      assert.equal(nodes.length, 1, JSON.stringify(nodes));
      assert.equal(nodes[0].targetId, model.id);
      assert.equal(nodes[0].scope, "TENANT");
      assert.equal(nodes[0].details.version, "1.0.0");
    }
  });

  await t.test("the operator reads the platform-scope row; tenants never see platform rows", async () => {
    const op = await fx.operator();
    const r = await fx.gql(AUDIT, { action: "model.activate" }, op);
    const scopes = r.body.data.auditEvents.edges.map((e: { node: { scope: string } }) => e.node.scope);
    assert.ok(scopes.includes("PLATFORM"), JSON.stringify(r.body));
    const tenantView = await fx.gql(`{ auditEvents(first: 100) { edges { node { scope } } } }`, {}, fx.a.ADMIN);
    assert.ok(tenantView.body.data.auditEvents.edges.every((e: { node: { scope: string } }) => e.node.scope === "TENANT"));
  });

  await t.test("retirement by the operator is audited the same way", async () => {
    const op = await fx.operator();
    const r = await fx.gql(RETIRE, { id: model.id }, op);
    assert.equal(r.body.data.retireModel.model.status, "RETIRED");
    const rows = await fx.ctx.db.prisma.auditEvent.findMany({ where: { action: "model.retire", targetId: model.id } });
    assert.equal(rows.length, (await fx.ctx.db.prisma.tenant.count()) + 1);
  });

  await t.test("an operator has no access to patient data", async () => {
    const op = await fx.operator();
    for (const query of [`{ studies { totalCount } }`, `{ patients { totalCount } }`]) {
      const r = await fx.gql(query, {}, op);
      assert.equal(r.body.errors?.[0]?.extensions?.code, "FORBIDDEN", query);
    }
    const w = await fx.gql(`mutation { createPatient(input: { externalId: "OP-1" }) { patient { id } } }`, {}, op);
    assert.equal(w.body.errors?.[0]?.extensions?.code, "FORBIDDEN");
  });
});

test("fleet details are for operators; tenant ADMINs get pseudonyms and no metrics", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t);
  await fx.ctx.repos.modelVersions.upsert({
    name: "gkmvlp",
    version: "9.9.8",
    bundleSha256: "0e".repeat(32),
    manifest: {},
    metrics: { auc: 0.77 },
    status: "ACTIVE",
  });
  await fx.ctx.repos.heartbeats.beat({
    workerId: "analysis-rack9-host-5151-fedcba",
    host: "rack9-host",
    bundle: "gkmvlp 9.9.8",
    bundleSha256: "0e".repeat(32),
    status: "READY",
    inFlight: 0,
    processed: 1,
    failed: 0,
  });

  await t.test("a tenant ADMIN sees neither host, pid nor metrics", async () => {
    for (const auth of [fx.a.ADMIN, fx.b.ADMIN]) {
      const r = await fx.gql(FLEET, {}, auth);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
      assert.doesNotMatch(JSON.stringify(r.body.data), /rack9|5151|fedcba|0\.77/);
      assert.match(r.body.data.workers[0].id, /^worker-[0-9a-f]{12}$/);
      assert.equal(r.body.data.models[0].metrics, null);
    }
  });

  await t.test("the operator sees hosts, worker ids and metrics", async () => {
    const r = await fx.gql(FLEET, {}, await fx.operator());
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
    assert.deepEqual(r.body.data.workers, [{ id: "analysis-rack9-host-5151-fedcba", host: "rack9-host", status: "READY" }]);
    assert.deepEqual(r.body.data.models[0].metrics, { auc: 0.77 });
  });
});
