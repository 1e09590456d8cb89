// Seeds analysed studies for the /fhir/r4 tests: results written with lib/db's writers as the worker writes them.
import type { GatewayFixture } from "./fixture.ts";

export const PROVENANCE = { modelName: "gkmvlp-real", modelVersion: "0.2.0", bundleSha256: "ef".repeat(32) };

export interface SeededFhirStudy {
  studyId: string;
  reportAnalysisId: string;
  mrn: string;
  accession: string;
}

/** A study with an image, a classification (two findings) and a report; `n` makes bytes and ids distinct. */
export async function seedAnalysedStudy(
  fx: GatewayFixture,
  tenantId: string,
  mrn: string,
  accession: string,
  n: number,
): Promise<SeededFhirStudy> {
  const repos = fx.ctx.repos;
  const patient = await repos.patients.upsertByMrn({ tenantId, mrn });
  const study = await repos.studies.create({ tenantId, patientId: patient.id, accession });
  const sha = n.toString(16).padStart(2, "0").repeat(32);
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
        idempotencyKey: `fhir-rest-${n}-${task}`,
      })),
    )
  ).map((o) => o.analysis.id) as [string, string];
  const reliability = { level: "OK" as const, score: 0.9, frontalProbability: 0.99, oodDistance: 0.1, reasons: [] };
  await repos.results.writeClassification(
    cls,
    PROVENANCE,
    [
      {
        label: "Pleural Effusion",
        probability: 0.91,
        rawProbability: 0.95,
        threshold: 0.5,
        regions: [
          { region: "left lung", score: 0.8 },
          { region: "left costophrenic angle", score: 0.6 },
        ],
        validatedOnRealData: true,
      },
      { label: "Support Devices", probability: 0.12, rawProbability: null, threshold: 0.2, regions: [], validatedOnRealData: false },
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
  return { studyId: study.id, reportAnalysisId: rep, mrn, accession };
}
