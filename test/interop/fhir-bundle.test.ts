import { test } from "node:test";
import assert from "node:assert/strict";
import { buildFhirBundle, reportStatus } from "../../lib/interop/fhir/bundle.ts";
import { FINDING_SNOMED, FINDINGS_WITHOUT_SNOMED } from "../../lib/interop/fhir/codes.ts";
import type { FhirResource, FhirStudyInput } from "../../lib/interop/fhir/types.ts";
import { DEFAULT_LABELS } from "../../services/gateway/src/graphql/ontology.ts";
import { fhirValidatorMissing, validateFhir, validationErrors } from "../helpers/fhir-validator.ts";

function input(overrides: Partial<FhirStudyInput> = {}): FhirStudyInput {
  return {
    baseUrl: "https://gw.example/fhir",
    tenantId: "tenant1",
    study: { id: "study1", studyInstanceUid: null, accessionNumber: "ACC-9", modality: "DX", startedAt: new Date("2026-01-02T03:04:05Z") },
    patientExternalId: "EXT-42",
    image: { id: "image1", seriesInstanceUid: null, sopInstanceUid: null, sopClassUid: null },
    findings: [
      {
        label: "Pleural Effusion",
        probability: 0.8123,
        threshold: 0.5,
        positive: true,
        calibrated: true,
        validatedOnRealData: true,
        regions: [
          { region: "left lung", weight: 0.4 },
          { region: "left costophrenic angle", weight: 0.9 },
        ],
      },
      {
        label: "Support Devices",
        probability: 0.1,
        threshold: 0.4,
        positive: false,
        calibrated: false,
        validatedOnRealData: false,
        regions: [],
      },
    ],
    reliability: "CAUTION",
    report: {
      impression: "Left pleural effusion.",
      text: "Findings: left effusion.\nImpression: Left pleural effusion.",
      sentences: [{ text: "Left effusion.", regions: ["left costophrenic angle"] }],
    },
    review: null,
    model: { name: "gk-mvlp", version: "1.2.0", bundleHash: "a".repeat(64) },
    issuedAt: new Date("2026-01-02T04:00:00Z"),
    ...overrides,
  };
}

function byType(bundle: ReturnType<typeof buildFhirBundle>, type: string): FhirResource[] {
  return bundle.entry.map((entry) => entry.resource).filter((resource) => resource.resourceType === type);
}

test("the report is preliminary before review, final after ACCEPT, amended after AMEND", () => {
  assert.equal(reportStatus(null), "preliminary");
  assert.equal(reportStatus("ACCEPT"), "final");
  assert.equal(reportStatus("AMEND"), "amended");
  const bundle = buildFhirBundle(input({ review: "AMEND" }));
  assert.equal(byType(bundle, "DiagnosticReport")[0]?.status, "amended");
  for (const observation of byType(bundle, "Observation")) assert.equal(observation.status, "amended");
});

test("one Observation per finding, coded, with probability, interpretation, body site and provenance", () => {
  const bundle = buildFhirBundle(input());
  const [effusion, devices] = byType(bundle, "Observation");
  const [study] = byType(bundle, "ImagingStudy");
  const [device] = byType(bundle, "Device");
  assert.ok(effusion && devices && study && device);
  assert.deepEqual((effusion.code as { coding: { system: string; code: string }[] }).coding[0], {
    system: "http://snomed.info/sct",
    code: "60046008",
    display: "Pleural effusion",
  });
  assert.deepEqual(effusion.valueQuantity, { value: 0.8123, unit: "probability", system: "http://unitsofmeasure.org", code: "1" });
  assert.equal(JSON.stringify(effusion.interpretation).includes('"POS"'), true);
  assert.equal(JSON.stringify(devices.interpretation).includes('"NEG"'), true);
  assert.deepEqual(effusion.bodySite, {
    coding: [{ system: "http://snomed.info/sct", code: "44029006", display: "Left lung structure" }],
    text: "left costophrenic angle, left lung",
  });
  assert.equal(devices.bodySite, undefined);
  assert.deepEqual(effusion.derivedFrom, [{ reference: `ImagingStudy/${study.id}` }]);
  assert.deepEqual(effusion.device, { reference: `Device/${device.id}` });
  assert.match(JSON.stringify(effusion.method), /gk-mvlp 1\.2\.0 \(bundle sha256 a{64}\)/);
  assert.match(JSON.stringify(effusion.note), /Reliability CAUTION/);
  assert.doesNotMatch(JSON.stringify(effusion.note), /not been measured on real/);
  assert.match(JSON.stringify(devices.note), /not been measured on real radiographs/);
  assert.doesNotMatch(JSON.stringify((devices.code as { coding: unknown[] }).coding), /snomed/);
});

