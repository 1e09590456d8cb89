// What the API says about trust, from stored results (no worker: the rows are written with lib/db's writers
// as the worker writes them): Analysis.reliability and Study.latestReliability, calibrated findings with
// the head's raw probability and real-data validation, uncertain sentences, image-based answers, the model
// version's calibration and input check, and the "studies with finding X" filter skipping abstentions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGatewayFixture } from "./fixture.ts";
import type { Repositories } from "../../lib/db/index.ts";
import type { ReliabilityInput } from "../../lib/db/repositories/results.ts";

const PROVENANCE = { modelName: "gkmvlp-real", modelVersion: "0.2.0", bundleSha256: "ef".repeat(32) };
const ABSTAIN: ReliabilityInput = {
  level: "ABSTAIN",
  score: 0.02,
  frontalProbability: 0.02,
  oodDistance: 4.1,
  reasons: [{ code: "NOT_FRONTAL_CXR", message: "The image is not read as a frontal chest radiograph (probability 0.02, below 0.50)." }],
};
const CAUTION: ReliabilityInput = {
  level: "CAUTION",
  score: 0.5,
  frontalProbability: null,
  oodDistance: null,
  reasons: [{ code: "NO_RELIABILITY_MODEL", message: "This model has no input check." }],
};

async function analysedStudy(repos: Repositories, tenantId: string, i: number, reliability: ReliabilityInput) {
  const patient = await repos.patients.create({ tenantId, mrn: `R-${i}` });
  const study = await repos.studies.create({ tenantId, patientId: patient.id, accession: `RA-${i}` });
  const sha = (1000 + i).toString(16).padStart(64, "0");
  const { image } = await repos.images.attach({
    tenantId,
    studyId: study.id,
    sha256: sha,
    format: "PNG",
    width: 64,
    height: 64,
    bytes: 10,
    bitDepth: 8,
    storageKey: `${sha}.png`,
  });
  const [cls, rep, vqa] = (
    await repos.analyses.requestAnalyses(
      (["CLASSIFICATION", "REPORT", "VQA"] as const).map((task) => ({
        tenantId,
        studyId: study.id,
        imageId: image.id,
        task,
        question: task === "VQA" ? "Is there an effusion?" : null,
        idempotencyKey: `rel-${i}-${task}`,
      })),
    )
  ).map((o) => o.analysis.id) as [string, string, string];
  const options = { reliability };
  await repos.results.writeClassification(
    cls,
    PROVENANCE,
    [
      { label: "Edema", probability: 0.91, rawProbability: 0.996, threshold: 0.5, regions: [], validatedOnRealData: false },
      { label: "Pneumonia", probability: 0.12, rawProbability: 0.3, threshold: 0.2, regions: [], validatedOnRealData: true },
    ],
    options,
  );
  await repos.results.writeReport(
    rep,
    PROVENANCE,
    {
      findingsText: "Pulmonary edema. No pneumonia.",
      impressionText: "",
      decoding: "greedy",
      sentences: [
        {
          index: 0,
          text: "Pulmonary edema.",
          regions: [],
          labels: ["Edema"],
          uncertain: true,
          uncertainReason: "Mentions Edema, which is not validated on real films.",
        },
        { index: 1, text: "No pneumonia.", regions: [], labels: [] },
      ],
    },
    options,
  );
  await repos.results.writeVqa(
    vqa,
    PROVENANCE,
    {
      question: "Is there an effusion?",
      answer: "no",
      confidence: 0.7,
      answerType: "CLOSED",
      regions: [],
      imageBased: false,
      answeredFrom: "FINDING",
      answeredFromFinding: "Pleural Effusion",
    },
    options,
  );
  return study.id;
}

test("reliability, calibration and uncertainty marks are served as the worker stored them", async (t) => {
  const fx = await startGatewayFixture(t);
  const repos = fx.ctx.repos;
  const abstained = await analysedStudy(repos, fx.tenantA.tenantId, 1, ABSTAIN);
  const cautious = await analysedStudy(repos, fx.tenantA.tenantId, 2, CAUTION);

  const r = await fx.gql(
    `query($s: ID!) { study(id: $s) {
      latestReliability { level score reasons { code message } frontalProbability oodDistance }
      latestFindings { label probability rawProbability positive validatedOnRealData }
      latestReport { sentences { text uncertain uncertainReason } }
      analyses { task reliability { level } result { ... on VqaAnswer { answer imageBased answeredFrom answeredFromFinding } } } } }`,
    { s: abstained },
    fx.a.RADIOLOGIST,
  );
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  const study = r.body.data.study;
  assert.deepEqual(study.latestReliability, { ...ABSTAIN, reasons: ABSTAIN.reasons });
  assert.deepEqual(
    study.analyses.map((a: any) => a.reliability.level),
    ["ABSTAIN", "ABSTAIN", "ABSTAIN"],
  );
  const edema = study.latestFindings.find((f: any) => f.label === "Edema");
  assert.deepEqual(edema, { label: "Edema", probability: 0.91, rawProbability: 0.996, positive: true, validatedOnRealData: false });
  assert.equal(study.latestFindings.find((f: any) => f.label === "Pneumonia").validatedOnRealData, true);
  assert.deepEqual(study.latestReport.sentences, [
    { text: "Pulmonary edema.", uncertain: true, uncertainReason: "Mentions Edema, which is not validated on real films." },
    { text: "No pneumonia.", uncertain: false, uncertainReason: null },
  ]);
  assert.deepEqual(study.analyses.find((a: any) => a.task === "VQA").result, {
    answer: "no",
    imageBased: false,
    answeredFrom: "FINDING",
    answeredFromFinding: "Pleural Effusion",
  });

  // "studies whose latest classification gives Edema ≥ 0.5": the abstaining study's numbers are not findings
  const listed = await fx.gql(
    `{ studies(first: 50, filter: { finding: { label: "Edema", minProbability: 0.5 } }) { totalCount edges { node { id } } } }`,
    {},
    fx.a.RADIOLOGIST,
  );
  const ids = listed.body.data.studies.edges.map((e: any) => e.node.id);
  assert.ok(ids.includes(cautious), "a CAUTION study is listed");
  assert.ok(!ids.includes(abstained), "an ABSTAIN study is not");
  assert.equal(listed.body.data.studies.totalCount, ids.length);
  const page = await repos.listings.studies(fx.tenantA.tenantId, { finding: { label: "Edema", minProbability: 0.5 } }, 100, null);
  assert.deepEqual(
    page.map((s) => s.id),
    [cautious],
    "the repository's filter agrees",
  );
});

