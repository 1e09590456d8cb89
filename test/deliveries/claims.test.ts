// Claims in real PostgreSQL: two dispatchers share the work without sending anything twice (FOR UPDATE SKIP LOCKED),
// a crashed dispatcher's claim comes back when its lease ends, and its late outcome cannot overwrite the new one.
import { createEgressPolicy, parseEgressRules } from "../../lib/deliveries/egress.ts";
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_DELIVERY_SETTINGS } from "../../lib/db/index.ts";
import { createDeliveryDispatcher } from "../../lib/deliveries/dispatcher.ts";
import { parseHl7 } from "../../lib/interop/hl7/oru.ts";
import { silentLogger } from "../../lib/logger/index.ts";
import { createTestContext, waitFor } from "../helpers/index.ts";
import { type AnalysedStudy, analysedStudy, mllpPeer } from "./helpers.ts";

const OPTIONS = {
  pollMs: 20,
  batchSize: 2,
  leaseMs: 5000,
  maxAttempts: 3,
  backoff: { initialMs: 30, factor: 2, maxMs: 100 },
  completionSweepMs: 60_000,
};

test("two dispatchers on one database send every delivery once and record SENT once", async (t) => {
  const ctx = await createTestContext(t);
  const peer = await mllpPeer(["AA"]);
  t.after(() => peer.close());
  const studies: AnalysedStudy[] = [];
  for (let i = 0; i < 8; i++) {
    const s = await analysedStudy(ctx.repos, `pair${i}`);
    await ctx.repos.deliveries.saveSettings(
      s.tenantId,
      { ...DEFAULT_DELIVERY_SETTINGS, srMode: "OFF", hl7Host: "127.0.0.1", hl7Port: peer.target.port },
      "user:admin",
    );
    await ctx.repos.reviews.create({
      tenantId: s.tenantId,
      analysisId: s.reportAnalysisId,
      reviewerId: s.radiologistId,
      actor: "user:r",
      action: "ACCEPT",
    });
    studies.push(s);
  }
  const make = () =>
    createDeliveryDispatcher({
      deliveries: ctx.repos.deliveries,
      sources: ctx.repos.deliverySources,
      config: {
        pacs: null,
        hl7: { sendingApplication: "GKMVLP", sendingFacility: "T" },
        timeoutMs: 2000,
        egress: createEgressPolicy(parseEgressRules(["127.0.0.1"]).rules),
      },
      logger: silentLogger,
      options: OPTIONS,
    });
  const [a, b] = [make(), make()];
  await Promise.all([a.start(), b.start()]);
  t.after(() => Promise.all([a.stop(), b.stop()]));
  await waitFor("every delivery SENT", async () => {
    const rows = (await Promise.all(studies.map((s) => ctx.repos.deliveries.listByStudyIds(s.tenantId, [s.studyId])))).flatMap(
      (r) => r[0]!,
    );
    return rows.length === 8 && rows.every((r) => r.status === "SENT") && rows;
  });
  await Promise.all([a.stop(), b.stop()]);
  const controlIds = peer.received.map((m) => parseHl7(m)[0]!.fields[10]);
  assert.equal(controlIds.length, 8, "eight messages for eight deliveries");
  assert.equal(new Set(controlIds).size, 8, "none sent twice");
  const rows = (await Promise.all(studies.map((s) => ctx.repos.deliveries.listByStudyIds(s.tenantId, [s.studyId])))).flatMap((r) => r[0]!);
  assert.ok(rows.every((r) => r.attempts === 1));
});

test("a claim whose dispatcher died is claimed again after its lease, and the dead claim's late outcome is ignored", async (t) => {
  const ctx = await createTestContext(t);
  const s = await analysedStudy(ctx.repos, "lease");
  await ctx.repos.deliveries.saveSettings(
    s.tenantId,
    { ...DEFAULT_DELIVERY_SETTINGS, srMode: "OFF", hl7Host: "127.0.0.1", hl7Port: 9 },
    "user:admin",
  );
  await ctx.repos.reviews.create({
    tenantId: s.tenantId,
    analysisId: s.reportAnalysisId,
    reviewerId: s.radiologistId,
    actor: "user:r",
    action: "ACCEPT",
  });

  const [dead] = await ctx.repos.deliveries.claim(5, 300);
  assert.ok(dead, "claimed");
  assert.deepEqual(await ctx.repos.deliveries.claim(5, 300), [], "a leased row is not claimed twice");
  await new Promise((r) => setTimeout(r, 400));
  const [again] = await ctx.repos.deliveries.claim(5, 60_000);
  assert.equal(again?.id, dead.id, "claimable again once the lease ended");
  assert.equal(again?.attempts, 2);

  assert.equal(await ctx.repos.deliveries.markSent(dead, { sentId: "late" }), false, "the dead claim cannot record an outcome");
  assert.equal(await ctx.repos.deliveries.markSent(again!, { sentId: "ctl-1" }), true);
  assert.equal(await ctx.repos.deliveries.markSent(again!, { sentId: "ctl-2" }), false, "SENT is written once");
  const row = await ctx.repos.deliveries.findById(dead.id);
  assert.equal(row?.status, "SENT");
  assert.equal(row?.sentId, "ctl-1");
});
