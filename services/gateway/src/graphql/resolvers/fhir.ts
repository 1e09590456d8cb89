// Study.fhirBundle: the stored results of a study, read through the request's tenant-scoped loaders, mapped
// by lib/interop/fhir (through fhir/input.ts, as the /fhir/r4 endpoint). Audited as an export because the bundle
// leaves the platform with the external id.
import { latestSucceeded } from "../../../../../lib/db/repositories/fhir.ts";
import { buildFhirBundle } from "../../../../../lib/interop/fhir/bundle.ts";
import type { FhirBundle } from "../../../../../lib/interop/fhir/types.ts";
import { fhirStudyInput } from "../../fhir/input.ts";
import { loadersOf, type GatewayContext } from "../context.ts";
import type { StudyModel } from "../models.ts";

export async function studyFhirBundle(study: StudyModel, ctx: GatewayContext): Promise<FhirBundle | null> {
  const loaders = loadersOf(ctx);
  const analyses = await loaders.analysesByStudy.load(study.id);
  const classification = latestSucceeded(analyses, "CLASSIFICATION");
  if (!classification) return null;
  const reportAnalysis = latestSucceeded(analyses, "REPORT");
  const [patient, image, findings, report, reviews] = await Promise.all([
    loaders.patient.load(study.patientId),
    loaders.image.load(classification.imageId),
    loaders.findingsByAnalysis.load(classification.id),
    reportAnalysis ? loaders.reportByAnalysis.load(reportAnalysis.id) : null,
    reportAnalysis ? loaders.reviewsByAnalysis.load(reportAnalysis.id) : [],
  ]);
  if (!patient || !image) return null;
  const bundle = buildFhirBundle(fhirStudyInput({ study, patient, classification, image, findings, report, reviews }, ctx.fhirBaseUrl));
  await ctx.services.audit(ctx, "study.fhir.export", "Study", study.id, { analysisId: classification.id });
  return bundle;
}
