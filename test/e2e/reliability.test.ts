// Out-of-distribution inputs through the real platform (upload → gateway → Kafka → worker with the default
// bundle → PostgreSQL → GraphQL): the model must say what it cannot read.
//
// What is asserted depends on the default bundle (models/DEFAULT), on purpose:
// - a bundle with an input check (format version 2, `ModelVersion.checksInput`): every out-of-distribution
//   fixture (blank, document page, natural scene, CT-like slice, inverted film, lateral films if present)
//   is ABSTAIN with reasons, and a real frontal film is not;
// - a bundle without one (format version 1, today's synthetic bundle): every analysis is CAUTION with
//   NO_RELIABILITY_MODEL (and SYNTHETIC_ONLY_MODEL for a synthetic-only model), nothing is validated on
//   real films, and the input-check numbers are null.
// The lead re-runs this on the real-trained version-2 bundle when it lands.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createPlatformClient, login, type PlatformClient } from "../../lib/client/index.ts";
import { startConsoleStack } from "../console/stack.ts";

const fixtures = fileURLToPath(new URL("../fixtures/reliability/", import.meta.url));
const OOD = [
  "blank.png",
  "document.png",
  "natural-scene.png",
  "ct-slice.png",
  "inverted-chest.png",
  ...readdirSync(fixtures).filter((f) => /^lateral.*\.(png|jpe?g)$/i.test(f)),
];
const FRONTAL = fileURLToPath(new URL("../fixtures/images/nih_00000075_000_gray_256.png", import.meta.url));
const RESULTS_TIMEOUT_MS = 300_000;

interface Reliability {
  level: string;
  score: number;
  reasons: { code: string; message: string }[];
  frontalProbability: number | null;
  oodDistance: number | null;
}
interface Analysis {
  id: string;
  task: string;
  status: string;
  errorMessage: string | null;
  model: { bundleSha256: string } | null;
  reliability: Reliability | null;
  result: {
    findings?: { label: string; positive: boolean; validatedOnRealData: boolean; probability: number; rawProbability: number | null }[];
    imageBased?: boolean;
    answer?: string;
    answeredFrom?: "VQA_HEAD" | "FINDING";
    answeredFromFinding?: string | null;
    sentences?: { text: string; uncertain: boolean; uncertainReason: string | null; labels: string[] }[];
  } | null;
}

const STUDY = `query($s: ID!) { study(id: $s) {
  latestReliability { level }
  analyses { id task status errorMessage model { bundleSha256 }
    reliability { level score reasons { code message } frontalProbability oodDistance }
    result { __typename
      ... on ClassificationResult { findings { label positive validatedOnRealData probability rawProbability } }
      ... on VqaAnswer { imageBased answer answeredFrom answeredFromFinding }
      ... on Report { sentences { text uncertain uncertainReason labels } } } } } }`;

