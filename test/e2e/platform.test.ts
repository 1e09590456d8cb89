// End to end through the public API, as a hospital application uses it: upload → register → request all
// four tasks → every result arrives through a graphql-ws subscription → typed results by query.
// Real PostgreSQL, Kafka, gateway, worker and ONNX Runtime (test/console/stack.ts starts them).
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createPlatformClient, login, type PlatformClient } from "../../lib/client/index.ts";
import { startConsoleStack } from "../console/stack.ts";

const demoImage = fileURLToPath(new URL("../../demo/studies/synthetic/syn-2026-000032.png", import.meta.url));
const TASKS = ["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"];

test("a study's four analyses arrive through the subscription with typed results", { timeout: 600_000 }, async (t) => {
  const stack = await startConsoleStack(t);
  const token = await login(stack.baseUrl, stack.users.radiologist.email, stack.users.radiologist.password);
  const client = createPlatformClient(stack.baseUrl, { token });
  // Closed in the test body, before the stack's own clean-up stops the gateway under the open socket.
  try {
    await analyseOneStudy(client);
  } finally {
    await client.close();
  }
});

async function analyseOneStudy(client: PlatformClient): Promise<void> {
  const upload = await client.uploadFile(demoImage);
  assert.equal(upload.format, "PNG");
  const patient = await client.query<{ createPatient: { patient: { id: string } } }>(
    `mutation { createPatient(input: { externalId: "E2E-1" }) { patient { id } errors { message } } }`,
  );
  const study = await client.query<{ createStudy: { study: { id: string } } }>(
    `mutation($p: ID!) { createStudy(input: { patientId: $p, accessionNumber: "E2E-ACC-1" }) { study { id } errors { message } } }`,
    { p: patient.createPatient.patient.id },
  );
  const studyId = study.createStudy.study.id;
  const attached = await client.query<{ attachImage: { image: { id: string; width: number } | null } }>(
    `mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id width } errors { message } } }`,
    { s: studyId, u: upload.uploadId },
  );
  assert.equal(attached.attachImage.image?.width, 256);

  const updates: { status: string; id: string; task: string }[] = [];
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const unsubscribe = client.subscribe<{ studyAnalysisUpdates: { status: string; analysis: { id: string; task: string } } }>(
    `subscription($s: ID!) { studyAnalysisUpdates(studyId: $s) { status analysis { id task } } }`,
    { s: studyId },
    (data) => {
      const u = data.studyAnalysisUpdates;
      updates.push({ status: u.status, id: u.analysis.id, task: u.analysis.task });
      if (updates.filter((x) => x.status === "SUCCEEDED" || x.status === "FAILED").length >= TASKS.length) allDone();
    },
  );
  try {
    await requestAndCheck(client, studyId, updates, done, allDone);
  } finally {
    unsubscribe();
  }
}

async function requestAndCheck(
  client: PlatformClient,
  studyId: string,
  updates: { status: string; id: string; task: string }[],
  done: Promise<void>,
  allDone: () => void,
): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000)); // let the server register the subscription

  const request = `mutation($s: ID!) { requestAnalyses(input: { studyId: $s, tasks: [CLASSIFICATION, LOCALIZATION, REPORT, VQA],
      question: "Is there a pleural effusion?", idempotencyKey: "e2e-1" }) { analyses { id task status } errors { code message } } }`;
  const requested = await client.query<{ requestAnalyses: { analyses: { id: string; task: string }[] } }>(request, { s: studyId });
  assert.deepEqual(requested.requestAnalyses.analyses.map((a) => a.task).sort(), [...TASKS].sort());

  const timeout = setTimeout(() => allDone(), 300_000);
  await done;
  clearTimeout(timeout);
  const terminal = updates.filter((u) => u.status === "SUCCEEDED" || u.status === "FAILED");
  assert.deepEqual(
    terminal.map((u) => u.status),
    ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"],
    JSON.stringify(updates),
  );
  assert.deepEqual(new Set(terminal.map((u) => u.id)), new Set(requested.requestAnalyses.analyses.map((a) => a.id)));

  // The same request again with the same idempotency key returns the same analyses.
  const again = await client.query<{ requestAnalyses: { analyses: { id: string }[] } }>(request, { s: studyId });
  assert.deepEqual(new Set(again.requestAnalyses.analyses.map((a) => a.id)), new Set(requested.requestAnalyses.analyses.map((a) => a.id)));

  const result = await client.query<{
    study: {
      analyses: { task: string; status: string; model: { bundleSha256: string } | null; result: Record<string, unknown> | null }[];
    };
  }>(
    `query($s: ID!) { study(id: $s) { analyses {
      task status model { bundleSha256 }
      result { __typename
        ... on ClassificationResult { findings { label probability threshold positive regions { region weight } knowledge } }
        ... on LocalizationResult { boxes { label x1 y1 x2 y2 score } heatmaps { label width height values } regions { region x1 y1 x2 y2 } }
        ... on Report { findingsText: findings impression sentences { text regions labels } }
        ... on VqaAnswer { question answer confidence answerType }
      } } } }`,
    { s: studyId },
  );
  const byTask = new Map(result.study.analyses.map((a) => [a.task, a]));
  for (const task of TASKS) {
    const a = byTask.get(task);
    assert.equal(a?.status, "SUCCEEDED", task);
    assert.match(a?.model?.bundleSha256 ?? "", /^[0-9a-f]{64}$/, `${task} records the bundle`);
  }
  const findings = byTask.get("CLASSIFICATION")!.result!.findings as { probability: number; regions: unknown[] }[];
  assert.equal(findings.length, 14);
  for (const f of findings) {
    assert.ok(f.probability >= 0 && f.probability <= 1);
    assert.ok(f.regions.length > 0, "every finding names the regions it was grounded to");
  }
  const loc = byTask.get("LOCALIZATION")!.result! as { heatmaps: { values: number[] }[]; regions: { x1: number; x2: number }[] };
  assert.ok(loc.heatmaps.length > 0);
  assert.equal(loc.regions.length, 29, "the region head's 29 anatomical boxes");
  for (const r of loc.regions) assert.ok(r.x2 > r.x1);
  const report = byTask.get("REPORT")!.result! as { findingsText: string; impression: string; sentences: unknown[] };
  assert.ok((report.findingsText + report.impression).trim().length > 0, "the report has text");
  const vqa = byTask.get("VQA")!.result! as { answer: string; confidence: number; answerType: string };
  assert.ok(["yes", "no"].includes(vqa.answer), `a closed question gets yes/no, got ${vqa.answer}`);
  assert.ok(vqa.confidence > 0 && vqa.confidence <= 1);
}
