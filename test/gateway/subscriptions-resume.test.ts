// Resumable subscriptions (issue 14, finding 9): a client that reconnects with the cursor of the last update it
// saw receives every transition it missed, in order and once, then live ones: after a plain disconnect, and
// across a gateway restart; cursors of another tenant, malformed, pruned or too old are refused with a code;
// replay is tenant-scoped. The transition log's order under out-of-order commits is tested on the repository.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { startGatewayFixture, createStudy, subscribe, grayPng, type GatewayFixture, type Auth } from "./fixture.ts";
import type { Gateway } from "../../services/gateway/src/gateway.ts";
import { studyChannel, tenantChannel } from "../../services/gateway/src/subscriptions/updates.ts";
import { createTransitionRepository, recordTransition, START, type Position } from "../../lib/db/repositories/transitions.ts";
import { checkCursor, encodeCursor } from "../../services/gateway/src/subscriptions/cursor.ts";

const MAX_REPLAY_ROWS = 6;
const TENANT_UPDATES = `subscription($after: String) { tenantAnalysisUpdates(after: $after) { status cursor analysis { id status } } }`;
const STUDY_UPDATES = `subscription($s: ID!, $after: String) { studyAnalysisUpdates(studyId: $s, after: $after) { status cursor analysis { id status } } }`;

type Update = { status: string; cursor: string; analysis: { id: string; status: string } };
type TenantMsg = { tenantAnalysisUpdates: Update };
type StudyMsg = { studyAnalysisUpdates: Update };
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

async function studyWithImage(fx: GatewayFixture, auth: Auth): Promise<string> {
  const { studyId } = await createStudy(fx, auth);
  const up = await fx.upload(grayPng(32, 32, Math.floor(Math.random() * 1e6)), "image/png", auth);
  await fx.gql(
    `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { errors { code } } }`,
    { s: studyId, u: up.body.uploadId },
    auth,
  );
  return studyId;
}

async function requestFour(fx: GatewayFixture, studyId: string, auth: Auth): Promise<string[]> {
  const r = await fx.gql(
    `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [CLASSIFICATION, LOCALIZATION, REPORT, VQA], question: "Is the heart enlarged?" }) { analyses { id } } }`,
    { s: studyId },
    auth,
  );
  return (r.body.data.requestAnalyses.analyses as { id: string }[]).map((a) => a.id);
}

/** The worker's failure path (repository, one transaction with the outbox row and the transition). */
const fail = (fx: GatewayFixture, id: string) => fx.ctx.repos.analyses.markFailed(id, { code: "INJECTED", message: "test failure" });

