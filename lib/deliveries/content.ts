// Maps a study's stored results (lib/db DeliverySource) to what each builder takes: the grounded SR, the ORU^R01
// and the FHIR bundle. Pure functions; the ids that make a resend idempotent are derived from the delivery's id.
import { parsePacsKey } from "../images/pacs-store.ts";
import { PLATFORM_MANUFACTURER } from "../interop/platform.ts";
import type { Delivery, DeliverySource } from "../db/index.ts";
import { uuidToUid } from "../interop/dicom-sr/uid.ts";
import type { SrInput } from "../interop/dicom-sr/index.ts";
import type { OruReport } from "../interop/hl7/oru.ts";
import type { FhirStudyInput } from "../interop/fhir/types.ts";
import { derivedUid } from "../interop/fhir/uids.ts";
import { SECONDARY_CAPTURE_SOP_CLASS } from "../interop/fhir/codes.ts";

export const MANUFACTURER = PLATFORM_MANUFACTURER;

type Grounded = { region: string; score: number };

function regionsOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .map((r): Grounded | null =>
      typeof r === "string" ? { region: r, score: 0 } : r && typeof r === "object" && "region" in r ? (r as Grounded) : null,
    )
    .filter((r): r is Grounded => r !== null && typeof r.region === "string")
    .sort((a, b) => (b.score ?? 0) - (a.score ?? 0))
    .map((r) => r.region);
}

/** The source image's SOP class: DICOM uploads by modality (CR / DX for presentation), wrapped uploads SC. */
export function sourceSopClass(source: DeliverySource): string {
  if (source.image.format === "DICOM" && source.study.modality === "CR") return "1.2.840.10008.5.1.4.1.1.1";
  if (source.image.format === "DICOM" && source.study.modality === "DX") return "1.2.840.10008.5.1.4.1.1.1.1";
  return SECONDARY_CAPTURE_SOP_CLASS;
}

/**
 * The source image's UIDs: its own (a DICOM upload's); else, when its pixels live in the PACS (IMAGE_STORE=pacs), the
 * Secondary Capture instance that holds them, so the SR joins that study and names an instance the PACS has; else
 * the ones derived from the platform's ids (the FHIR bundle uses the same).
 */
export function sourceUids(source: DeliverySource) {
  if (!source.image.sopInstanceUid) {
    const key = source.image.derivedPngKey ?? source.image.storageKey;
    const stored = key ? parsePacsKey(key) : null;
    if (stored) return stored;
  }
  return {
    studyInstanceUid: source.study.studyInstanceUid ?? derivedUid("study", source.study.id),
    seriesInstanceUid: source.image.seriesInstanceUid ?? derivedUid("series", source.image.id),
    sopInstanceUid: source.image.sopInstanceUid ?? derivedUid("instance", source.image.id),
  };
}

export type ReportState = "preliminary" | "final" | "amended" | "withdrawn";

/** what a withdrawn report says in HL7 (its findings' values are posted as wrong, not repeated as results) */
export const WITHDRAWN_LINE = "Report withdrawn: the reviewing radiologist rejected the AI draft. Disregard the earlier result.";

export function reportState(source: DeliverySource): ReportState {
  const action = source.review?.action;
  if (action === "ACCEPT") return "final";
  if (action === "AMEND") return "amended";
  if (action === "REJECT") return "withdrawn";
  return "preliminary";
}

/** The report as the hospital should read it: the reviewer's text after an AMEND, else the model's sentences. */
function reportSentences(source: DeliverySource): { text: string; regions: string[] }[] {
  if (source.review?.action === "AMEND" && source.review.amendedText) {
    // the amendment replaces the model's words; their regions belonged to the model's sentences, so none are kept
    return source.review.amendedText
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .map((text) => ({ text, regions: [] }));
  }
  return (source.report?.sentences ?? []).map((s) => ({ text: s.text, regions: regionsOf(s.regions) }));
}

function model(source: DeliverySource) {
  return {
    name: source.classification.modelName ?? "unknown",
    version: source.classification.modelVersion ?? "unknown",
    bundleSha256: source.classification.bundleSha256 ?? "",
  };
}

/** Stable per delivery: a resend after a lost answer stores the same instance again, not a second one. */
export function srUids(delivery: Delivery) {
  return { sopInstanceUid: uuidToUid(delivery.id), seriesInstanceUid: derivedUid("sr-series", delivery.id) };
}

/**
 * A source instance's own identity, read back from the PACS it arrived from (DICOM in). The platform stores the
 * study under pseudonymous UIDs when the tenant de-identifies; the SR that goes back to that PACS must join the
 * original study, so it takes these instead. Read at send time and never stored.
 */
export interface SourceIdentity {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string | null;
  patientId: string | null;
  patientName: string | null;
  accession: string | null;
  studyDate: Date | null;
}

