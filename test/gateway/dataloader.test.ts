// Nested fields through per-request DataLoaders: the number of database queries of a request does not grow
// with the page size. Also cursor pagination and the "studies with finding X above p" filter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGatewayFixture, type GqlResponse } from "./fixture.ts";
import type { Repositories } from "../../lib/db/index.ts";

const LABELS = ["Cardiomegaly", "Pleural Effusion", "Pneumothorax"];
const PROVENANCE = { modelName: "gkmvlp-test", modelVersion: "0.0.1", bundleSha256: "cd".repeat(32) };

async function seedAnalysedStudy(repos: Repositories, tenantId: string, i: number) {
  const patient = await repos.patients.create({ tenantId, mrn: `P-${String(i).padStart(3, "0")}` });
  const study = await repos.studies.create({ tenantId, patientId: patient.id, accession: `A-${String(i).padStart(3, "0")}` });
  const sha = i.toString(16).padStart(64, "0");
  const { image } = await repos.images.attach({
    tenantId,
    studyId: study.id,
    sha256: sha,
    format: "PNG",
    width: 256,
    height: 256,
    bytes: 100,
    bitDepth: 8,
    storageKey: `${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}.png`,
  });
  const outcomes = await repos.analyses.requestAnalyses(
    (["CLASSIFICATION", "LOCALIZATION", "REPORT", "VQA"] as const).map((task) => ({
      tenantId,
      studyId: study.id,
      imageId: image.id,
      task,
      question: task === "VQA" ? "Is there a pneumothorax?" : null,
      idempotencyKey: `seed-${i}-${task}`,
    })),
  );
  const [cls, loc, rep, vqa] = outcomes.map((o) => o.analysis.id) as [string, string, string, string];
  const regions = [
    { region: "left lung", score: 0.7 },
    { region: "right lung", score: 0.2 },
  ];
  await repos.results.writeClassification(
    cls,
    PROVENANCE,
    LABELS.map((label) => ({
      label,
      probability: label === "Pneumothorax" ? i / 100 : 0.1,
      threshold: 0.5,
      regions,
      knowledgeSentence: `${label} in the left lung`,
    })),
  );
  await repos.results.writeLocalization(loc, PROVENANCE, [
    {
      label: "Pneumothorax",
      x1: 10,
      y1: 10,
      x2: 100,
      y2: 120,
      score: 0.9,
      heatmap: [0.1, 0.9, 0.3, 0.2],
      heatmapWidth: 2,
      heatmapHeight: 2,
    },
    { label: "region:left lung", x1: 5, y1: 5, x2: 120, y2: 200, score: 1 },
  ]);
  await repos.results.writeReport(rep, PROVENANCE, {
    findingsText: "Left pneumothorax.",
    impressionText: "Pneumothorax.",
    decoding: "beam:3",
    sentences: [{ index: 0, text: "Left pneumothorax.", regions, labels: ["Pneumothorax"] }],
  });
  await repos.results.writeVqa(vqa, PROVENANCE, {
    question: "Is there a pneumothorax?",
    answer: "yes",
    confidence: 0.8,
    answerType: "CLOSED",
    regions,
  });
  return study.id;
}

const NESTED = `query($n: Int, $after: String, $filter: StudyFilter) {
  studies(first: $n, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id accessionNumber status
      patient { id externalId }
      images { id url width }
      latestFindings { label probability regions { region weight } knowledge }
      latestReport { findings reviews { id } reviewStatus }
      analyses {
        id task status durationMs model { name version }
        image { id }
        result {
          __typename
          ... on ClassificationResult { findings { label probability positive } }
          ... on LocalizationResult { boxes { label x1 score } heatmaps { label width values } regions { region x1 } }
          ... on Report { reportFindings: findings impression sentences { text regions labels } reviews { reviewer { name } } }
          ... on VqaAnswer { question answer confidence regions { region } }
        }
      }
    } }
  }
}`;

