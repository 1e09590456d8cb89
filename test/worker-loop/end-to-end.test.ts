// The analysis worker end to end against real PostgreSQL, Kafka and ONNX Runtime: requests written the way the
// gateway writes them (analysis row + outbox row in one transaction), published by the outbox relay, consumed
// by createAnalysisWorker, stored as typed rows, announced as AnalysisCompleted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeEvent, type AnalysisTaskName } from "../../lib/events/index.ts";
import { createOutboxRelay } from "../../lib/outbox/index.ts";
import { createTestContext, type TestCtx } from "../helpers/index.ts";
import type { Bundle } from "../../workers/analysis/src/bundle/load.ts";
import type { Engine } from "../../workers/analysis/src/inference/engine.ts";
import { createAnalysisWorker, type AnalysisWorker } from "../../workers/analysis/src/worker.ts";
import { collectTopic, goldenImage, resolveBundleDir, seedStudy, tempStore, waitFor, workerConfig, loadBundleForFile } from "./harness.ts";

const bundleDir = resolveBundleDir();
let bundle: Bundle;
let engine: Engine;

loadBundleForFile(bundleDir, (b, e) => {
  bundle = b;
  engine = e;
});

const TASKS: AnalysisTaskName[] = ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"];

async function startWorker(
  ctx: TestCtx,
  storageDir: string,
  store: Parameters<typeof createAnalysisWorker>[0]["imageStore"],
): Promise<AnalysisWorker> {
  const config = workerConfig({ databaseUrl: ctx.databaseUrl, brokers: ctx.brokers, topics: ctx.topics, bundleDir, storageDir });
  const worker = createAnalysisWorker({ config, db: ctx.db, kafka: ctx.kafka, engine, imageStore: store });
  ctx.defer(() => worker.stop());
  await worker.start();
  return worker;
}

/** The gateway's half: its own relay publishing AnalysisRequested rows from the outbox. */
async function startGatewayRelay(ctx: TestCtx) {
  const relay = createOutboxRelay({
    outbox: ctx.repos.outbox,
    producer: await ctx.producer(),
    databaseUrl: ctx.databaseUrl,
    log: () => undefined,
  });
  ctx.defer(() => relay.stop());
  await relay.start();
  return relay;
}

