// Subscriptions over graphql-ws: QUEUED from the request, completions from Kafka (published here by hand —
// the worker's own path is covered by the worker's tests), per study and per tenant, across two replicas.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startGatewayFixture, createStudy, subscribe, type GatewayFixture, type Auth } from "./fixture.ts";
import { grayPng } from "./fixture.ts";
import { encodeEvent } from "../../lib/events/index.ts";
import { recordTransition } from "../../lib/db/repositories/transitions.ts";

const STUDY_UPDATES = `subscription($s: ID!) { studyAnalysisUpdates(studyId: $s) { status at analysis { id task status study { id } } } }`;
const TENANT_UPDATES = `subscription { tenantAnalysisUpdates { status analysis { id status } } }`;

type Update = { status: string; analysis: { id: string; status: string } };

async function studyWithImage(fx: GatewayFixture, auth: Auth) {
  const { studyId } = await createStudy(fx, auth);
  const png = grayPng(32, 32, Math.floor(Math.random() * 1e6));
  const up = await fx.upload(png, "image/png", auth);
  await fx.gql(
    `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { errors { code } } }`,
    { s: studyId, u: up.body.uploadId },
    auth,
  );
  return studyId;
}

/**
 * What a worker does when it finishes: the row becomes SUCCEEDED and its transition is logged (one transaction),
 * then AnalysisCompleted goes to Kafka.
 */
async function completeByHand(fx: GatewayFixture, analysisId: string) {
  const analysis = await fx.ctx.db.prisma.$transaction(async (tx) => {
    const done = await tx.analysis.update({ where: { id: analysisId }, data: { status: "SUCCEEDED", finishedAt: new Date() } });
    await recordTransition(tx, done, "SUCCEEDED", done.finishedAt!);
    return done;
  });
  const producer = await fx.ctx.producer();
  await producer.send([
    {
      topic: fx.ctx.topics.completed,
      key: analysis.studyId,
      value: encodeEvent("AnalysisCompleted", {
        type: "AnalysisCompleted",
        version: 1,
        eventId: randomUUID(),
        tenantId: analysis.tenantId,
        studyId: analysis.studyId,
        analysisId: analysis.id,
        task: analysis.task,
        status: "SUCCEEDED",
        finishedAt: analysis.finishedAt!.toISOString(),
      }),
    },
  ]);
}