export function srInputOf(
  source: DeliverySource,
  delivery: Delivery,
  predecessor: { seriesInstanceUid: string; sopInstanceUid: string } | null,
  now: Date,
  original: SourceIdentity | null = null,
): SrInput {
  const uids = original ?? sourceUids(source);
  const m = model(source);
  const state = reportState(source);
  const withdrawn = state === "withdrawn";
  // ABSTAIN: the model did not read the image as a frontal chest film, so its outputs are not findings (as in the API)
  const abstain = source.classification.reliabilityLevel === "ABSTAIN";
  const notes =
    abstain && !withdrawn
      ? ["Not assessed: the model did not read this image as a frontal chest radiograph; its outputs are not findings."]
      : source.classification.reliabilityLevel === "CAUTION" && !withdrawn
        ? ["Read with care: the image is somewhat unlike the model's training films, or the model cannot check its input."]
        : [];
  return {
    study: {
      studyInstanceUid: uids.studyInstanceUid,
      accession: original ? (original.accession ?? "") : source.study.accession,
      studyDate: original ? original.studyDate : source.study.studyDate,
    },
    // the external id only: the PACS matches on it; no name the platform holds leaves it (a name read back from
    // the source PACS goes back to that PACS only, so the SR's patient module matches its study's)
    patient: original ? { id: original.patientId ?? "", name: original.patientName } : { id: source.patient.mrn },
    source: {
      sopClassUid: original?.sopClassUid ?? sourceSopClass(source),
      sopInstanceUid: uids.sopInstanceUid,
      seriesInstanceUid: uids.seriesInstanceUid,
    },
    algorithm: {
      name: m.name,
      version: m.version,
      bundleSha256: m.bundleSha256,
      deviceUid: derivedUid("device", m.bundleSha256),
      manufacturer: MANUFACTURER,
    },
    findings:
      withdrawn || abstain
        ? []
        : source.findings.map((f) => {
            const box = source.boxes.find((b) => b.label === f.label);
            return {
              label: f.label,
              probability: f.probability,
              regions: regionsOf(f.regions),
              box: box ? { x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2 } : null,
            };
          }),
    // under ABSTAIN the model's sentences are not findings either; a reviewer's amended text still is the report
    sentences: withdrawn || (abstain && source.review?.action !== "AMEND") ? [] : reportSentences(source),
    predecessor,
    verified: source.review ? { observerName: source.review.reviewerName, organization: MANUFACTURER, at: source.review.createdAt } : null,
    notes,
    withdrawn: withdrawn ? { reason: "The reviewing radiologist rejected the AI report: the predecessor's content is withdrawn." } : null,
    seriesDescription: `AI findings (${state})`,
    createdAt: now,
    ...srUids(delivery),
  };
}

/** HL7 MSH-10 is at most 20 characters: the delivery id's first 20 hex digits, stable across resends. */
export function hl7ControlId(delivery: Delivery): string {
  return delivery.id.replace(/-/g, "").slice(0, 20);
}

export function oruOf(
  source: DeliverySource,
  delivery: Delivery,
  endpoints: { sendingApplication: string; sendingFacility: string; receivingApplication: string; receivingFacility: string },
  now: Date,
  original: SourceIdentity | null = null,
): OruReport {
  const state = reportState(source);
  const m = model(source);
  const lines =
    state === "withdrawn"
      ? [WITHDRAWN_LINE]
      : source.review?.action === "AMEND" && source.review.amendedText
        ? reportSentences(source).map((s) => s.text)
        : source.report
          ? [`Findings: ${source.report.findingsText}`, `Impression: ${source.report.impressionText}`]
          : [];
  return {
    controlId: hl7ControlId(delivery),
    sentAt: now,
    ...endpoints,
    // a study received by DICOM in: the RIS knows the original accession and patient id, not the platform's pseudonyms
    patientExternalId: original?.patientId ?? source.patient.mrn,
    accessionNumber: original?.accession ?? source.study.accession,
    status: state,
    findings: source.findings.map((f) => ({ label: f.label, probability: f.probability, threshold: f.threshold })),
    reportLines: lines,
    model: { name: m.name, version: m.version, bundleHash: m.bundleSha256 },
  };
}

/**
 * `original`: a study received by DICOM in, pushed to the hospital's FHIR server, carries the identifiers the hospital
 * knows (its Study/Series/SOP Instance UIDs, accession, patient id), read from the PACS at send time as for the SR and
 * the ORU. Without it (uploads, and the read-only endpoint and GraphQL field) the platform's own, pseudonymous ones.
 */
export function fhirInputOf(source: DeliverySource, baseUrl: string, original: SourceIdentity | null = null): FhirStudyInput {
  const uids = original ?? sourceUids(source);
  const m = model(source);
  const level = source.classification.reliabilityLevel;
  return {
    baseUrl: baseUrl.replace(/\/+$/, ""),
    tenantId: source.study.tenantId,
    study: {
      id: source.study.id,
      studyInstanceUid: uids.studyInstanceUid,
      accessionNumber: original?.accession ?? source.study.accession,
      modality: source.study.modality,
      startedAt: original?.studyDate ?? source.study.studyDate ?? source.study.createdAt,
    },
    patientExternalId: original?.patientId ?? source.patient.mrn,
    image: {
      id: source.image.id,
      seriesInstanceUid: uids.seriesInstanceUid,
      sopInstanceUid: uids.sopInstanceUid,
      sopClassUid: original?.sopClassUid ?? sourceSopClass(source),
    },
    findings: source.findings.map((f) => ({
      label: f.label,
      probability: f.probability,
      threshold: f.threshold,
      positive: f.probability >= f.threshold,
      calibrated: f.rawProbability !== null,
      validatedOnRealData: f.validatedOnRealData,
      regions: regionsOf(f.regions).map((region, i) => ({ region, weight: 1 / (i + 1) })),
    })),
    reliability: level ?? null,
    report: source.report
      ? {
          impression: source.report.impressionText,
          text:
            source.review?.action === "AMEND" && source.review.amendedText
              ? source.review.amendedText
              : `Findings: ${source.report.findingsText}\nImpression: ${source.report.impressionText}`,
          sentences: source.report.sentences.map((s) => ({ text: s.text, regions: regionsOf(s.regions) })),
        }
      : null,
    review: source.review?.action ?? null,
    model: { name: m.name, version: m.version, bundleHash: m.bundleSha256 },
    issuedAt: source.classification.finishedAt ?? source.classification.updatedAt,
  };
}