test("the model version says whether it is calibrated, checks its input and which findings are validated on real films", async (t) => {
  const fx = await startGatewayFixture(t);
  const manifest = (extra: Record<string, unknown>) => ({ tasks: ["classification"], labels: ["Edema"], ...extra });
  await fx.ctx.db.prisma.modelVersion.createMany({
    data: [
      {
        name: "m",
        version: "1",
        bundleSha256: "a".repeat(64),
        manifest: manifest({ trained_on: "synthetic" }),
        metrics: {},
        trainedOn: "synthetic data",
      },
      {
        name: "m",
        version: "2",
        bundleSha256: "b".repeat(64),
        manifest: manifest({
          trained_on: "mixed",
          calibration: { method: "platt", labels: { Edema: { a: 1, b: 0 } } },
          reliability: { validated_on_real: ["Edema"] },
        }),
        metrics: {},
        trainedOn: "synthetic and real chest X-rays",
      },
    ],
  });
  const r = await fx.gql(`{ models { version trainingData calibrated checksInput validatedOnRealData } }`, {}, fx.a.ADMIN);
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  const byVersion = Object.fromEntries(r.body.data.models.map((m: any) => [m.version, m]));
  assert.deepEqual(byVersion["1"], {
    version: "1",
    trainingData: "SYNTHETIC",
    calibrated: false,
    checksInput: false,
    validatedOnRealData: [],
  });
  assert.deepEqual(byVersion["2"], {
    version: "2",
    trainingData: "MIXED",
    calibrated: true,
    checksInput: true,
    validatedOnRealData: ["Edema"],
  });
});

test("every role reads each finding's real-film AUC with its interval, baseline and film counts; malformed entries are left out", async (t) => {
  const fx = await startGatewayFixture(t);
  await registerModel(fx, "3", ["Pneumonia", "Edema"], {
    validated_on_real: ["Pneumonia"],
    real_metrics: {
      Pneumonia: { auc: 0.88, ci_low: 0.82, ci_high: 0.94, baseline_auc: 0.5, perm_p: 0.001, n_pos: 69, n_neg: 63, set: "NIH test" },
      Edema: { auc: "high", set: "x" },
    },
  });
  for (const role of ["CLINICIAN", "RADIOLOGIST", "AUDITOR"] as const) {
    const r = await fx.gql(
      `{ models { version realFilmMetrics { label auc ciLow ciHigh baselineAuc permutationP positives negatives set } } }`,
      {},
      fx.a[role],
    );
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    assert.deepEqual(r.body.data.models.find((m: any) => m.version === "3").realFilmMetrics, [
      {
        label: "Pneumonia",
        auc: 0.88,
        ciLow: 0.82,
        ciHigh: 0.94,
        baselineAuc: 0.5,
        permutationP: 0.001,
        positives: 69,
        negatives: 63,
        set: "NIH test",
      },
    ]);
  }
});

test("a finding measured on another selection of films lists that figure right after its main one; malformed extra figures are left out", async (t) => {
  const fx = await startGatewayFixture(t);
  await registerModel(fx, "4", ["Pneumonia", "Cardiomegaly"], {
    validated_on_real: ["Pneumonia", "Cardiomegaly"],
    real_metrics: {
      Pneumonia: {
        auc: 0.63,
        n_pos: 69,
        n_neg: 63,
        set: "one selection",
        other_sets: [{ auc: 0.62, ci_low: 0.53, ci_high: 0.7, n_pos: 118, n_neg: 74, set: "another selection" }, { auc: "x" }, null],
      },
      Cardiomegaly: { auc: 0.77, set: "sample", other_sets: "not a list" },
    },
  });
  const r = await fx.gql(`{ models { version realFilmMetrics { label auc ciLow ciHigh positives negatives set } } }`, {}, fx.a.CLINICIAN);
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  assert.deepEqual(r.body.data.models.find((m: any) => m.version === "4").realFilmMetrics, [
    { label: "Cardiomegaly", auc: 0.77, ciLow: null, ciHigh: null, positives: null, negatives: null, set: "sample" },
    { label: "Pneumonia", auc: 0.63, ciLow: null, ciHigh: null, positives: 69, negatives: 63, set: "one selection" },
    { label: "Pneumonia", auc: 0.62, ciLow: 0.53, ciHigh: 0.7, positives: 118, negatives: 74, set: "another selection" },
  ]);
});

/** Registers a model version whose manifest carries `reliability` (the gateway reads real-film figures from it). */
async function registerModel(fx: Awaited<ReturnType<typeof startGatewayFixture>>, version: string, labels: string[], reliability: unknown) {
  await fx.ctx.db.prisma.modelVersion.create({
    data: {
      name: "m",
      version,
      bundleSha256: version.repeat(64).slice(0, 64),
      manifest: { tasks: ["classification"], labels, trained_on: "mixed", reliability } as object,
      metrics: {},
      trainedOn: "synthetic and real chest X-rays",
    },
  });
}
