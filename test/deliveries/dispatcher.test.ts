// The delivery dispatcher against real peers: a real Orthanc (STOW-RS, QIDO-RS, WADO-RS), an MLLP listener on a TCP
// socket and a FHIR server on HTTP, with the deliveries created by the one review path in real PostgreSQL.
import { createEgressPolicy, parseEgressRules } from "../../lib/deliveries/egress.ts";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import dicomParser from "dicom-parser";
import { DEFAULT_DELIVERY_SETTINGS, type Repositories } from "../../lib/db/index.ts";
import { createDeliveryDispatcher, type DispatcherOptions } from "../../lib/deliveries/dispatcher.ts";
import type { SenderConfig } from "../../lib/deliveries/senders.ts";
import { createDicomWebClient } from "../../lib/interop/dicomweb/client.ts";
import { parseHl7 } from "../../lib/interop/hl7/oru.ts";
import { silentLogger } from "../../lib/logger/index.ts";
import { freePort } from "../../lib/stack/processes.ts";
import { orthancInstalled, startOrthanc, stopOrthanc, type OrthancHandle } from "../../lib/stack/orthanc.ts";
import { createTestContext, waitFor } from "../helpers/index.ts";
import { analysedStudy, fhirPeer, mllpPeer, PROVENANCE } from "./helpers.ts";

const FAST: Partial<DispatcherOptions> = {
  pollMs: 50,
  leaseMs: 5000,
  maxAttempts: 3,
  backoff: { initialMs: 30, factor: 2, maxMs: 100 },
  completionSweepMs: 0,
};
const HL7 = { sendingApplication: "GKMVLP", sendingFacility: "TEST" };
// the test peers listen on loopback
const LOOPBACK = createEgressPolicy(parseEgressRules(["127.0.0.1"]).rules);

function dispatcher(repos: Repositories, config: Partial<SenderConfig> = {}, options: Partial<DispatcherOptions> = FAST) {
  return createDeliveryDispatcher({
    deliveries: repos.deliveries,
    sources: repos.deliverySources,
    config: { pacs: null, hl7: HL7, timeoutMs: 1000, egress: LOOPBACK, ...config },
    logger: silentLogger,
    options,
  });
}

const review = (
  repos: Repositories,
  s: { tenantId: string; reportAnalysisId: string; radiologistId: string },
  action: "ACCEPT" | "AMEND" | "REJECT",
  amendedText?: string,
) =>
  repos.reviews.create({
    tenantId: s.tenantId,
    analysisId: s.reportAnalysisId,
    reviewerId: s.radiologistId,
    actor: `user:${s.radiologistId}`,
    action,
    amendedText,
  });

/** Runs rounds until every delivery is out of PENDING and not waiting on a backoff. */
async function drain(d: ReturnType<typeof dispatcher>, repos: Repositories, tenantId: string, studyId: string) {
  return waitFor("deliveries settled", async () => {
    await d.runOnce();
    const [rows] = await repos.deliveries.listByStudyIds(tenantId, [studyId]);
    return rows!.every((r) => r.status !== "PENDING") && rows;
  });
}

const orthancDir = mkdtempSync(join(tmpdir(), "gkmvlp-deliveries-"));
let orthanc: OrthancHandle | null = null;
after(async () => {
  await stopOrthanc(orthancDir);
  rmSync(orthancDir, { recursive: true, force: true });
});

