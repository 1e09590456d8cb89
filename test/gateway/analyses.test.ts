// Analysis requests (idempotency, outbox), retry/cancel state checks, report review and model activation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGatewayFixture, createStudy, type GatewayFixture, type Auth } from "./fixture.ts";
import { grayPng } from "./fixture.ts";

const PROVENANCE = { modelName: "gkmvlp-test", modelVersion: "0.0.1", bundleSha256: "ef".repeat(32) };

async function studyWithImage(fx: GatewayFixture, auth: Auth) {
  const { studyId } = await createStudy(fx, auth);
  const png = grayPng(32, 32, Math.floor(Math.random() * 1e6));
  const up = await fx.upload(png, "image/png", auth);
  assert.equal(up.status, 200, JSON.stringify(up.body));
  const a = await fx.gql(
    `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id } errors { code message } } }`,
    { s: studyId, u: up.body.uploadId },
    auth,
  );
  assert.deepEqual(a.body.data.attachImage.errors, []);
  return { studyId, imageId: a.body.data.attachImage.image.id as string };
}

const REQUEST = `mutation($s: ID!, $k: String) {
  requestAnalyses(input: { studyId: $s, tasks: [CLASSIFICATION, REPORT, VQA], question: "Is there an effusion?", idempotencyKey: $k }) {
    analyses { id task status idempotencyKey } errors { code message field }
  }
}`;

