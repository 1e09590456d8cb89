// Builds the FHIR R4 collection Bundle for one analysed study: ImagingStudy, Device (the model),
// one Observation per finding, and the DiagnosticReport that ties them together.
import {
  DICOM_DCM,
  FINDING_SNOMED,
  INTERPRETATION,
  LOCAL_FINDING_SYSTEM,
  LOINC,
  REGION_SNOMED,
  REPORT_LOINC,
  SECONDARY_CAPTURE_SOP_CLASS,
  SNOMED,
  UCUM,
  V2_0074,
} from "./codes.ts";
import type { FhirBundle, FhirFindingInput, FhirResource, FhirReviewAction, FhirStudyInput } from "./types.ts";
import { derivedUid } from "./uids.ts";

export type ReportStatus = "preliminary" | "final" | "amended" | "cancelled";

/** Before any review the AI report is preliminary; a reviewer's decision makes it final, amended or withdrawn. */
export function reportStatus(review: FhirReviewAction | null): ReportStatus {
  if (review === "ACCEPT") return "final";
  if (review === "AMEND") return "amended";
  if (review === "REJECT") return "cancelled";
  return "preliminary";
}

/** FHIR ids allow [A-Za-z0-9-.]{1,64}; platform ids fit, anything else is hashed into that alphabet. */
export function fhirId(...parts: string[]): string {
  const joined = parts.join("-");
  return /^[A-Za-z0-9.-]{1,64}$/.test(joined) ? joined : derivedUid("id", joined).slice(5, 69);
}

function subjectOf(input: FhirStudyInput) {
  return { identifier: { system: `urn:gkmvlp:tenant:${input.tenantId}:patient`, value: input.patientExternalId } };
}

function findingCode(label: string) {
  const snomed = FINDING_SNOMED[label];
  const coding = snomed === undefined ? [] : [{ system: SNOMED, code: snomed.code, display: snomed.display }];
  coding.push({ system: LOCAL_FINDING_SYSTEM, code: label.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase(), display: label });
  return { coding, text: label };
}

function bodySite(finding: FhirFindingInput) {
  if (finding.regions.length === 0) return undefined;
  const ordered = [...finding.regions].sort((a, b) => b.weight - a.weight);
  const coding = ordered.flatMap(({ region }) => {
    const code = REGION_SNOMED[region];
    return code === undefined ? [] : [{ system: SNOMED, code: code.code, display: code.display }];
  });
  return { ...(coding.length > 0 ? { coding } : {}), text: ordered.map(({ region }) => region).join(", ") };
}

function findingNotes(finding: FhirFindingInput, input: FhirStudyInput): { text: string }[] {
  const notes = [
    { text: `Decision threshold ${finding.threshold} on the ${finding.calibrated ? "calibrated" : "uncalibrated"} probability.` },
  ];
  if (input.reliability === "CAUTION")
    notes.push({ text: "Reliability CAUTION: the image is somewhat unlike the model's training films; read with care." });
  if (input.reliability === "ABSTAIN")
    notes.push({ text: "Reliability ABSTAIN: not a readable frontal chest radiograph for this model; do not use as a finding." });
  if (!finding.validatedOnRealData) notes.push({ text: "This finding's performance has not been measured on real radiographs." });
  return notes;
}

function utf8Base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