test(
  "a sign-off stores a grounded SR in Orthanc in the study's UID; an amendment stores a second SR naming the first; a rejection withdraws it",
  { skip: !orthancInstalled(), timeout: 180_000 },
  async (t) => {
    const ctx = await createTestContext(t);
    orthanc = await startOrthanc({ dataDir: orthancDir, httpPort: await freePort(), dicomPort: await freePort() });
    const pacs = { dicomWebUrl: orthanc.dicomWebUrl, credentials: orthanc.credentials };
    const s = await analysedStudy(ctx.repos, "sr");
    const d = dispatcher(ctx.repos, { pacs });

    await review(ctx.repos, s, "ACCEPT");
    const [first] = await drain(d, ctx.repos, s.tenantId, s.studyId);
    assert.equal(first!.kind, "SR");
    assert.equal(first!.trigger, "SIGN_OFF");
    assert.equal(first!.status, "SENT", `${first!.lastErrorCode}: ${first!.lastErrorMessage}`);
    const client = createDicomWebClient({ baseUrl: pacs.dicomWebUrl, credentials: pacs.credentials });
    const found = await client.searchInstances(s.studyInstanceUid);
    assert.deepEqual(
      found.map((i) => i["00080018"]?.Value?.[0]),
      [first!.sentId],
    );

    await review(ctx.repos, s, "AMEND", "Small left pleural effusion.\nNo pneumothorax.");
    const rows = await drain(d, ctx.repos, s.tenantId, s.studyId);
    const second = rows[0]!;
    assert.equal(second.status, "SENT");
    assert.equal(second.supersedesId, first!.id);
    const bytes = await client.retrieveInstance(s.studyInstanceUid, second.sentSeriesUid!, second.sentId!);
    const ds = dicomParser.parseDicom(new Uint8Array(bytes));
    const predecessor = ds.elements.x0040a360?.items?.[0]?.dataSet;
    const refSeries = predecessor?.elements.x00081115?.items?.[0]?.dataSet;
    const refSop = refSeries?.elements.x00081199?.items?.[0]?.dataSet;
    assert.equal(refSop?.string("x00081155"), first!.sentId, "Predecessor Documents Sequence names the first SR");
    assert.equal(ds.string("x0040a493"), "VERIFIED");
    assert.equal(ds.string("x0008103e"), "AI findings (amended)");
    assert.match(bytes.toString("utf8"), /Small left pleural effusion\./);

    await review(ctx.repos, s, "REJECT");
    const third = (await drain(d, ctx.repos, s.tenantId, s.studyId))[0]!;
    assert.equal(third.status, "SENT");
    assert.equal(third.supersedesId, second.id);
    const withdrawn = await client.retrieveInstance(s.studyInstanceUid, third.sentSeriesUid!, third.sentId!);
    assert.equal(dicomParser.parseDicom(new Uint8Array(withdrawn)).string("x0008103e"), "AI findings (withdrawn)");
    assert.match(withdrawn.toString("utf8"), /withdrawn/);
    assert.doesNotMatch(withdrawn.toString("utf8"), /Left pleural effusion\./);
    assert.equal((await client.searchInstances(s.studyInstanceUid)).length, 3);
  },
);

test("an ORU^R01 goes to the tenant's MLLP peer on sign-off: AA is SENT, AE is FAILED with its text, silence is retried", async (t) => {
  const ctx = await createTestContext(t);
  const peer = await mllpPeer(["SILENT", "AA"]);
  t.after(() => peer.close());
  const s = await analysedStudy(ctx.repos, "hl7");
  await ctx.repos.deliveries.saveSettings(
    s.tenantId,
    {
      ...DEFAULT_DELIVERY_SETTINGS,
      srMode: "OFF",
      hl7Host: peer.target.host,
      hl7Port: peer.target.port,
      hl7ReceivingApplication: "RIS",
      hl7ReceivingFacility: "HOSP",
    },
    "user:admin",
  );
  const d = dispatcher(ctx.repos);
  await review(ctx.repos, s, "ACCEPT");
  const [sent] = await drain(d, ctx.repos, s.tenantId, s.studyId);
  assert.equal(sent!.kind, "HL7");
  assert.equal(sent!.status, "SENT");
  assert.equal(sent!.attempts, 2, "the silent first attempt timed out and was retried");
  assert.equal(peer.received.length, 2);
  const msh = parseHl7(peer.received[1]!)[0]!;
  assert.equal(msh.fields[10], sent!.sentId, "the control id is the one recorded");
  assert.equal(parseHl7(peer.received[0]!)[0]!.fields[10], msh.fields[10], "the retry resends the same control id");
  const obr = parseHl7(peer.received[1]!).find((seg) => seg.name === "OBR");
  assert.equal(obr?.fields[25], "F", "a signed report is final");

  // the radiologist rejects the signed report: the RIS is told to disregard what it was sent
  peer.answers.splice(0, peer.answers.length, "AA");
  await review(ctx.repos, s, "REJECT");
  const withdrawal = (await drain(d, ctx.repos, s.tenantId, s.studyId))[0]!;
  assert.equal(withdrawal.kind, "HL7");
  assert.equal(withdrawal.status, "SENT");
  const correction = parseHl7(peer.received.at(-1)!);
  assert.equal(correction.find((seg) => seg.name === "OBR")?.fields[25], "C", "a correction of the order's results");
  assert.deepEqual([...new Set(correction.filter((seg) => seg.name === "OBX").map((seg) => seg.fields[11]))], ["W"]);

  peer.answers.splice(0, peer.answers.length, "AE");
  await review(ctx.repos, s, "AMEND", "Small effusion.");
  const failed = (await drain(d, ctx.repos, s.tenantId, s.studyId))[0]!;
  assert.equal(failed.status, "FAILED");
  assert.equal(failed.attempts, 1, "AE is not retried");
  assert.equal(failed.lastErrorCode, "HL7_AE");
  assert.match(failed.lastErrorMessage ?? "", /ris says AE/);
});