test("analysis requests and their state changes", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t);
  const auth = fx.a.CLINICIAN;
  const { studyId } = await studyWithImage(fx, auth);

  await t.test(
    "the same idempotency key, sent twice and concurrently, yields one analysis per task and one job message for them",
    async () => {
      const [first, second, third] = await Promise.all([
        fx.gql(REQUEST, { s: studyId, k: "order-123" }, auth),
        fx.gql(REQUEST, { s: studyId, k: "order-123" }, auth),
        fx.gql(REQUEST, { s: studyId, k: "order-123" }, fx.apiKeyA),
      ]);
      for (const r of [first, second, third]) assert.deepEqual(r.body.data.requestAnalyses.errors, [], JSON.stringify(r.body));
      const ids = (r: typeof first) => r.body.data.requestAnalyses.analyses.map((a: { id: string }) => a.id).sort();
      assert.equal(ids(first).length, 3);
      assert.deepEqual(ids(second), ids(first));
      assert.deepEqual(ids(third), ids(first));
      assert.equal(await fx.ctx.db.prisma.analysis.count({ where: { studyId } }), 3);
      const outbox = await fx.ctx.db.prisma.outboxEvent.findMany({ where: { key: studyId, topic: fx.ctx.topics.requested } });
      assert.equal(outbox.length, 1, "one AnalysisRequested job for the image's three analyses");
      assert.deepEqual([...(outbox[0]!.payload as { analysisIds: string[] }).analysisIds].sort(), ids(first));
      const again = await fx.gql(REQUEST, { s: studyId, k: "order-123" }, auth);
      assert.deepEqual(ids(again), ids(first));
      assert.equal(await fx.ctx.db.prisma.outboxEvent.count({ where: { key: studyId, topic: fx.ctx.topics.requested } }), 1);
      // A different key is a new request.
      const other = await fx.gql(REQUEST, { s: studyId, k: "order-124" }, auth);
      assert.notDeepEqual(ids(other), ids(first));
      assert.equal(await fx.ctx.db.prisma.analysis.count({ where: { studyId } }), 6);
    },
  );

  await t.test("the outbox relay publishes the requests to Kafka keyed by study", async () => {
    await fx.gateway.flushOutbox();
    const unsent = await fx.ctx.db.prisma.outboxEvent.count({ where: { sentAt: null } });
    assert.equal(unsent, 0);
    const admin = await fx.ctx.kafka.admin();
    try {
      const offsets = await admin.topicOffsets(fx.ctx.topics.requested);
      assert.equal(
        offsets.reduce((n, p) => n + Number(p.high), 0),
        2,
        "two requests of three analyses each: two job messages",
      );
    } finally {
      await admin.disconnect();
    }
  });

  await t.test("askQuestion with an idempotency key returns the same VQA analysis", async () => {
    const q = `mutation($s: ID!) { askQuestion(studyId: $s, question: "Which side?", idempotencyKey: "q-1") { analysis { id task question } errors { code } } }`;
    const a = await fx.gql(q, { s: studyId }, auth);
    const b = await fx.gql(q, { s: studyId }, auth);
    assert.equal(a.body.data.askQuestion.analysis.task, "VQA");
    assert.equal(a.body.data.askQuestion.analysis.question, "Which side?");
    assert.equal(b.body.data.askQuestion.analysis.id, a.body.data.askQuestion.analysis.id);
  });

  await t.test("cancel and retry follow the state machine and say why when they cannot", async () => {
    const r = await fx.gql(REQUEST, { s: studyId, k: "order-200" }, auth);
    const id = r.body.data.requestAnalyses.analyses[0].id as string;
    const retryQueued = await fx.gql(
      `mutation($id: ID!) { retryAnalysis(id: $id) { analysis { id } errors { code message field } } }`,
      { id },
      auth,
    );
    assert.equal(retryQueued.body.data.retryAnalysis.errors[0].code, "INVALID_STATE");
    assert.match(retryQueued.body.data.retryAnalysis.errors[0].message, /QUEUED; only FAILED or CANCELLED/);
    const cancel = await fx.gql(
      `mutation($id: ID!) { cancelAnalysis(id: $id) { analysis { status finishedAt } errors { code } } }`,
      { id },
      auth,
    );
    assert.equal(cancel.body.data.cancelAnalysis.analysis.status, "CANCELLED");
    const cancelAgain = await fx.gql(`mutation($id: ID!) { cancelAnalysis(id: $id) { analysis { id } errors { code } } }`, { id }, auth);
    assert.equal(cancelAgain.body.data.cancelAnalysis.errors[0].code, "INVALID_STATE");
    const retry = await fx.gql(
      `mutation($id: ID!) { retryAnalysis(id: $id) { analysis { status finishedAt } errors { code } } }`,
      { id },
      auth,
    );
    assert.deepEqual(retry.body.data.retryAnalysis.analysis, { status: "QUEUED", finishedAt: null });
    const unknown = await fx.gql(`mutation { cancelAnalysis(id: "no-such-id") { analysis { id } errors { code field } } }`, {}, auth);
    assert.deepEqual(unknown.body.data.cancelAnalysis.errors, [{ code: "NOT_FOUND", field: "id" }]);
    const actions = (await fx.ctx.db.prisma.auditEvent.findMany({ where: { targetId: id } })).map((e) => e.action).sort();
    assert.deepEqual(actions, ["analysis.cancel", "analysis.retry"]);
  });

  await t.test("a report is reviewed only when finished, by a radiologist, and every review is audited", async () => {
    const r = await fx.gql(REQUEST, { s: studyId, k: "order-300" }, auth);
    const report = r.body.data.requestAnalyses.analyses.find((a: { task: string }) => a.task === "REPORT");
    const review = (action: string, extra = "", who = fx.a.RADIOLOGIST) =>
      fx.gql(
        `mutation($a: ID!) { reviewReport(input: { analysisId: $a, action: ${action} ${extra} }) { review { action amendedText reviewer { email role } } report { reviewStatus reviews { action } } errors { code field message } } }`,
        { a: report.id },
        who,
      );
    const early = await review("ACCEPT");
    assert.equal(early.body.data.reviewReport.errors[0].code, "INVALID_STATE");
    await fx.ctx.repos.results.writeReport(report.id, PROVENANCE, {
      findingsText: "No effusion.",
      impressionText: "Normal.",
      decoding: "beam:3",
      sentences: [
        { index: 0, text: "No effusion.", regions: [{ region: "left costophrenic angle", score: 0.6 }], labels: ["Pleural Effusion"] },
      ],
    });
    const clinician = await review("ACCEPT", "", fx.a.CLINICIAN);
    assert.equal(clinician.body.errors?.[0]?.extensions?.code, "FORBIDDEN");
    const amendWithout = await review("AMEND");
    assert.deepEqual(
      amendWithout.body.data.reviewReport.errors.map((e: { code: string; field: string }) => [e.code, e.field]),
      [["VALIDATION", "input.amendedText"]],
    );
    const accept = await review("ACCEPT", `comment: "fine"`);
    assert.equal(accept.body.data.reviewReport.review.reviewer.role, "RADIOLOGIST");
    const amend = await review("AMEND", `amendedText: "Small left effusion."`);
    assert.equal(amend.body.data.reviewReport.review.amendedText, "Small left effusion.");
    const reject = await review("REJECT");
    assert.equal(reject.body.data.reviewReport.report.reviewStatus, "REJECT");
    assert.deepEqual(
      reject.body.data.reviewReport.report.reviews.map((x: { action: string }) => x.action),
      ["ACCEPT", "AMEND", "REJECT"],
    );
    const study = await fx.gql(
      `query($s: ID!) { study(id: $s) { status latestReport { findings reviewStatus } } }`,
      { s: studyId },
      fx.a.RADIOLOGIST,
    );
    assert.equal(study.body.data.study.status, "REVIEWED");
    const audited = await fx.ctx.db.prisma.auditEvent.findMany({
      where: { targetId: report.id, action: { startsWith: "report." } },
      orderBy: { at: "asc" },
    });
    assert.deepEqual(
      audited.map((e) => e.action),
      ["report.accept", "report.amend", "report.reject"],
    );
  });

  await t.test("activating a model retires the previous active version; only platform operators may", async () => {
    const v1 = await fx.ctx.repos.modelVersions.upsert({
      name: "gkmvlp",
      version: "1.0.0",
      bundleSha256: "01".repeat(32),
      manifest: { tasks: ["classification"] },
      metrics: { auc: 0.8 },
      status: "ACTIVE",
    });
    const v2 = await fx.ctx.repos.modelVersions.upsert({
      name: "gkmvlp",
      version: "1.1.0",
      bundleSha256: "02".repeat(32),
      manifest: {},
      metrics: {},
    });
    const denied = await fx.gql(`mutation($id: ID!) { activateModel(id: $id) { model { status } } }`, { id: v2.id }, fx.a.RADIOLOGIST);
    assert.equal(denied.body.errors?.[0]?.extensions?.code, "FORBIDDEN");
    const admin = await fx.gql(
      `mutation($id: ID!) { activateModel(id: $id) { model { status } errors { code } } }`,
      { id: v2.id },
      fx.a.ADMIN,
    );
    assert.deepEqual(admin.body.data.activateModel, { model: null, errors: [{ code: "FORBIDDEN" }] }, "a tenant ADMIN may not");
    const operator = await fx.operator();
    const ok = await fx.gql(
      `mutation($id: ID!) { activateModel(id: $id) { model { version status } errors { code } } }`,
      { id: v2.id },
      operator,
    );
    assert.deepEqual(ok.body.data.activateModel.model, { version: "1.1.0", status: "ACTIVE" });
    const models = await fx.gql(`{ models { version status tasks metrics } }`, {}, fx.a.ADMIN);
    const byVersion = Object.fromEntries(models.body.data.models.map((m: { version: string; status: string }) => [m.version, m.status]));
    assert.equal(byVersion["1.0.0"], "RETIRED");
    assert.equal(byVersion["1.1.0"], "ACTIVE");
    const twice = await fx.gql(
      `mutation($id: ID!) { activateModel(id: $id) { model { status } errors { code } } }`,
      { id: v2.id },
      operator,
    );
    assert.equal(twice.body.data.activateModel.errors[0].code, "INVALID_STATE");
    const retire = await fx.gql(
      `mutation($id: ID!) { retireModel(id: $id) { model { status } errors { code } } }`,
      { id: v1.id },
      operator,
    );
    assert.equal(retire.body.data.retireModel.errors[0].code, "INVALID_STATE");
    // one platform-scope row and one in each tenant's log (A, B and the operators' own)
    assert.equal(await fx.ctx.db.prisma.auditEvent.count({ where: { action: "model.activate", targetId: v2.id, tenantId: null } }), 1);
    assert.equal(
      await fx.ctx.db.prisma.auditEvent.count({ where: { action: "model.activate", targetId: v2.id, tenantId: fx.tenantA.tenantId } }),
      1,
    );
  });

  await t.test("workers are listed from their heartbeats and linked to the model version they run", async () => {
    await fx.ctx.repos.heartbeats.beat({
      workerId: "w-1",
      host: "node-a",
      bundle: "gkmvlp 1.1.0",
      bundleSha256: "02".repeat(32),
      status: "READY",
      inFlight: 2,
      processed: 7,
      failed: 0,
    });
    const r = await fx.gql(
      `{ workers { id host status inFlight processed healthy bundleSha256 } models { version workers { id } } }`,
      {},
      await fx.operator(),
    );
    assert.deepEqual(r.body.data.workers, [
      { id: "w-1", host: "node-a", status: "READY", inFlight: 2, processed: 7, healthy: true, bundleSha256: "02".repeat(32) },
    ]);
    const byVersion = Object.fromEntries(
      r.body.data.models.map((m: { version: string; workers: { id: string }[] }) => [m.version, m.workers.map((w) => w.id)]),
    );
    assert.deepEqual(byVersion, { "1.1.0": ["w-1"], "1.0.0": [] });
  });

  await t.test("queue statistics count the tenant's analyses by task and status", async () => {
    const q = await fx.gql(`{ queue { tasks { task queued running succeededLastHour } deadLetters throughputPerMinute } }`, {}, fx.a.ADMIN);
    const report = q.body.data.queue.tasks.find((x: { task: string }) => x.task === "REPORT");
    const counts = await fx.ctx.db.prisma.analysis.count({ where: { tenantId: fx.tenantA.tenantId, task: "REPORT", status: "QUEUED" } });
    assert.equal(report.queued, counts);
    assert.equal(report.succeededLastHour, 1);
  });
});