async function analyse(
  client: PlatformClient,
  file: string,
  tasks: string[],
): Promise<{ studyId: string; analyses: Analysis[]; latest: string | null }> {
  const upload = await client.uploadFile(file);
  const mrn = `REL-${Math.random().toString(36).slice(2, 10)}`;
  const p = await client.query<{ createPatient: { patient: { id: string } } }>(
    `mutation($m: String!) { createPatient(input: { externalId: $m }) { patient { id } } }`,
    { m: mrn },
  );
  const s = await client.query<{ createStudy: { study: { id: string } } }>(
    `mutation($p: ID!) { createStudy(input: { patientId: $p }) { study { id } } }`,
    { p: p.createPatient.patient.id },
  );
  const studyId = s.createStudy.study.id;
  await client.query(`mutation($s: ID!, $u: ID!) { attachImage(input: { studyId: $s, uploadId: $u }) { image { id } } }`, {
    s: studyId,
    u: upload.uploadId,
  });
  await client.query(
    `mutation($s: ID!, $t: [AnalysisTask!]!) { requestAnalyses(input: { studyId: $s, tasks: $t, question: "Is there a pleural effusion?" }) { analyses { id } errors { message } } }`,
    { s: studyId, t: tasks },
  );
  const deadline = Date.now() + RESULTS_TIMEOUT_MS;
  for (;;) {
    const r = await client.query<{ study: { latestReliability: { level: string } | null; analyses: Analysis[] } }>(STUDY, { s: studyId });
    const done = r.study.analyses.filter((a) => ["SUCCEEDED", "FAILED", "CANCELLED"].includes(a.status));
    if (done.length === tasks.length) return { studyId, analyses: r.study.analyses, latest: r.study.latestReliability?.level ?? null };
    if (Date.now() > deadline)
      throw new Error(`${file}: analyses not finished: ${JSON.stringify(r.study.analyses.map((a) => [a.task, a.status]))}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

test("out-of-distribution images are flagged by the real worker and reported through GraphQL", { timeout: 900_000 }, async (t) => {
  const stack = await startConsoleStack(t);
  const token = await login(stack.baseUrl, stack.users.radiologist.email, stack.users.radiologist.password);
  const client = createPlatformClient(stack.baseUrl, { token });
  try {
    const control = await analyse(client, FRONTAL, ["CLASSIFICATION", "REPORT", "VQA"]);
    for (const a of control.analyses) assert.equal(a.status, "SUCCEEDED", `${a.task}: ${a.errorMessage}`);
    const sha = control.analyses[0]!.model!.bundleSha256;
    const { models } = await client.query<{
      models: { bundleSha256: string; checksInput: boolean; trainingData: string | null; validatedOnRealData: string[] }[];
    }>(`{ models { bundleSha256 checksInput trainingData validatedOnRealData } }`);
    const model = models.find((m) => m.bundleSha256 === sha);
    assert.ok(model, "the worker registered the bundle it ran");
    t.diagnostic(
      `default bundle ${sha.slice(0, 12)}: input check ${model.checksInput ? "present: expecting ABSTAIN" : "absent: expecting NO_RELIABILITY_MODEL caution"}`,
    );

    const controlCls = control.analyses.find((a) => a.task === "CLASSIFICATION")!;
    const report = control.analyses.find((a) => a.task === "REPORT")!;
    for (const s of report.result!.sentences!) {
      if (s.uncertain) assert.ok(s.uncertainReason && s.uncertainReason.length > 10, `an uncertain sentence says why: ${s.text}`);
      else assert.equal(s.uncertainReason, null);
    }
    const vqa = control.analyses.find((a) => a.task === "VQA")!.result!;
    assert.equal(typeof vqa.imageBased, "boolean");
    if (vqa.answeredFrom === "FINDING") {
      // a bundle with vqa_presence: "Is there a pleural effusion?" is the classification's own call
      const effusion = controlCls.result!.findings!.find((f) => f.label === "Pleural Effusion")!;
      assert.equal(vqa.answeredFromFinding, "Pleural Effusion");
      assert.equal(vqa.answer, effusion.positive ? "yes" : "no");
    } else {
      assert.deepEqual([vqa.answeredFrom, vqa.answeredFromFinding], ["VQA_HEAD", null]);
    }
    t.diagnostic(`VQA answered from ${vqa.answeredFrom}${vqa.answeredFromFinding ? ` (${vqa.answeredFromFinding})` : ""}`);
    if (model.checksInput) {
      assert.notEqual(controlCls.reliability!.level, "ABSTAIN", `a real frontal film is read: ${JSON.stringify(controlCls.reliability)}`);
    }

    for (const file of OOD) {
      const { studyId, analyses, latest } = await analyse(client, `${fixtures}${file}`, ["CLASSIFICATION", "VQA"]);
      for (const a of analyses) {
        assert.equal(a.status, "SUCCEEDED", `${file} ${a.task}: ${a.errorMessage} (an unreadable image is still analysed, then flagged)`);
        const r = a.reliability;
        assert.ok(r, `${file} ${a.task} has a reliability assessment`);
        assert.ok(r.reasons.length > 0 && r.reasons.every((x) => x.message.length > 10), `${file}: reasons in words`);
        assert.ok(r.score >= 0 && r.score <= 1);
        if (model.checksInput) {
          assert.equal(r.level, "ABSTAIN", `${file} ${a.task}: ${JSON.stringify(r)}`);
          assert.ok(
            r.reasons.some((x) => ["NOT_FRONTAL_CXR", "BLANK_IMAGE", "OUT_OF_DISTRIBUTION"].includes(x.code)),
            `${file}: ${JSON.stringify(r.reasons)}`,
          );
        } else {
          assert.equal(r.level, "CAUTION", `${file} ${a.task}`);
          assert.equal(r.reasons[0]!.code, "NO_RELIABILITY_MODEL");
          assert.equal(
            r.reasons.some((x) => x.code === "SYNTHETIC_ONLY_MODEL"),
            model.trainingData === "SYNTHETIC",
          );
          assert.equal(r.frontalProbability, null);
          assert.equal(r.oodDistance, null);
        }
      }
      assert.equal(latest, analyses[0]!.reliability!.level, `${file}: Study.latestReliability`);
      const findings = analyses.find((a) => a.task === "CLASSIFICATION")!.result!.findings!;
      for (const f of findings) {
        assert.equal(f.validatedOnRealData, model.validatedOnRealData.includes(f.label));
        assert.ok(f.rawProbability !== null, "the head's own probability is kept");
      }
      if (model.checksInput) {
        // an abstaining analysis' probabilities are not findings: the "studies with finding X" filter skips the study
        const label = findings[0]!.label;
        const listed = await client.query<{ studies: { edges: { node: { id: string } }[] } }>(
          `query($l: String!) { studies(first: 100, filter: { finding: { label: $l, minProbability: 0 } }) { edges { node { id } } } }`,
          { l: label },
        );
        assert.ok(!listed.studies.edges.some((e) => e.node.id === studyId), `${file}: an ABSTAIN study is not listed as having ${label}`);
      }
      t.diagnostic(`${file}: ${analyses[0]!.reliability!.level} ${analyses[0]!.reliability!.reasons.map((x) => x.code).join(",")}`);
    }
  } finally {
    await client.close();
  }
});