test("a FHIR transaction of PUTs is posted to the tenant's server: 503 is retried, 400 fails for good", async (t) => {
  const ctx = await createTestContext(t);
  const server = await fhirPeer([503, 200]);
  t.after(() => server.close());
  const s = await analysedStudy(ctx.repos, "fhir");
  await ctx.repos.deliveries.saveSettings(
    s.tenantId,
    { ...DEFAULT_DELIVERY_SETTINGS, srMode: "OFF", fhirBaseUrl: server.baseUrl },
    "user:admin",
  );
  const d = dispatcher(ctx.repos);
  await review(ctx.repos, s, "ACCEPT");
  const [sent] = await drain(d, ctx.repos, s.tenantId, s.studyId);
  assert.equal(sent!.status, "SENT");
  assert.equal(sent!.attempts, 2);
  assert.equal(sent!.sentId, `DiagnosticReport/${s.studyId}`);
  const posted = server.requests[1]!;
  assert.equal(posted.method, "POST");
  assert.equal(posted.url, "/fhir");
  assert.match(posted.contentType, /application\/fhir\+json/);
  assert.equal(posted.body.type, "transaction");
  const report = posted.body.entry.find((e: any) => e.resource.resourceType === "DiagnosticReport");
  assert.deepEqual(report.request, { method: "PUT", url: `DiagnosticReport/${s.studyId}` });
  assert.equal(report.resource.status, "final");
  assert.ok(posted.body.entry.every((e: any) => e.fullUrl.startsWith(server.baseUrl)));

  server.statuses.splice(0, server.statuses.length, 400);
  await review(ctx.repos, s, "AMEND", "Small effusion.");
  const failed = (await drain(d, ctx.repos, s.tenantId, s.studyId))[0]!;
  assert.equal(failed.status, "FAILED");
  assert.equal(failed.attempts, 1);
  assert.equal(failed.lastErrorCode, "FHIR_REJECTED");
});

test("a delivery interrupted by a dispatcher stop is given back and sent once after a restart", async (t) => {
  const ctx = await createTestContext(t);
  const peer = await mllpPeer(["SILENT"]);
  t.after(() => peer.close());
  const s = await analysedStudy(ctx.repos, "stop");
  await ctx.repos.deliveries.saveSettings(
    s.tenantId,
    { ...DEFAULT_DELIVERY_SETTINGS, srMode: "OFF", hl7Host: "127.0.0.1", hl7Port: peer.target.port },
    "user:admin",
  );
  await review(ctx.repos, s, "ACCEPT");
  // a long send timeout: the first send is still waiting for its ACK when the dispatcher stops
  const first = createDeliveryDispatcher({
    deliveries: ctx.repos.deliveries,
    sources: ctx.repos.deliverySources,
    config: { pacs: null, hl7: HL7, timeoutMs: 60_000, egress: LOOPBACK },
    logger: silentLogger,
    options: FAST,
  });
  await first.start();
  await waitFor("the peer got the message", () => peer.received.length === 1);
  await first.stop();
  const [given] = (await ctx.repos.deliveries.listByStudyIds(s.tenantId, [s.studyId]))[0]!;
  assert.equal(given!.status, "PENDING");
  assert.equal(given!.attempts, 0, "the interrupted attempt is not counted");
  assert.equal(given!.leaseToken, null);

  peer.answers.splice(0, peer.answers.length, "AA");
  const second = dispatcher(ctx.repos);
  await second.start();
  t.after(() => second.stop());
  const sent = await waitFor("sent after restart", async () => {
    const row = (await ctx.repos.deliveries.findById(given!.id))!;
    return row.status === "SENT" && row;
  });
  await second.stop();
  assert.equal(sent.attempts, 1);
  assert.equal((await ctx.repos.deliveries.listByStudyIds(s.tenantId, [s.studyId]))[0]!.length, 1, "one delivery, SENT once");
  assert.equal(peer.received.length, 2, "the receiver saw the interrupted send and the resend");
  assert.equal(parseHl7(peer.received[0]!)[0]!.fields[10], parseHl7(peer.received[1]!)[0]!.fields[10], "with the same control id");
});

