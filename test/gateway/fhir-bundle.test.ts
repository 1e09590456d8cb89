// Study.fhirBundle from stored results (written with lib/db's writers as the worker writes them):
// statuses follow the review, findings become coded Observations, other tenants see nothing, reads are audited.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startGatewayFixture } from "./fixture.ts";
import { fhirValidatorMissing, validateFhir, validationErrors } from "../helpers/fhir-validator.ts";

const PROVENANCE = { modelName: "gkmvlp-real", modelVersion: "0.2.0", bundleSha256: "ef".repeat(32) };
const QUERY = `query($s: ID!) { study(id: $s) { fhirBundle } }`;

test("Study.fhirBundle maps stored findings and report, follows the review, is tenant-scoped and audited", async (t) => {
  const fx = await startGatewayFixture(t);
  const repos = fx.ctx.repos;
  const tenantId = fx.tenantA.tenantId;
  const patient = await repos.patients.create({ tenantId, mrn: "FHIR-1" });
  const study = await repos.studies.create({ tenantId, patientId: patient.id, accession: "FA-1" });
  const sha = "ab".repeat(32);
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
  const [cls, rep] = (
    await repos.analyses.requestAnalyses(
      (["CLASSIFICATION", "REPORT"] as const).map((task) => ({
        tenantId,
        studyId: study.id,
        imageId: image.id,
        task,
        question: null,
        idempotencyKey: `fhir-${task}`,
      })),
    )
  ).map((o) => o.analysis.id) as [string, string];
  const reliability = {
    level: "CAUTION" as const,
    score: 0.5,
    frontalProbability: null,
    oodDistance: null,
    reasons: [{ code: "NO_RELIABILITY_MODEL", message: "no input check" }],
  };
  await repos.results.writeClassification(
    cls,
    PROVENANCE,
    [
      {
        label: "Pleural Effusion",
        probability: 0.91,
        rawProbability: 0.95,
        threshold: 0.5,
        regions: [{ region: "left lung", score: 0.8 }],
        validatedOnRealData: true,
      },
      { label: "Support Devices", probability: 0.12, rawProbability: 0.3, threshold: 0.2, regions: [], validatedOnRealData: false },
    ],
    { reliability },
  );
  await repos.results.writeReport(
    rep,
    PROVENANCE,
    {
      findingsText: "Left pleural effusion.",
      impressionText: "Left effusion.",
      decoding: "greedy",
      sentences: [
        { index: 0, text: "Left pleural effusion.", regions: [{ region: "left lung", score: 0.7 }], labels: ["Pleural Effusion"] },
      ],
    },
    { reliability },
  );

  const first = await fx.gql(QUERY, { s: study.id }, fx.a.CLINICIAN);
  assert.equal(first.body.errors, undefined, JSON.stringify(first.body.errors));
  const bundle = first.body.data.study.fhirBundle;
  const resources = bundle.entry.map((e: any) => e.resource);
  const report = resources.find((r: any) => r.resourceType === "DiagnosticReport");
  const observations = resources.filter((r: any) => r.resourceType === "Observation");
  assert.equal(report.status, "preliminary");
  assert.equal(report.conclusion, "Left effusion.");
  assert.deepEqual(report.subject, { identifier: { system: `urn:gkmvlp:tenant:${tenantId}:patient`, value: "FHIR-1" } });
  assert.equal(observations.length, 2);
  const effusion = observations.find((o: any) => o.code.text === "Pleural Effusion");
  assert.equal(effusion.code.coding[0].code, "60046008");
  assert.equal(effusion.valueQuantity.value, 0.91);
  assert.equal(effusion.interpretation[0].coding[0].code, "POS");
  assert.equal(effusion.bodySite.coding[0].code, "44029006");
  assert.match(JSON.stringify(effusion.note), /Reliability CAUTION/);
  assert.match(JSON.stringify(effusion.method), /gkmvlp-real 0\.2\.0/);
  const audited = await fx.ctx.db.prisma.auditEvent.findMany({ where: { targetId: study.id, action: "study.fhir.export" } });
  assert.equal(audited.length, 1);

  const other = await fx.gql(QUERY, { s: study.id }, fx.b.RADIOLOGIST);
  assert.equal(other.body.data?.study ?? null, null);

  const radiologist = fx.tenantA.users.find((u) => u.role === "RADIOLOGIST");
  assert.ok(radiologist);
  await repos.reviews.create({
    tenantId,
    analysisId: rep,
    reviewerId: radiologist.id,
    actor: radiologist.email,
    action: "AMEND",
    amendedText: "Small left effusion.",
  });
  const amended = await fx.gql(QUERY, { s: study.id }, fx.a.RADIOLOGIST);
  const amendedReport = amended.body.data.study.fhirBundle.entry
    .map((e: any) => e.resource)
    .find((r: any) => r.resourceType === "DiagnosticReport");
  assert.equal(amendedReport.status, "amended");
  assert.equal(Buffer.from(amendedReport.presentedForm[0].data, "base64").toString("utf8"), "Small left effusion.");

  // both bundles as served, and each resource on its own, through the HL7 FHIR validator
  const missing = fhirValidatorMissing();
  if (missing) return t.skip(missing);
  const served = [bundle, amended.body.data.study.fhirBundle];
  const all = [...served, ...served.flatMap((b: any) => b.entry.map((e: any) => e.resource))];
  assert.deepEqual(validationErrors(all, await validateFhir(all)), []);
});