/** Waits until the subscription is registered on the gateway (graphql-ws subscribes asynchronously). */
async function subscribed(fx: GatewayFixture, gateway = fx.gateway, count = 1) {
  const deadline = Date.now() + 10_000;
  while (gateway.updates.pubsub.subscriberCount() < count) {
    if (Date.now() > deadline) throw new Error("subscription did not register");
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("analysis update subscriptions", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t);
  const auth = fx.a.CLINICIAN;

  await t.test("a study subscription receives QUEUED for a requested analysis, then its completion from Kafka", async () => {
    const studyId = await studyWithImage(fx, auth);
    const sub = subscribe<{ studyAnalysisUpdates: Update }>(fx.ws({ authorization: auth.authorization }), STUDY_UPDATES, { s: studyId });
    await subscribed(fx);
    const r = await fx.gql(
      `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [CLASSIFICATION] }) { analyses { id } } }`,
      { s: studyId },
      auth,
    );
    const id = r.body.data.requestAnalyses.analyses[0].id as string;
    await sub.until((m) => m.some((x) => x.studyAnalysisUpdates.status === "QUEUED"), 10_000, "QUEUED");
    await completeByHand(fx, id);
    const messages = await sub.until((m) => m.some((x) => x.studyAnalysisUpdates.status === "SUCCEEDED"), 20_000, "SUCCEEDED");
    const done = messages.find((x) => x.studyAnalysisUpdates.status === "SUCCEEDED")!.studyAnalysisUpdates;
    assert.deepEqual(done.analysis, { id, task: "CLASSIFICATION", status: "SUCCEEDED", study: { id: studyId } });
    // The QUEUED also came back from Kafka (analysis.requested, via the outbox relay), but was delivered once.
    await fx.gateway.flushOutbox();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sub.messages.filter((x) => x.studyAnalysisUpdates.status === "QUEUED").length, 1);
    assert.equal(sub.messages.filter((x) => x.studyAnalysisUpdates.status === "SUCCEEDED").length, 1);
  });

  await t.test("a cancellation reaches the study's subscribers once", async () => {
    const studyId = await studyWithImage(fx, auth);
    const sub = subscribe<{ studyAnalysisUpdates: Update }>(fx.ws({ authorization: auth.authorization }), STUDY_UPDATES, { s: studyId });
    await subscribed(fx);
    const r = await fx.gql(
      `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [REPORT] }) { analyses { id } } }`,
      { s: studyId },
      auth,
    );
    const id = r.body.data.requestAnalyses.analyses[0].id as string;
    await fx.gql(`mutation($id: ID!) { cancelAnalysis(id: $id) { errors { code } } }`, { id }, auth);
    await sub.until((m) => m.some((x) => x.studyAnalysisUpdates.status === "CANCELLED"), 10_000, "CANCELLED");
    await fx.gateway.flushOutbox(); // the CANCELLED completion event also arrives from Kafka
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(sub.messages.filter((x) => x.studyAnalysisUpdates.status === "CANCELLED").length, 1);
  });

  await t.test("tenant subscriptions see their own tenant's updates only, and an API key can subscribe", async () => {
    const mine = subscribe<{ tenantAnalysisUpdates: Update }>(fx.ws({ apiKey: fx.tenantA.apiKey }), TENANT_UPDATES);
    const theirs = subscribe<{ tenantAnalysisUpdates: Update }>(fx.ws({ authorization: fx.b.CLINICIAN.authorization }), TENANT_UPDATES);
    await subscribed(fx, fx.gateway, 2);
    const studyId = await studyWithImage(fx, auth);
    const r = await fx.gql(
      `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [LOCALIZATION] }) { analyses { id } } }`,
      { s: studyId },
      auth,
    );
    const id = r.body.data.requestAnalyses.analyses[0].id as string;
    await completeByHand(fx, id);
    await mine.until(
      (m) => m.some((x) => x.tenantAnalysisUpdates.analysis.id === id && x.tenantAnalysisUpdates.status === "SUCCEEDED"),
      20_000,
      "tenant SUCCEEDED",
    );
    assert.equal(theirs.messages.length, 0);
    assert.equal(theirs.errors.length, 0);
  });

  await t.test("a client on another replica receives QUEUED and the completion through Kafka", async () => {
    const replica = await fx.replica();
    const studyId = await studyWithImage(fx, auth);
    const client = fx.ws({ authorization: auth.authorization });
    // Point this client at the replica: same credentials, different server.
    const { createClient } = await import("graphql-ws");
    const WebSocket = (await import("ws")).default;
    await client.dispose();
    const onReplica = createClient({
      url: `${replica.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: auth.authorization },
      retryAttempts: 0,
    });
    t.after(() => onReplica.dispose());
    const sub = subscribe<{ studyAnalysisUpdates: Update }>(onReplica, STUDY_UPDATES, { s: studyId });
    await subscribed(fx, replica);
    const r = await fx.gql(
      `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [VQA], question: "Is the heart enlarged?" }) { analyses { id } } }`,
      { s: studyId },
      auth,
    );
    const id = r.body.data.requestAnalyses.analyses[0].id as string;
    await sub.until((m) => m.some((x) => x.studyAnalysisUpdates.status === "QUEUED"), 20_000, "QUEUED on the replica");
    await completeByHand(fx, id);
    await sub.until((m) => m.some((x) => x.studyAnalysisUpdates.status === "SUCCEEDED"), 20_000, "SUCCEEDED on the replica");
    assert.deepEqual(
      sub.messages.map((m) => m.studyAnalysisUpdates.analysis.id),
      [id, id],
    );
  });

  await t.test("operations over the WebSocket get the same depth limit as over HTTP", async () => {
    const deep = subscribe(
      fx.ws({ authorization: auth.authorization }),
      `subscription { tenantAnalysisUpdates { analysis { study { patient { studies { edges { node { patient { studies { edges { node { id } } } } } } } } } } } }`,
    );
    const deadline = Date.now() + 10_000;
    while (deep.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    assert.match(JSON.stringify(deep.errors), /Query is too deep: depth 12 exceeds the limit of 10/);
  });

  await t.test("stopping the gateway closes subscriptions and refuses new connections", async () => {
    const sub = subscribe<{ tenantAnalysisUpdates: Update }>(fx.ws({ authorization: auth.authorization }), TENANT_UPDATES);
    await subscribed(fx);
    await fx.gateway.stop();
    const deadline = Date.now() + 10_000;
    while (!sub.isComplete() && sub.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    assert.ok(sub.isComplete() || sub.errors.length > 0, "the subscription ended");
    await assert.rejects(fetch(`${fx.gateway.url}/healthz`));
  });
});