test("a tenant with SR on completion gets one COMPLETION delivery per round of analyses; without a PACS it fails with PACS_NOT_CONFIGURED", async (t) => {
  const ctx = await createTestContext(t);
  const s = await analysedStudy(ctx.repos, "done");
  const d = dispatcher(ctx.repos);
  await d.runOnce();
  assert.deepEqual(
    (await ctx.repos.deliveries.listByStudyIds(s.tenantId, [s.studyId]))[0],
    [],
    "the default (ON_SIGN_OFF) sends nothing on completion",
  );

  await ctx.repos.deliveries.saveSettings(s.tenantId, { ...DEFAULT_DELIVERY_SETTINGS, srMode: "ON_COMPLETION" }, "user:admin");
  const [row] = await drain(d, ctx.repos, s.tenantId, s.studyId);
  await d.runOnce();
  const rows = (await ctx.repos.deliveries.listByStudyIds(s.tenantId, [s.studyId]))[0]!;
  assert.equal(rows.length, 1, "one delivery for the round, however often the sweep runs");
  assert.equal(row!.trigger, "COMPLETION");
  assert.equal(row!.status, "FAILED");
  assert.equal(row!.lastErrorCode, "PACS_NOT_CONFIGURED");
  assert.equal(row!.attempts, 1, "a missing PACS is not retried");

  // a new request starts a new round: nothing while it runs, one more delivery when it has ended
  const [again] = await ctx.repos.analyses.requestAnalyses([
    { tenantId: s.tenantId, studyId: s.studyId, imageId: s.imageId, task: "CLASSIFICATION", question: null, idempotencyKey: "done-again" },
  ]);
  await d.runOnce();
  assert.equal((await ctx.repos.deliveries.listByStudyIds(s.tenantId, [s.studyId]))[0]!.length, 1);
  await ctx.repos.results.writeClassification(again!.analysis.id, PROVENANCE, [
    { label: "Pleural Effusion", probability: 0.5, rawProbability: 0.5, threshold: 0.5, regions: [] },
  ]);
  await d.runOnce();
  assert.equal((await ctx.repos.deliveries.listByStudyIds(s.tenantId, [s.studyId]))[0]!.length, 2);
});

test("an HL7 or FHIR endpoint outside the platform's egress allow-list is not contacted: the delivery fails with EGRESS_NOT_ALLOWED", async (t) => {
  const ctx = await createTestContext(t);
  const peer = await mllpPeer(["AA"]);
  t.after(() => peer.close());
  const s = await analysedStudy(ctx.repos, "egress");
  await ctx.repos.deliveries.saveSettings(
    s.tenantId,
    { ...DEFAULT_DELIVERY_SETTINGS, srMode: "OFF", hl7Host: peer.target.host, hl7Port: peer.target.port },
    "user:admin",
  );
  // the settings were saved while allowed; the operator has since narrowed the list to another port
  const narrowed = createEgressPolicy(parseEgressRules([`127.0.0.1:${peer.target.port + 1}`]).rules);
  const d = dispatcher(ctx.repos, { egress: narrowed });
  await review(ctx.repos, s, "ACCEPT");
  const [refused] = await drain(d, ctx.repos, s.tenantId, s.studyId);
  assert.equal(refused!.status, "FAILED");
  assert.equal(refused!.lastErrorCode, "EGRESS_NOT_ALLOWED");
  assert.equal(refused!.attempts, 1, "not retried");
  assert.equal(peer.received.length, 0, "the peer was never contacted");
});
