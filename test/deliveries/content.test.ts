// What a delivery's SR says, from stored results: the report state follows the review, an amendment's text replaces
// the model's sentences, ABSTAIN sends no findings and CAUTION says so, and the ids are stable per delivery.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Delivery, DeliverySource } from "../../lib/db/index.ts";
import { hl7ControlId, oruOf, reportState, srInputOf, srUids } from "../../lib/deliveries/content.ts";
import { buildOruR01, parseHl7 } from "../../lib/interop/hl7/oru.ts";
import { ORIGINAL } from "./source-fixture.ts";

function source(
  overrides: { reliability?: "OK" | "CAUTION" | "ABSTAIN"; review?: "ACCEPT" | "AMEND" | "REJECT"; amendedText?: string } = {},
) {
  const at = new Date("2026-12-03T10:00:00Z");
  return {
    study: { id: "s1", tenantId: "t1", accession: "ACC-1", modality: "DX", studyDate: null, studyInstanceUid: "2.25.1", createdAt: at },
    patient: { mrn: "MRN-1", name: "Real Name" },
    image: { id: "i1", format: "PNG", seriesInstanceUid: null, sopInstanceUid: null },
    classification: {
      modelName: "m",
      modelVersion: "1",
      bundleSha256: "ab".repeat(32),
      reliabilityLevel: overrides.reliability ?? "OK",
      finishedAt: at,
      updatedAt: at,
    },
    findings: [
      {
        label: "Pleural Effusion",
        probability: 0.9,
        threshold: 0.5,
        rawProbability: 0.9,
        validatedOnRealData: true,
        regions: [{ region: "left lung", score: 0.9 }],
      },
    ],
    boxes: [{ label: "Pleural Effusion", x1: 1, y1: 2, x2: 3, y2: 4 }],
    report: {
      findingsText: "Left effusion.",
      impressionText: "Effusion.",
      sentences: [{ text: "Left effusion.", regions: [{ region: "left lung", score: 1 }] }],
    },
    review: overrides.review
      ? { action: overrides.review, amendedText: overrides.amendedText ?? null, reviewerName: "Dr Reader", createdAt: at }
      : null,
  } as unknown as DeliverySource;
}

const delivery = { id: "0f8fad5b-d9cb-469f-a165-70867728950e" } as Delivery;
const now = new Date("2026-12-03T11:00:00Z");

test("the SR's state follows the review and an amendment's lines replace the model's sentences", () => {
  assert.equal(reportState(source()), "preliminary");
  assert.equal(srInputOf(source(), delivery, null, now).verified, null);
  const amended = srInputOf(source({ review: "AMEND", amendedText: "Small effusion.\n\nNo pneumothorax." }), delivery, null, now);
  assert.equal(amended.seriesDescription, "AI findings (amended)");
  assert.deepEqual(amended.sentences, [
    { text: "Small effusion.", regions: [] },
    { text: "No pneumothorax.", regions: [] },
  ]);
  assert.equal(amended.verified?.observerName, "Dr Reader");
  assert.deepEqual(amended.findings[0]?.box, { x1: 1, y1: 2, x2: 3, y2: 4 });
  assert.deepEqual(amended.patient, { id: "MRN-1" }, "no patient name leaves");
  const rejected = srInputOf(source({ review: "REJECT" }), delivery, { seriesInstanceUid: "2.25.8", sopInstanceUid: "2.25.9" }, now);
  assert.equal(rejected.seriesDescription, "AI findings (withdrawn)");
  assert.deepEqual([rejected.findings, rejected.sentences], [[], []]);
  assert.ok(rejected.withdrawn);
});

test("ABSTAIN sends no findings or model sentences, with a note; CAUTION sends them with a note", () => {
  const abstain = srInputOf(source({ reliability: "ABSTAIN" }), delivery, null, now);
  assert.deepEqual([abstain.findings, abstain.sentences], [[], []]);
  assert.match(abstain.notes?.[0] ?? "", /Not assessed/);
  const caution = srInputOf(source({ reliability: "CAUTION" }), delivery, null, now);
  assert.equal(caution.findings.length, 1);
  assert.match(caution.notes?.[0] ?? "", /Read with care/);
  assert.deepEqual(srInputOf(source(), delivery, null, now).notes, []);
});