function clientOn(gateway: Gateway, auth: Record<string, unknown>): Client {
  return createClient({
    url: `${gateway.url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: auth,
    retryAttempts: 0,
    lazy: true,
  });
}

/** Waits until `count` subscriptions listen on the channel (graphql-ws subscribes asynchronously). */
async function subscribedOn(gateway: Gateway, channel: string, count = 1): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (gateway.updates.pubsub.subscriberCount(channel) < count) {
    if (Date.now() > deadline) throw new Error("subscription did not register");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The first error's code of a subscription that is expected to be refused. */
async function refusal(sub: { errors: unknown[]; messages: unknown[] }): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (sub.errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  assert.equal(sub.messages.length, 0, "no data with a refused cursor");
  const first = sub.errors[0] as { extensions?: { code?: string } } | undefined;
  return first?.extensions?.code ?? `no code: ${JSON.stringify(sub.errors)}`;
}

test("resumable analysis update subscriptions", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t, { env: { SUBSCRIPTION_REPLAY_MAX_ROWS: String(MAX_REPLAY_ROWS) } });
  const auth = fx.a.CLINICIAN;

  await t.test(
    "a subscriber that reconnects with its last cursor gets exactly the missed transitions in order, then live ones",
    async () => {
      const studyId = await studyWithImage(fx, auth);
      const first = fx.ws({ authorization: auth.authorization });
      const before = subscribe<StudyMsg>(first, STUDY_UPDATES, { s: studyId });
      await subscribedOn(fx.gateway, studyChannel(studyId));
      const ids = await requestFour(fx, studyId, auth);
      await before.until((m) => m.length === 4, 20_000, "4 QUEUED");
      const last = before.messages[3]!.studyAnalysisUpdates.cursor;
      await first.dispose();

      // Missed while disconnected, one after the other (so their order is known): FAILED, CANCELLED, FAILED.
      await fail(fx, ids[0]!);
      await fx.gql(`mutation($id: ID!) { cancelAnalysis(id: $id) { errors { code } } }`, { id: ids[1] }, auth);
      await fail(fx, ids[2]!);

      const again = subscribe<StudyMsg>(fx.ws({ authorization: auth.authorization }), STUDY_UPDATES, { s: studyId, after: last });
      await again.until((m) => m.length >= 3, 20_000, "the 3 missed transitions");
      await fail(fx, ids[3]!);
      await again.until((m) => m.length >= 4, 20_000, "the live transition");
      await new Promise((r) => setTimeout(r, 500)); // room for a duplicate to show up
      assert.deepEqual(
        again.messages.map((m) => [m.studyAnalysisUpdates.analysis.id, m.studyAnalysisUpdates.status]),
        [
          [ids[0], "FAILED"],
          [ids[1], "CANCELLED"],
          [ids[2], "FAILED"],
          [ids[3], "FAILED"],
        ],
      );
      const cursors = [...before.messages, ...again.messages].map((m) => m.studyAnalysisUpdates.cursor);
      assert.equal(new Set(cursors).size, cursors.length, "every transition has its own cursor");
      assert.deepEqual(again.errors, []);
      again.unsubscribe();
    },
  );

  await t.test("a client that reconnects to a new gateway after a restart misses nothing and receives nothing twice", async () => {
    const [s1, s2] = [await studyWithImage(fx, auth), await studyWithImage(fx, auth)];
    const old = await fx.replica();
    const onOld = clientOn(old, { authorization: auth.authorization });
    const live = subscribe<TenantMsg>(onOld, TENANT_UPDATES);
    await subscribedOn(old, tenantChannel(fx.tenantA.tenantId));
    const ids = [...(await requestFour(fx, s1, auth)), ...(await requestFour(fx, s2, auth))];
    const idSet = new Set(ids);
    const terminalOf = (messages: TenantMsg[]) =>
      messages.map((m) => m.tenantAnalysisUpdates).filter((u) => idSet.has(u.analysis.id) && TERMINAL.has(u.status));
    await live.until((m) => m.filter((x) => idSet.has(x.tenantAnalysisUpdates.analysis.id)).length === 8, 20_000, "8 QUEUED");
    // Three complete at once (concurrent commits) while the client is connected.
    await Promise.all(ids.slice(0, 3).map((id) => fail(fx, id)));
    await live.until((m) => terminalOf(m).length === 3, 20_000, "3 terminal updates before the restart");
    const cursor = live.messages[live.messages.length - 1]!.tenantAnalysisUpdates.cursor;
    await onOld.dispose();
    await old.stop();

    // While no gateway of the client's is up, three more complete at once.
    await Promise.all(ids.slice(3, 6).map((id) => fail(fx, id)));
    const restarted = await fx.replica();
    const onNew = clientOn(restarted, { authorization: auth.authorization });
    t.after(() => onNew.dispose());
    // The last two complete while the client resubscribes: replay and live race.
    const racing = Promise.all(ids.slice(6).map((id) => fail(fx, id)));
    const resumed = subscribe<TenantMsg>(onNew, TENANT_UPDATES, { after: cursor });
    await racing;
    await resumed.until((m) => terminalOf(m).length >= 5, 20_000, "the 5 transitions after the cursor");
    await new Promise((r) => setTimeout(r, 1000));
    const delivered = [...terminalOf(live.messages), ...terminalOf(resumed.messages)].map((u) => u.analysis.id);
    assert.deepEqual([...delivered].sort(), [...ids].sort(), "each analysis' completion exactly once over both connections");
    assert.deepEqual(resumed.errors, []);
  });

  await t.test("a cursor of another tenant, a malformed, unknown or pruned one is refused with a code", async () => {
    const studyId = await studyWithImage(fx, auth);
    const sub = subscribe<StudyMsg>(fx.ws({ authorization: auth.authorization }), STUDY_UPDATES, { s: studyId });
    await subscribedOn(fx.gateway, studyChannel(studyId));
    await requestFour(fx, studyId, auth);
    await sub.until((m) => m.length >= 1, 20_000, "QUEUED");
    const cursorOfA = sub.messages[0]!.studyAnalysisUpdates.cursor;
    sub.unsubscribe();

    const asB = (after: string) => subscribe<TenantMsg>(fx.ws({ authorization: fx.b.CLINICIAN.authorization }), TENANT_UPDATES, { after });
    assert.equal(await refusal(asB(cursorOfA)), "INVALID_CURSOR", "tenant A's cursor, used by tenant B");
    assert.equal(await refusal(asB("not-a-cursor")), "INVALID_CURSOR");
    assert.equal(await refusal(asB("%%%")), "INVALID_CURSOR");
    const tenantB = fx.tenantB.tenantId;
    assert.equal(
      await refusal(asB(encodeCursor(tenantB, { txid: 99_999_999n, id: 99_999_999n }))),
      "INVALID_CURSOR",
      "a position never written",
    );
    assert.equal(await refusal(asB(encodeCursor(tenantB, START))), "RESYNC_REQUIRED", "a position below the kept history");
    // a forged cursor naming tenant A's row but tenant B: the row's own tenant is checked too
    const forged = Buffer.from(Buffer.from(cursorOfA, "base64url").toString("utf8").replace(fx.tenantA.tenantId, tenantB)).toString(
      "base64url",
    );
    assert.equal(await refusal(asB(forged)), "INVALID_CURSOR");
    // too old for the configured replay age
    const transitions = createTransitionRepository(fx.ctx.db.prisma);
    await assert.rejects(
      checkCursor(cursorOfA, fx.tenantA.tenantId, transitions, { maxRows: 10, maxAgeMs: 0 }),
      (e: Error & { extensions?: { code?: string } }) => e.extensions?.code === "RESYNC_REQUIRED",
    );
  });

  await t.test("more missed transitions than the replay bound: RESYNC_REQUIRED", async () => {
    const studyId = await studyWithImage(fx, auth);
    const sub = subscribe<StudyMsg>(fx.ws({ authorization: auth.authorization }), STUDY_UPDATES, { s: studyId });
    await subscribedOn(fx.gateway, studyChannel(studyId));
    const ids = await requestFour(fx, studyId, auth);
    await sub.until((m) => m.length >= 1, 20_000, "QUEUED");
    const cursor = sub.messages[0]!.studyAnalysisUpdates.cursor; // 3 QUEUED + 4 terminal = 7 after it
    sub.unsubscribe();
    for (const id of ids) await fail(fx, id);
    assert.ok(7 > MAX_REPLAY_ROWS);
    assert.equal(
      await refusal(subscribe(fx.ws({ authorization: auth.authorization }), STUDY_UPDATES, { s: studyId, after: cursor })),
      "RESYNC_REQUIRED",
    );
  });

  await t.test("a replay shows only the caller's tenant (and study)", async () => {
    const studyB = await studyWithImage(fx, fx.b.CLINICIAN);
    const subB = subscribe<TenantMsg>(fx.ws({ authorization: fx.b.CLINICIAN.authorization }), TENANT_UPDATES);
    await subscribedOn(fx.gateway, tenantChannel(fx.tenantB.tenantId));
    const idsB = await requestFour(fx, studyB, fx.b.CLINICIAN);
    await subB.until((m) => m.length === 4, 20_000, "tenant B's QUEUED");
    const cursorB = subB.messages[3]!.tenantAnalysisUpdates.cursor;
    subB.unsubscribe();
    // Tenant A's transitions interleave with one of tenant B's.
    const studyA = await studyWithImage(fx, auth);
    const idsA = await requestFour(fx, studyA, auth);
    await fail(fx, idsA[0]!);
    await fail(fx, idsB[0]!);
    await fail(fx, idsA[1]!);
    const resumedB = subscribe<TenantMsg>(fx.ws({ authorization: fx.b.CLINICIAN.authorization }), TENANT_UPDATES, { after: cursorB });
    await resumedB.until((m) => m.length >= 1, 20_000, "tenant B's missed transition");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      resumedB.messages.map((m) => [m.tenantAnalysisUpdates.analysis.id, m.tenantAnalysisUpdates.status]),
      [[idsB[0], "FAILED"]],
    );
    // A study subscription of tenant B resuming after the same cursor: only that study's rows (none of tenant A's).
    const otherStudyB = await studyWithImage(fx, fx.b.CLINICIAN);
    const resumedStudy = subscribe<StudyMsg>(fx.ws({ authorization: fx.b.CLINICIAN.authorization }), STUDY_UPDATES, {
      s: otherStudyB,
      after: cursorB,
    });
    await subscribedOn(fx.gateway, studyChannel(otherStudyB));
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(resumedStudy.messages, []);
    assert.deepEqual(resumedStudy.errors, []);
  });
});

test("the transition log never hands out a position that a later commit lands behind", { timeout: 120_000 }, async (t) => {
  const fx = await startGatewayFixture(t);
  const prisma = fx.ctx.db.prisma;
  const log = createTransitionRepository(prisma);
  const tenantId = `t-${randomUUID()}`;
  const row = (analysisId: string) => ({ id: analysisId, tenantId, studyId: "s", analysisId });
  const early = new pg.Client({ connectionString: fx.ctx.databaseUrl });
  early.on("error", () => undefined); // the database is dropped with force after the test
  await early.connect();

  // Transaction A takes its id and sequence number first, then B inserts and commits while A is still open.
  await early.query("BEGIN");
  await early.query(
    `INSERT INTO "AnalysisTransition" ("tenantId", "studyId", "analysisId", "status", "at") VALUES ($1, 's', 'a', 'FAILED', now())`,
    [tenantId],
  );
  await prisma.$transaction((tx) => recordTransition(tx, row("b"), "FAILED", new Date()));
  const ids = await prisma.$queryRaw<
    { analysisId: string; id: bigint }[]
  >`SELECT "analysisId", "id" FROM "AnalysisTransition" WHERE "tenantId" = ${tenantId}`;
  assert.deepEqual(
    ids.map((r) => r.analysisId),
    ["b"],
    "only B is committed",
  );

  const held = await log.readAfter(START, 100, { tenantId });
  assert.deepEqual(held.rows, [], "B waits behind the older, still running A");
  assert.equal(held.pending, true);
  await early.query("COMMIT");

  const read = await log.readAfter(START, 100, { tenantId });
  assert.deepEqual(
    read.rows.map((r) => r.analysisId),
    ["a", "b"],
  );
  assert.ok(read.rows[0]!.id < read.rows[1]!.id);
  // Reading on from any returned position never skips: after A comes B, after B nothing.
  const afterA: Position = read.rows[0]!;
  assert.deepEqual(
    (await log.readAfter(afterA, 100, { tenantId })).rows.map((r) => r.analysisId),
    ["b"],
  );
  assert.deepEqual((await log.readAfter(read.rows[1]!, 100, { tenantId })).rows, []);
  await early.end();
});

test("transitions past the retention period are pruned, and a cursor to one asks for a resync", { timeout: 120_000 }, async (t) => {
  // The gateway's own tailer prunes at its first read; with the default 7-day retention it could remove the
  // 8-day-old row below before this test's first check (it did in CI on a loaded machine). A year's retention
  // keeps the tailer out of the way: this test prunes the log itself, at a cutoff it chooses.
  const fx = await startGatewayFixture(t, { env: { TRANSITION_RETENTION_SECONDS: String(365 * 24 * 3600) } });
  const prisma = fx.ctx.db.prisma;
  const log = createTransitionRepository(prisma);
  const tenantId = fx.tenantA.tenantId;
  const day = 24 * 3600_000;
  await prisma.$transaction((tx) => recordTransition(tx, { id: "old", tenantId, studyId: "s" }, "FAILED", new Date(Date.now() - 8 * day)));
  await prisma.$transaction((tx) => recordTransition(tx, { id: "new", tenantId, studyId: "s" }, "FAILED", new Date()));
  const [old, recent] = (await log.readAfter(START, 100, { tenantId })).rows;
  assert.deepEqual([old!.analysisId, recent!.analysisId], ["old", "new"]);
  const limits = { maxRows: 10, maxAgeMs: 30 * day };
  const oldCursor = encodeCursor(tenantId, old!);
  assert.deepEqual(await checkCursor(oldCursor, tenantId, log, limits), { txid: old!.txid, id: old!.id }, "kept: still resumable");

  assert.equal(await log.prune(new Date(Date.now() - 7 * day)), 1);
  assert.deepEqual(
    (await log.readAfter(START, 100, { tenantId })).rows.map((r) => r.analysisId),
    ["new"],
  );
  await assert.rejects(
    checkCursor(oldCursor, tenantId, log, limits),
    (e: Error & { extensions?: { code?: string } }) => e.extensions?.code === "RESYNC_REQUIRED",
  );
});
