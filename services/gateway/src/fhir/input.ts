// Stored rows of one study → the builder's input (lib/interop/fhir). Study.fhirBundle (rows from the request's
// loaders) and the /fhir/r4 endpoint (rows from lib/db/repositories/fhir.ts) both map through here, so a
// resource has the same id and content whichever way it is read.
import type { FhirStudyInput } from "../../../../lib/interop/fhir/types.ts";
import type { AnalysisModel, FindingModel, StudyModel } from "../graphql/models.ts";
import { reliabilityOf } from "../graphql/reliability.ts";
import { groundedRegions } from "../graphql/resolvers/types.ts";

export interface FhirSourceRows {
  study: StudyModel;
  patient: { mrn: string };
  classification: AnalysisModel;
  image: { id: string; seriesInstanceUid: string | null; sopInstanceUid: string | null };
  findings: readonly FindingModel[];
  report: { findingsText: string; impressionText: string; sentences: readonly { text: string; regions: unknown }[] } | null;
  /** oldest first */
  reviews: readonly { action: "ACCEPT" | "AMEND" | "REJECT"; amendedText: string | null }[];
}

function regionNames(value: unknown): string[] {
  return groundedRegions(Array.isArray(value) ? value.map((r) => (typeof r === "string" ? { region: r, score: 0 } : r)) : []).map(
    (r) => r.region,
  );
}

export function fhirStudyInput(rows: FhirSourceRows, baseUrl: string): FhirStudyInput {
  const { study, classification, report } = rows;
  const lastReview = rows.reviews.at(-1);
  return {
    baseUrl,
    tenantId: study.tenantId,
    study: {
      id: study.id,
      studyInstanceUid: study.studyInstanceUid ?? null,
      accessionNumber: study.accession,
      modality: study.modality,
      startedAt: study.studyDate ?? study.createdAt,
    },
    patientExternalId: rows.patient.mrn,
    image: {
      id: rows.image.id,
      seriesInstanceUid: rows.image.seriesInstanceUid ?? null,
      sopInstanceUid: rows.image.sopInstanceUid ?? null,
      sopClassUid: null,
    },
    findings: rows.findings.map((f) => ({
      label: f.label,
      probability: f.probability,
      threshold: f.threshold,
      positive: f.probability >= f.threshold,
      calibrated: f.rawProbability !== null && f.rawProbability !== undefined,
      validatedOnRealData: f.validatedOnRealData ?? false,
      regions: groundedRegions(f.regions),
    })),
    reliability: reliabilityOf(classification)?.level ?? null,
    report: report
      ? {
          impression: report.impressionText ?? "",
          // an amendment replaces the text the model wrote; the sentences stay the model's, with their regions
          text:
            lastReview?.action === "AMEND" && lastReview.amendedText
              ? lastReview.amendedText
              : `Findings: ${report.findingsText ?? ""}\nImpression: ${report.impressionText ?? ""}`,
          sentences: report.sentences.map((s) => ({ text: s.text, regions: regionNames(s.regions) })),
        }
      : null,
    review: lastReview?.action ?? null,
    model: {
      name: classification.modelName ?? "unknown",
      version: classification.modelVersion ?? "unknown",
      bundleHash: classification.bundleSha256 ?? "",
    },
    issuedAt: classification.finishedAt ?? new Date(),
  };
}
