// Builds an HL7 v2.5.1 ORU^R01 carrying one chest X-ray report and its findings, keyed on the accession
// number. PID carries the tenant's external patient id only: no name, birth date or address.
import { FINDING_SNOMED } from "../codes.ts";
import { escapeHl7 } from "./escape.ts";

export type Hl7ResultStatus = "preliminary" | "final" | "amended" | "withdrawn";

export interface OruFinding {
  label: string;
  probability: number;
  threshold: number;
}

export interface OruReport {
  controlId: string;
  sentAt: Date;
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  patientExternalId: string;
  accessionNumber: string;
  status: Hl7ResultStatus;
  findings: readonly OruFinding[];
  reportLines: readonly string[];
  model: { name: string; version: string; bundleHash: string };
}

// OBR-25 (HL7 table 0123) and OBX-11 (table 0085). A withdrawn report is a correction (C) whose observations are
// all posted as wrong (W): the receiver marks what it holds from earlier messages of this order as not to be used.
const orderStatus: Record<Hl7ResultStatus, string> = { preliminary: "P", final: "F", amended: "C", withdrawn: "C" };
const observationStatus: Record<Hl7ResultStatus, string> = { preliminary: "P", final: "F", amended: "C", withdrawn: "W" };

/** HL7 DTM, UTC, second precision */
export function hl7Timestamp(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, "").slice(0, 14)}+0000`;
}

function segment(fields: readonly string[]): string {
  return fields.join("|");
}

/** SNOMED CT where the shared table maps the label; otherwise a local code, upper snake case of the label. */
function findingCode(finding: OruFinding): string {
  const text = escapeHl7(finding.label);
  const snomed = FINDING_SNOMED[finding.label];
  if (snomed) return `${snomed.code}^${text}^SCT`;
  const local = finding.label.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
  return `${local}^${text}^L`;
}

/** OBX with up to `setId` as field 1, result status as field 11 (the fields between stay empty). */
function obx(
  setId: number,
  valueType: string,
  observationId: string,
  subId: string,
  value: string,
  extra: { units?: string; abnormal?: string; status: string; method?: string },
): string {
  const fields = [
    "OBX",
    String(setId),
    valueType,
    observationId,
    subId,
    value,
    extra.units ?? "",
    "",
    extra.abnormal ?? "",
    "",
    "",
    extra.status,
  ];
  while (fields.length < 17) fields.push("");
  fields.push(extra.method ?? "");
  return segment(fields);
}

export function buildOruR01(report: OruReport): string {
  const status = observationStatus[report.status];
  const timestamp = hl7Timestamp(report.sentAt);
  const accession = escapeHl7(report.accessionNumber);
  const method = `${escapeHl7(report.model.name)} ${escapeHl7(report.model.version)} sha256 ${escapeHl7(report.model.bundleHash)}`;
  const segments: string[] = [
    segment([
      "MSH",
      "^~\\&",
      escapeHl7(report.sendingApplication),
      escapeHl7(report.sendingFacility),
      escapeHl7(report.receivingApplication),
      escapeHl7(report.receivingFacility),
      timestamp,
      "",
      "ORU^R01^ORU_R01",
      escapeHl7(report.controlId),
      "P",
      "2.5.1",
    ]),
    segment(["PID", "1", "", `${escapeHl7(report.patientExternalId)}^^^^MR`]),
  ];
  const obr = ["OBR", "1", accession, accession, "18748-4^Diagnostic imaging study^LN", "", "", timestamp];
  while (obr.length < 25) obr.push("");
  obr.push(orderStatus[report.status]);
  segments.push(segment(obr));
  let setId = 0;
  for (const finding of report.findings) {
    setId += 1;
    const probability = Number.isFinite(finding.probability) ? finding.probability.toFixed(4) : "";
    const abnormal = finding.probability >= finding.threshold ? "A" : "N";
    segments.push(
      obx(setId, "NM", findingCode(finding), String(setId), probability, { units: "1^probability^UCUM", abnormal, status, method }),
    );
  }
  report.reportLines.forEach((line, index) => {
    setId += 1;
    segments.push(
      obx(setId, "TX", "18782-3^Radiology Study observation (narrative)^LN", String(index + 1), escapeHl7(line), { status, method }),
    );
  });
  // Segments end with CR (HL7 v2 segment terminator), never LF.
  return `${segments.join("\r")}\r`;
}

export interface ParsedSegment {
  name: string;
  /** fields[0] is the segment name, as HL7 numbers them (MSH is special: field 1 is the separator) */
  fields: string[];
}

/** A minimal reader for tests and ACKs: segments by CR, fields by "|" (no unescaping). */
export function parseHl7(message: string): ParsedSegment[] {
  return message
    .split("\r")
    .filter((line) => line.length > 0)
    .map((line) => {
      const fields = line.split("|");
      if (fields[0] === "MSH") fields.splice(1, 0, "|");
      return { name: fields[0] ?? "", fields };
    });
}