test("each of the four tasks goes from an AnalysisRequested event to its typed result in PostgreSQL and an AnalysisCompleted event", async (t) => {
  const ctx = await createTestContext(t);
  const store = tempStore(t);
  const seeded = await seedStudy(ctx.repos, store, goldenImage(bundleDir), `e2e${Date.now()}`);
  const completed = await collectTopic(ctx, ctx.topics.completed);
  const requested = await collectTopic(ctx, ctx.topics.requested);
  const worker = await startWorker(ctx, store.root, store);
  assert.equal(await worker.ready(), true, "ready after start: bundle loaded, consumer joined, database answering");
  const readyz = await fetch(`http://127.0.0.1:${worker.httpPort}/readyz`);
  assert.equal(readyz.status, 200);
  await startGatewayRelay(ctx);
  const encoderImagesBefore = engine.stats().encoder.images;
  const blankImagesBefore = engine.stats().encoder.blankImages;

  const requestedAt = Date.now();
  const outcomes = await ctx.repos.analyses.requestAnalyses(
    TASKS.map((task) => ({
      tenantId: seeded.tenantId,
      studyId: seeded.studyId,
      imageId: seeded.imageId,
      task,
      question: task === "VQA" ? "Is there cardiomegaly?" : null,
      idempotencyKey: `e2e-${task}`,
    })),
  );
  const ids = new Map(outcomes.map((o) => [o.analysis.task, o.analysis.id]));

  const events = await waitFor(
    "four AnalysisCompleted events",
    async () => {
      const mine = completed.messages.filter((m) => [...ids.values()].includes(String(m.json?.analysisId)));
      return mine.length >= 4 && mine;
    },
    120_000,
  );
  const latencies: Record<string, number> = {};
  for (const e of events) {
    const event = decodeEvent("AnalysisCompleted", e.message.value);
    assert.equal(event.status, "SUCCEEDED", `${event.task}: ${JSON.stringify(event.error)}`);
    assert.equal(e.message.key, seeded.studyId, "completions are keyed by study");
    assert.deepEqual(event.modelVersion, { name: engine.model.name, version: engine.model.version, bundleSha256: engine.model.bundleHash });
    // every completion carries the image's reliability assessment, one per image, whatever the task
    assert.ok(event.reliability, `${event.task} completion carries its reliability`);
    if (!bundle.manifest.reliability) assert.deepEqual(event.reliability.reasons.map((r) => r.code).slice(0, 1), ["NO_RELIABILITY_MODEL"]);
    latencies[event.task] = e.receivedAt - requestedAt;
  }

  const m = bundle.manifest;
  for (const task of TASKS) {
    const analysis = await ctx.repos.analyses.findById(seeded.tenantId, ids.get(task)!);
    assert.ok(analysis);
    assert.equal(analysis.status, "SUCCEEDED");
    assert.equal(analysis.attempts, 1);
    assert.equal(analysis.modelName, m.name);
    assert.equal(analysis.modelVersion, m.version);
    assert.equal(analysis.bundleSha256, bundle.bundleHash);
    assert.ok(analysis.startedAt && analysis.finishedAt && analysis.finishedAt >= analysis.startedAt);
    assert.ok(analysis.reliabilityLevel && analysis.reliabilityScore !== null, `${task} stores the reliability of its image`);
    if (!m.reliability) assert.equal(analysis.reliabilityLevel, "CAUTION", "a bundle without an input check cannot vouch for its input");
  }
  // One job: the four analyses were claimed by one statement and finished by one transaction (the database's own
  // clock gives every row of a statement, and of a transaction, the same now()).
  const rows = await Promise.all(TASKS.map((task) => ctx.repos.analyses.findById(seeded.tenantId, ids.get(task)!)));
  assert.equal(new Set(rows.map((a) => a!.startedAt!.getTime())).size, 1, "claimed together");
  assert.equal(new Set(rows.map((a) => a!.finishedAt!.getTime())).size, 1, "written in one transaction");
  assert.equal(requested.messages.filter((m) => m.message.key === seeded.studyId).length, 1, "one job message for the study's image");
  const tenant = seeded.tenantId;
  const [findings] = await ctx.repos.results.findingsByAnalysisIds(tenant, [ids.get("CLASSIFICATION")!]);
  assert.equal(findings!.length, m.labels.length, "one probability per finding");
  assert.deepEqual(new Set(findings!.map((f) => f.label)), new Set(m.labels));
  for (const f of findings!) {
    assert.ok(f.probability >= 0 && f.probability <= 1);
    assert.equal(f.threshold, m.thresholds[f.label]);
    assert.equal(f.positive, f.probability >= f.threshold);
    assert.ok(f.rawProbability !== null, "the head's own probability is kept for audit");
    if (!m.calibration && !m.derived) assert.equal(f.rawProbability, f.probability);
    assert.equal(f.validatedOnRealData, (m.reliability?.validated_on_real ?? []).includes(f.label));
    const regions = f.regions as { region: string; score: number; box: number[] }[];
    assert.ok(
      regions.length > 0 && regions.every((r) => m.regions.includes(r.region) && r.box.length === 4),
      "grounded to anatomical regions",
    );
    assert.equal(f.topRegion, regions[0]!.region);
  }

  const [boxes] = await ctx.repos.results.boxesByAnalysisIds(tenant, [ids.get("LOCALIZATION")!]);
  assert.ok(boxes!.length > 0, "at least one box");
  const image = (await ctx.repos.images.findById(tenant, seeded.imageId))!;
  for (const b of boxes!) {
    // finding boxes, and the region head's anatomical boxes stored beside them as `region:<name>` (commit 1a9b9df)
    assert.ok(
      m.labels.includes(b.label) || (b.label.startsWith("region:") && m.regions.includes(b.label.slice("region:".length))),
      `box label ${b.label}`,
    );
    assert.ok(
      b.x1 >= 0 && b.y1 >= 0 && b.x2 <= image.width && b.y2 <= image.height && b.x2 > b.x1 && b.y2 > b.y1,
      `box in image pixels: ${JSON.stringify(b)}`,
    );
  }
  const [heatmaps] = await ctx.repos.results.heatmapsByAnalysisIds(tenant, [ids.get("LOCALIZATION")!]);
  const findingBoxLabels = new Set(boxes!.filter((b) => !b.label.startsWith("region:")).map((b) => b.label));
  assert.deepEqual(new Set(heatmaps!.map((h) => h.label)), findingBoxLabels, "one heatmap per localized finding");
  for (const h of heatmaps!) assert.equal((h.heatmap as number[]).length, h.heatmapWidth! * h.heatmapHeight!);

  const [report] = await ctx.repos.results.reportsByAnalysisIds(tenant, [ids.get("REPORT")!]);
  assert.ok(report, "a report row");
  assert.match(report.decoding, /^(beam:\d+|greedy)$/);
  assert.ok(report.findingsText.length + report.impressionText.length > 0, "the report has text");
  report.sentences.forEach((s, i) => {
    assert.equal(s.index, i);
  });

  const [vqa] = await ctx.repos.results.vqaByAnalysisIds(tenant, [ids.get("VQA")!]);
  assert.ok(vqa);
  assert.equal(vqa.question, "Is there cardiomegaly?");
  assert.equal(vqa.answerType, "CLOSED");
  assert.ok(m.answers.includes(vqa.answer));
  assert.ok(vqa.confidence > 0 && vqa.confidence <= 1);
  assert.equal(typeof vqa.imageBased, "boolean");
  if (m.vqa_presence) {
    // a presence question the bundle covers is answered from the stored classification's own call
    const cardio = findings!.find((f) => f.label === "Cardiomegaly")!;
    assert.deepEqual([vqa.answeredFrom, vqa.answeredFromFinding, vqa.answer], ["FINDING", "Cardiomegaly", cardio.positive ? "yes" : "no"]);
  } else {
    assert.deepEqual([vqa.answeredFrom, vqa.answeredFromFinding], ["VQA_HEAD", null]);
  }

  // the encoder ran once for the image, shared by the four tasks (besides the VQA check's blank image of its size)
  const blanks = engine.stats().encoder.blankImages - blankImagesBefore;
  assert.equal(engine.stats().encoder.images - encoderImagesBefore - blanks, 1);
  const processed = await ctx.db.prisma.processedMessage.count();
  assert.equal(processed, 1, "one message, one processed mark");
  const model = await ctx.db.prisma.modelVersion.findUnique({ where: { name_version: { name: m.name, version: m.version } } });
  assert.equal(model?.bundleSha256, bundle.bundleHash);
  assert.equal(model?.status, "ACTIVE", "the first version of a model registered by a worker serves results");
  if (m.trained_on === "synthetic") assert.match(model?.trainedOn ?? "", /synthetic/);
  const beat = await ctx.repos.heartbeats.list();
  assert.equal(beat.length, 1);
  assert.equal(beat[0]!.bundleSha256, bundle.bundleHash);
  await waitFor(
    "heartbeat to count the 4 processed messages",
    async () => ((await ctx.repos.heartbeats.list())[0]?.processed ?? 0) >= 4,
    5_000,
  );

  // where the time goes, per task: outbox→Kafka (gateway relay), waiting in the partition behind the study's
  // earlier tasks, the worker's processing, completion outbox→Kafka (worker relay), Kafka→subscriber
  const breakdown: Record<string, Record<string, number>> = {};
  for (const task of TASKS) {
    const id = ids.get(task)!;
    const a = (await ctx.repos.analyses.findById(tenant, id))!;
    const req = requested.messages.find((m) => (m.json?.analysisIds as string[] | undefined)?.includes(id))!;
    const done = events.find((m) => m.json?.analysisId === id)!;
    breakdown[task] = {
      relay: Number(req.message.timestamp) - requestedAt,
      queued: a.startedAt!.getTime() - Number(req.message.timestamp),
      processing: a.finishedAt!.getTime() - a.startedAt!.getTime(),
      completionRelay: Number(done.message.timestamp) - a.finishedAt!.getTime(),
      delivery: done.receivedAt - Number(done.message.timestamp),
    };
  }
  const stats = worker.stats();
  t.diagnostic(`request→AnalysisCompleted ms (one study, 4 tasks requested together): ${JSON.stringify(latencies)}`);
  t.diagnostic(`breakdown ms: ${JSON.stringify(breakdown)}`);
  t.diagnostic(`worker per-task ms (load+infer+write / infer): ${JSON.stringify(stats.tasks)}`);
});