test("a delivery's SR UIDs and HL7 control id are the same on every attempt", () => {
  assert.deepEqual(srUids(delivery), srUids({ ...delivery }));
  assert.match(srUids(delivery).sopInstanceUid, /^2\.25\.\d+$/);
  assert.equal(hl7ControlId(delivery), "0f8fad5bd9cb469fa165");
});

test("a rejected report goes out in HL7 as a correction whose observations are all posted as wrong, without the model's text", () => {
  const endpoints = { sendingApplication: "GKMVLP", sendingFacility: "T", receivingApplication: "RIS", receivingFacility: "H" };
  const message = buildOruR01(oruOf(source({ review: "REJECT" }), delivery, endpoints, now));
  const segments = parseHl7(message);
  assert.equal(segments.find((s) => s.name === "OBR")?.fields[25], "C", "OBR-25: correction");
  const observations = segments.filter((s) => s.name === "OBX");
  assert.ok(observations.length >= 2, "the findings' observations and the note");
  assert.deepEqual([...new Set(observations.map((o) => o.fields[11]))], ["W"], "OBX-11: every observation posted as wrong");
  assert.match(message, /Report withdrawn/);
  const accepted = buildOruR01(oruOf(source({ review: "ACCEPT" }), delivery, endpoints, now));
  assert.equal(parseHl7(accepted).find((s) => s.name === "OBR")?.fields[25], "F");
  assert.doesNotMatch(accepted, /Report withdrawn/);
});

test("a study received by DICOM in: its SR takes the original study, series, instance and patient from the source PACS", () => {
  const original = ORIGINAL;
  const input = srInputOf(source(), delivery, null, now, original);
  assert.deepEqual(input.study, { studyInstanceUid: "1.2.3.1", accession: "A-77", studyDate: original.studyDate });
  assert.deepEqual(input.patient, { id: "HOSP-42", name: "Doe^Jane" });
  assert.deepEqual(input.source, { sopClassUid: "1.2.840.10008.5.1.4.1.1.1", sopInstanceUid: "1.2.3.3", seriesInstanceUid: "1.2.3.2" });
  // the ORU to the RIS: the original accession and patient id, which the RIS knows
  const oru = oruOf(
    source(),
    delivery,
    { sendingApplication: "A", sendingFacility: "F", receivingApplication: "R", receivingFacility: "RF" },
    now,
    original,
  );
  assert.deepEqual([oru.accessionNumber, oru.patientExternalId], ["A-77", "HOSP-42"]);
  // without it, the platform's own (pseudonymous) UIDs and no name, as for uploads
  const own = srInputOf(source(), delivery, null, now);
  assert.equal(own.study.studyInstanceUid, "2.25.1");
  assert.deepEqual(own.patient, { id: "MRN-1" });
});

test("an upload whose pixels live in the PACS: the SR joins the stored instance's study and names that instance", () => {
  const stored = source() as unknown as { image: Record<string, unknown>; study: Record<string, unknown> };
  stored.image.derivedPngKey = "dicomweb:2.25.11/2.25.12/2.25.13.png";
  stored.study.studyInstanceUid = null;
  const input = srInputOf(stored as unknown as DeliverySource, delivery, null, now);
  assert.equal(input.study.studyInstanceUid, "2.25.11");
  assert.deepEqual([input.source.seriesInstanceUid, input.source.sopInstanceUid], ["2.25.12", "2.25.13"]);
  // a DICOM upload keeps its own UIDs, whatever holds its display image
  stored.image.seriesInstanceUid = "1.2.9.2";
  stored.image.sopInstanceUid = "1.2.9.3";
  stored.study.studyInstanceUid = "1.2.9.1";
  const own = srInputOf(stored as unknown as DeliverySource, delivery, null, now);
  assert.deepEqual([own.study.studyInstanceUid, own.source.sopInstanceUid], ["1.2.9.1", "1.2.9.3"]);
});