export function buildFhirBundle(input: FhirStudyInput): FhirBundle {
  const status = reportStatus(input.review);
  const issued = input.issuedAt.toISOString();
  const effective = input.study.startedAt.toISOString();
  const subject = subjectOf(input);
  const studyUid = input.study.studyInstanceUid ?? derivedUid("study", input.study.id);
  const seriesUid = input.image.seriesInstanceUid ?? derivedUid("series", input.image.id);
  const instanceUid = input.image.sopInstanceUid ?? derivedUid("instance", input.image.id);
  const modality = { system: DICOM_DCM, code: input.study.modality };
  const accession =
    input.study.accessionNumber === null
      ? undefined
      : {
          type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0203", code: "ACSN" }] },
          value: input.study.accessionNumber,
        };

  const imagingStudy: FhirResource = {
    resourceType: "ImagingStudy",
    id: fhirId(input.study.id),
    identifier: [{ system: "urn:dicom:uid", value: `urn:oid:${studyUid}` }, ...(accession === undefined ? [] : [accession])],
    status: "available",
    modality: [modality],
    subject,
    started: effective,
    numberOfSeries: 1,
    numberOfInstances: 1,
    series: [
      {
        uid: seriesUid,
        number: 1,
        modality,
        numberOfInstances: 1,
        instance: [
          {
            uid: instanceUid,
            sopClass: { system: "urn:ietf:rfc:3986", code: `urn:oid:${input.image.sopClassUid ?? SECONDARY_CAPTURE_SOP_CLASS}` },
            number: 1,
          },
        ],
      },
    ],
  };
  const device: FhirResource = {
    resourceType: "Device",
    id: fhirId("model", input.model.bundleHash.slice(0, 32)),
    identifier: [{ system: "urn:gkmvlp:model-bundle-sha256", value: input.model.bundleHash }],
    status: "active",
    deviceName: [{ name: input.model.name, type: "model-name" }],
    type: { text: "Chest radiograph AI model" },
    version: [{ value: input.model.version }],
  };
  const method = { text: `${input.model.name} ${input.model.version} (bundle sha256 ${input.model.bundleHash})` };
  const observations: FhirResource[] = input.findings.map((finding, index) => {
    const site = bodySite(finding);
    return {
      resourceType: "Observation",
      id: fhirId(input.study.id, "f", String(index + 1)),
      status,
      category: [
        { coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "imaging", display: "Imaging" }] },
      ],
      code: findingCode(finding.label),
      subject,
      effectiveDateTime: effective,
      issued,
      valueQuantity: { value: Number(finding.probability.toFixed(6)), unit: "probability", system: UCUM, code: "1" },
      interpretation: [
        {
          coding: [{ system: INTERPRETATION, code: finding.positive ? "POS" : "NEG", display: finding.positive ? "Positive" : "Negative" }],
        },
      ],
      note: findingNotes(finding, input),
      ...(site === undefined ? {} : { bodySite: site }),
      method,
      device: { reference: `Device/${device.id}` },
      derivedFrom: [{ reference: `ImagingStudy/${imagingStudy.id}` }],
    };
  });
  const presentedForm =
    input.report === null
      ? []
      : [
          { contentType: "text/plain; charset=utf-8", language: "en", title: "Report", data: utf8Base64(input.report.text) },
          {
            contentType: "text/plain; charset=utf-8",
            language: "en",
            title: "Report sentences with grounded regions",
            data: utf8Base64(input.report.sentences.map((sentence) => `${sentence.text} [${sentence.regions.join(", ")}]`).join("\n")),
          },
        ];
  const report: FhirResource = {
    resourceType: "DiagnosticReport",
    id: fhirId(input.study.id),
    // the accession number identifies the report in the RIS (as OBR-3 does in HL7 v2); /fhir/r4 searches on it
    ...(accession === undefined ? {} : { identifier: [accession] }),
    status,
    category: [{ coding: [{ system: V2_0074, code: "RAD", display: "Radiology" }] }],
    code: { coding: [{ system: LOINC, code: REPORT_LOINC.code, display: REPORT_LOINC.display }], text: "Chest radiograph AI report" },
    subject,
    effectiveDateTime: effective,
    issued,
    result: observations.map((observation) => ({ reference: `Observation/${observation.id}` })),
    imagingStudy: [{ reference: `ImagingStudy/${imagingStudy.id}` }],
    ...(input.report === null || input.report.impression.trim() === "" ? {} : { conclusion: input.report.impression }),
    ...(presentedForm.length === 0 ? {} : { presentedForm }),
  };
  const resources = [report, imagingStudy, device, ...observations];
  return {
    resourceType: "Bundle",
    type: "collection",
    timestamp: issued,
    entry: resources.map((resource) => ({ fullUrl: `${input.baseUrl}/${resource.resourceType}/${resource.id}`, resource })),
  };
}