test("DataLoader, cursor pagination and the finding filter", { timeout: 300_000 }, async (t) => {
  const fx = await startGatewayFixture(t);
  const { repos } = fx.ctx;
  const tenantId = fx.tenantA.tenantId;
  const ids: string[] = [];
  // A few at a time: the harness's pool (5 connections) is shared with the running gateway.
  for (let start = 0; start < 100; start += 4) {
    const batch = Array.from({ length: Math.min(4, 100 - start) }, (_, k) => seedAnalysedStudy(repos, tenantId, start + k));
    ids.push(...(await Promise.all(batch)));
  }
  // Study 95 gets a newer classification that no longer shows a pneumothorax: only the latest one counts.
  const s95 = ids[95]!;
  const img95 = (await repos.images.listByStudyIds(tenantId, [s95]))[0]![0]!;
  const newer = await repos.analyses.requestAnalysis({
    tenantId,
    studyId: s95,
    imageId: img95.id,
    task: "CLASSIFICATION",
    idempotencyKey: "newer-95",
  });
  await repos.results.writeClassification(newer.analysis.id, PROVENANCE, [
    { label: "Pneumothorax", probability: 0.05, threshold: 0.5, regions: [] },
  ]);
  const auth = fx.a.RADIOLOGIST;

  await t.test("the number of database queries is the same for page sizes 10 and 100 with every nested field", async () => {
    const small = await fx.gql(NESTED, { n: 10 }, auth);
    const large = await fx.gql(NESTED, { n: 100 }, auth);
    assert.equal(small.body.errors, undefined, JSON.stringify(small.body.errors));
    assert.equal(large.body.errors, undefined, JSON.stringify(large.body.errors));
    assert.equal(small.body.data.studies.edges.length, 10);
    assert.equal(large.body.data.studies.edges.length, 100);
    const node = large.body.data.studies.edges.find((e: { node: { id: string } }) => e.node.id === ids[42]).node;
    assert.equal(node.analyses.length, 4);
    assert.equal(node.latestFindings.find((f: { label: string }) => f.label === "Pneumothorax").probability, 0.42);
    assert.deepEqual(node.analyses.map((a: { result: { __typename: string } }) => a.result.__typename).sort(), [
      "ClassificationResult",
      "LocalizationResult",
      "Report",
      "VqaAnswer",
    ]);
    const loc = node.analyses.find((a: { task: string }) => a.task === "LOCALIZATION").result;
    assert.deepEqual(loc.heatmaps, [{ label: "Pneumothorax", width: 2, values: [0.1, 0.9, 0.3, 0.2] }]);
    assert.deepEqual(loc.regions, [{ region: "left lung", x1: 5 }]);
    assert.equal(loc.boxes.length, 1);
    t.diagnostic(`db queries per request: first=10 → ${small.queries}, first=100 → ${large.queries}`);
    assert.ok(Number.isFinite(small.queries) && small.queries > 0);
    assert.equal(large.queries, small.queries);
  });

  await t.test("cursor pagination walks every study exactly once, newest first", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      type Page = { studies: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
      const r: GqlResponse<Page> = await fx.gql<Page>(
        `query($after: String) { studies(first: 30, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
        { after },
        auth,
      );
      const studies: Page["studies"] = r.body.data!.studies;
      seen.push(...studies.edges.map((e) => e.node.id));
      if (!studies.pageInfo.hasNextPage) break;
      after = studies.pageInfo.endCursor;
    }
    assert.equal(seen.length, 100);
    assert.equal(new Set(seen).size, 100);
    const rows = await fx.ctx.db.prisma.study.findMany({
      where: { tenantId },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      select: { id: true },
    });
    assert.deepEqual(
      seen,
      rows.map((r) => r.id),
    );
  });

  await t.test("studies whose latest classification has a finding at or above a probability are found by one filter", async () => {
    const r = await fx.gql(NESTED, { n: 100, filter: { finding: { label: "Pneumothorax", minProbability: 0.8 } } }, auth);
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const found = new Set(r.body.data.studies.edges.map((e: { node: { id: string } }) => e.node.id));
    const expected = new Set(ids.filter((_, i) => i >= 80 && i !== 95));
    assert.deepEqual(found, expected);
    assert.equal(r.body.data.studies.totalCount, 19);
    const none = await fx.gql(
      `{ studies(filter: { finding: { label: "Pneumothorax", minProbability: 0.999 } }) { totalCount } }`,
      {},
      auth,
    );
    assert.equal(none.body.data.studies.totalCount, 0);
    const search = await fx.gql(`{ studies(filter: { search: "P-04" }) { totalCount } }`, {}, auth);
    assert.equal(search.body.data.studies.totalCount, 10);
  });

  await t.test("nested patient studies are paginated per patient without a query per patient", async () => {
    const q = `query($n: Int) { patients(first: $n) { totalCount edges { node { externalId studies(first: 1) { totalCount edges { node { id latestFindings { label } } } } } } } }`;
    const small = await fx.gql(q, { n: 5 }, auth);
    const large = await fx.gql(q, { n: 100 }, auth);
    assert.equal(large.body.data.patients.totalCount, 100);
    assert.equal(large.body.data.patients.edges[0].node.studies.totalCount, 1);
    assert.equal(large.queries, small.queries);
  });
});
