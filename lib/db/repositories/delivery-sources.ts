// What a delivery is built from: the study's latest successful results, read in one tenant-scoped place so that the
// SR, the ORU and the FHIR bundle of one delivery describe the same analyses.
import type {
  Analysis,
  FindingResult,
  Image,
  LocalizationBox,
  Patient,
  PrismaClient,
  ReportResult,
  ReportSentence,
  Review,
  Study,
} from "../generated/client.ts";

export interface DeliverySource {
  study: Study;
  patient: Patient;
  image: Image;
  classification: Analysis;
  findings: FindingResult[];
  /** the best box per label of the latest localization, if any */
  boxes: LocalizationBox[];
  report: (ReportResult & { sentences: ReportSentence[]; analysis: Analysis }) | null;
  /** the latest review of that report, with the reviewer's display name */
  review: (Review & { reviewerName: string }) | null;
  /** the PACS instance the image was ingested from (DICOM in), so that an SR can join the original study */
  pacsInstanceId: string | null;
}

async function latest(prisma: PrismaClient, tenantId: string, studyId: string, task: Analysis["task"]): Promise<Analysis | null> {
  return prisma.analysis.findFirst({
    where: { tenantId, studyId, task, status: "SUCCEEDED" },
    orderBy: [{ finishedAt: "desc" }, { id: "desc" }],
  });
}

export function createDeliverySourceRepository(prisma: PrismaClient) {
  return {
    /** null when the study is not the tenant's or has no successful classification yet (nothing analysed). */
    async load(tenantId: string, studyId: string): Promise<DeliverySource | null> {
      const study = await prisma.study.findFirst({ where: { id: studyId, tenantId }, include: { patient: true } });
      if (!study) return null;
      const classification = await latest(prisma, tenantId, studyId, "CLASSIFICATION");
      if (!classification) return null;
      const [image, findings, localization, reportAnalysis] = await Promise.all([
        prisma.image.findFirst({ where: { id: classification.imageId, tenantId } }),
        prisma.findingResult.findMany({ where: { analysisId: classification.id, tenantId }, orderBy: { label: "asc" } }),
        latest(prisma, tenantId, studyId, "LOCALIZATION"),
        latest(prisma, tenantId, studyId, "REPORT"),
      ]);
      if (!image) return null;
      const boxes = localization
        ? await prisma.localizationBox.findMany({ where: { analysisId: localization.id, tenantId, rank: 0 }, orderBy: { label: "asc" } })
        : [];
      const report = reportAnalysis
        ? await prisma.reportResult.findFirst({
            where: { analysisId: reportAnalysis.id, tenantId },
            include: { sentences: { orderBy: { index: "asc" } } },
          })
        : null;
      const review = reportAnalysis
        ? await prisma.review.findFirst({
            where: { analysisId: reportAnalysis.id, tenantId },
            orderBy: [{ createdAt: "desc" }, { id: "desc" }],
            include: { reviewer: { select: { name: true } } },
          })
        : null;
      const ingested =
        study.source === "PACS"
          ? await prisma.pacsIngestLog.findFirst({
              where: { tenantId, imageId: image.id, outcome: "INGESTED" },
              select: { orthancId: true },
            })
          : null;
      const { patient, ...studyRow } = study;
      return {
        study: studyRow,
        patient,
        image,
        classification,
        findings,
        boxes,
        report: report && reportAnalysis ? { ...report, analysis: reportAnalysis } : null,
        review: review ? { ...review, reviewerName: review.reviewer.name } : null,
        pacsInstanceId: ingested?.orthancId ?? null,
      };
    },
    /** Whether the study is the tenant's and has a successful classification (sendToPacs' precondition). */
    async status(tenantId: string, studyId: string): Promise<"NOT_FOUND" | "NOT_ANALYSED" | "READY"> {
      const study = await prisma.study.findFirst({ where: { id: studyId, tenantId }, select: { id: true } });
      if (!study) return "NOT_FOUND";
      return (await latest(prisma, tenantId, studyId, "CLASSIFICATION")) ? "READY" : "NOT_ANALYSED";
    },
  };
}