test("the report carries the impression, the text, and references resolvable inside the bundle", () => {
  const bundle = buildFhirBundle(input());
  const [report] = byType(bundle, "DiagnosticReport");
  assert.ok(report);
  assert.equal(report.conclusion, "Left pleural effusion.");
  const forms = report.presentedForm as { data: string; title: string }[];
  assert.equal(Buffer.from(forms[0]?.data ?? "", "base64").toString("utf8"), input().report?.text);
  assert.match(Buffer.from(forms[1]?.data ?? "", "base64").toString("utf8"), /Left effusion\. \[left costophrenic angle\]/);
  const fullUrls = new Set(bundle.entry.map((entry) => entry.fullUrl));
  const references = JSON.stringify(bundle).match(/"reference":"[^"]+"/g) ?? [];
  assert.ok(references.length >= 5);
  for (const reference of references) assert.ok(fullUrls.has(`https://gw.example/fhir/${reference.slice(13, -1)}`), reference);
});

test("no PHI beyond the external id: the subject is a logical reference, no Patient resource", () => {
  const bundle = buildFhirBundle(input());
  assert.equal(byType(bundle, "Patient").length, 0);
  assert.deepEqual(byType(bundle, "DiagnosticReport")[0]?.subject, {
    identifier: { system: "urn:gkmvlp:tenant:tenant1:patient", value: "EXT-42" },
  });
});

test("an upload without DICOM UIDs gets stable generated 2.25 UIDs; a known Study Instance UID is kept", () => {
  const first = byType(buildFhirBundle(input()), "ImagingStudy")[0];
  const again = byType(buildFhirBundle(input()), "ImagingStudy")[0];
  assert.deepEqual(first, again);
  const uid = (first?.identifier as { value: string }[])[0]?.value ?? "";
  assert.match(uid, /^urn:oid:2\.25\.\d{1,39}$/);
  const known = byType(buildFhirBundle(input({ study: { ...input().study, studyInstanceUid: "1.2.3.4" } })), "ImagingStudy")[0];
  assert.equal((known?.identifier as { value: string }[])[0]?.value, "urn:oid:1.2.3.4");
});

test("every CheXpert label is either mapped to SNOMED CT or listed as knowingly unmapped", () => {
  const covered = new Set([...Object.keys(FINDING_SNOMED), ...FINDINGS_WITHOUT_SNOMED]);
  assert.deepEqual(
    [...DEFAULT_LABELS].filter((label) => !covered.has(label)),
    [],
  );
  assert.equal(covered.size, DEFAULT_LABELS.length);
});

test("bundles in every review state, with and without report, DICOM UIDs or accession, pass the HL7 FHIR validator", async (t) => {
  const missing = fhirValidatorMissing();
  if (missing) return t.skip(missing);
  const every = DEFAULT_LABELS.map((label, i) => ({
    label,
    probability: i / DEFAULT_LABELS.length,
    threshold: 0.5,
    positive: i / DEFAULT_LABELS.length >= 0.5,
    calibrated: i % 2 === 0,
    validatedOnRealData: i % 3 === 0,
    regions: [{ region: i % 2 ? "right lung" : "heart", weight: 0.5 }],
  }));
  const bundles = [
    buildFhirBundle(input()),
    ...(["ACCEPT", "AMEND", "REJECT"] as const).map((review) => buildFhirBundle(input({ review, reliability: "ABSTAIN" }))),
    buildFhirBundle(input({ report: null, reliability: null, findings: every })),
    buildFhirBundle(
      input({
        study: { ...input().study, studyInstanceUid: "1.2.840.113619.2.55.3", accessionNumber: null, modality: "CR" },
        image: { id: "image1", seriesInstanceUid: "1.2.3.4.5", sopInstanceUid: "1.2.3.4.5.6", sopClassUid: "1.2.840.10008.5.1.4.1.1.1.1" },
      }),
    ),
  ];
  const resources = [...bundles, ...bundles.flatMap((b) => b.entry.map((e) => e.resource))];
  const issues = await validateFhir(resources);
  assert.deepEqual(validationErrors(resources, issues), []);
});
