// Study.fhirBundle: the stored results of a study, read through the request's tenant-scoped loaders, mapped
// by lib/interop/fhir. Audited as an export because the bundle leaves the platform with the external id.
import { buildFhirBundle } from "../../../../../lib/interop/fhir/bundle.ts";
import type { FhirBundle } from "../../../../../lib/interop/fhir/types.ts";
import { loadersOf, type GatewayContext } from "../context.ts";
import type { AnalysisModel, StudyModel } from "../models.ts";
import { reliabilityOf } from "../reliability.ts";
import { groundedRegions } from "./types.ts";

/** FHIR fullUrls need an absolute base; the read-only REST endpoint will serve under this path. */
const FHIR_BASE = "urn:gkmvlp:fhir";

function latest(analyses: AnalysisModel[], task: AnalysisModel["task"]): AnalysisModel | undefined {
  return analyses
    .filter((a) => a.task === task && a.status === "SUCCEEDED")
    .sort((a, b) => (b.finishedAt?.getTime() ?? 0) - (a.finishedAt?.getTime() ?? 0))[0];
}

function regionNames(value: unknown): string[] {
  return groundedRegions(Array.isArray(value) ? value.map((r) => (typeof r === "string" ? { region: r, score: 0 } : r)) : []).map(
    (r) => r.region,
  );
}

export async function studyFhirBundle(study: StudyModel, ctx: GatewayContext): Promise<FhirBundle | null> {
  const loaders = loadersOf(ctx);
  const analyses = await loaders.analysesByStudy.load(study.id);
  const classification = latest(analyses, "CLASSIFICATION");
  if (!classification) return null;
  const reportAnalysis = latest(analyses, "REPORT");
  const [patient, image, findings, report, reviews] = await Promise.all([
    loaders.patient.load(study.patientId),
    loaders.image.load(classification.imageId),
    loaders.findingsByAnalysis.load(classification.id),
    reportAnalysis ? loaders.reportByAnalysis.load(reportAnalysis.id) : null,
    reportAnalysis ? loaders.reviewsByAnalysis.load(reportAnalysis.id) : [],
  ]);
  if (!patient || !image) return null;
  const lastReview = reviews.at(-1);
  const bundle = buildFhirBundle({
    baseUrl: FHIR_BASE,
    tenantId: study.tenantId,
    study: {
      id: study.id,
      studyInstanceUid: study.studyInstanceUid ?? null,
      accessionNumber: study.accession,
      modality: study.modality,
      startedAt: study.studyDate ?? study.createdAt,
    },
    patientExternalId: patient.mrn,
    image: {
      id: image.id,
      seriesInstanceUid: image.seriesInstanceUid ?? null,
      sopInstanceUid: image.sopInstanceUid ?? null,
      sopClassUid: null,
    },
    findings: findings.map((f) => ({
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
  });
  await ctx.services.audit(ctx, "study.fhir.export", "Study", study.id, { analysisId: classification.id });
  return bundle;
}