test("the same AnalysisRequested event delivered twice yields one result and one completion", async (t) => {
  const ctx = await createTestContext(t);
  const store = tempStore(t);
  const seeded = await seedStudy(ctx.repos, store, goldenImage(bundleDir, 1), `dup${Date.now()}`);
  const requested = await collectTopic(ctx, ctx.topics.requested);
  await startWorker(ctx, store.root, store);
  await startGatewayRelay(ctx);

  const { analysis } = await ctx.repos.analyses.requestAnalysis({
    tenantId: seeded.tenantId,
    studyId: seeded.studyId,
    imageId: seeded.imageId,
    task: "CLASSIFICATION",
    idempotencyKey: "dup-1",
  });
  await waitFor("SUCCEEDED", async () => (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))?.status === "SUCCEEDED", 60_000);
  const first = (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))!;
  const original = await waitFor("the published request", async () =>
    requested.messages.find((m) => (m.json?.analysisIds as string[] | undefined)?.includes(analysis.id)),
  );

  // redeliver the very same bytes (what Kafka does after a rebalance before the commit)
  const producer = await ctx.producer();
  await producer.send([
    { topic: ctx.topics.requested, key: original.message.key, value: original.message.value!, headers: original.message.headers },
  ]);
  const admin = await ctx.kafka.admin();
  ctx.defer(() => admin.disconnect());
  const high = async () => (await admin.topicOffsets(ctx.topics.requested)).reduce((sum, p) => sum + BigInt(p.high), 0n);
  const target = await high();
  const group = `wl-group-${ctx.topics.requested}`;
  await waitFor(
    "the worker to commit past the duplicate",
    async () =>
      (await admin.groupOffsets(group, ctx.topics.requested)).reduce(
        (sum, p) => sum + (BigInt(p.offset) < 0n ? 0n : BigInt(p.offset)),
        0n,
      ) >= target,
    30_000,
  );

  const findings = await ctx.db.prisma.findingResult.count({ where: { analysisId: analysis.id } });
  assert.equal(findings, bundle.manifest.labels.length, "one set of findings");
  const after = (await ctx.repos.analyses.findById(seeded.tenantId, analysis.id))!;
  assert.equal(after.attempts, first.attempts, "the duplicate did not start another attempt");
  assert.deepEqual(after.finishedAt, first.finishedAt);
  const completions = await ctx.db.prisma.outboxEvent.count({ where: { topic: ctx.topics.completed, key: seeded.studyId } });
  assert.equal(completions, 1, "one AnalysisCompleted");
  assert.equal(await ctx.db.prisma.processedMessage.count(), 1);
});
