// Reads for the FHIR R4 REST endpoint (services/gateway/src/fhir): the rows one study's FHIR resources are built
// from, for a page of studies at once, and the DiagnosticReport search. Every query filters on the tenant, so
// another tenant's id reads as "not found". The mapping to FHIR lives beside the builder, not here.
import type {
  Analysis,
  FindingResult,
  Image,
  Patient,
  PrismaClient,
  ReportResult,
  ReportSentence,
  Review,
  Study,
} from "../generated/client.ts";

/** What lib/interop/fhir needs about one study; `classification` is the analysis its Observations come from. */
export interface FhirStudyRows {
  study: Study;
  patient: Patient;
  classification: Analysis;
  image: Image;
  findings: FindingResult[];
  reportAnalysis: Analysis | null;
  report: (ReportResult & { sentences: ReportSentence[] }) | null;
  /** reviews of the report, oldest first (the last one decides the report's status) */
  reviews: Review[];
}

/** The DiagnosticReport statuses and the latest review that gives each (none: not reviewed yet). */
export const REPORT_STATUS_REVIEW = { preliminary: null, final: "ACCEPT", amended: "AMEND", cancelled: "REJECT" } as const;
export type FhirReportStatus = keyof typeof REPORT_STATUS_REVIEW;

export interface FhirReportSearch {
  /** accession number */
  accession?: string;
  /** the tenant's patient id (MRN) */
  patientMrn?: string;
  statuses?: readonly FhirReportStatus[];
  count: number;
  offset: number;
}

/**
 * The analysis of `task` a study's FHIR resources are built from: the latest to succeed (finish time, then the
 * order the analyses were requested in, newest first). Shared with Study.fhirBundle so both pick the same one.
 */
export function latestSucceeded<A extends { task: string; status: string; finishedAt: Date | null }>(
  analyses: readonly A[],
  task: string,
): A | undefined {
  return analyses
    .filter((a) => a.task === task && a.status === "SUCCEEDED")
    .sort((a, b) => (b.finishedAt?.getTime() ?? 0) - (a.finishedAt?.getTime() ?? 0))[0];
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const list = map.get(key(row));
    if (list) list.push(row);
    else map.set(key(row), [row]);
  }
  return map;
}

export function createFhirReadRepository(prisma: PrismaClient) {
  /** The rows of each study that has a classification result, in the order of `studyIds` (others are left out). */
  async function studyRows(tenantId: string, studyIds: readonly string[]): Promise<FhirStudyRows[]> {
    if (studyIds.length === 0) return [];
    const ids = [...studyIds];
    const [studies, analyses] = await Promise.all([
      prisma.study.findMany({ where: { tenantId, id: { in: ids } } }),
      // the same order as the gateway's analysesByStudy loader, so latestSucceeded breaks ties the same way
      prisma.analysis.findMany({
        where: { tenantId, studyId: { in: ids }, status: "SUCCEEDED", task: { in: ["CLASSIFICATION", "REPORT"] } },
        orderBy: [{ requestedAt: "desc" }, { id: "desc" }],
      }),
    ]);
    const byStudy = groupBy(analyses, (a) => a.studyId);
    const picked = studies.flatMap((study) => {
      const list = byStudy.get(study.id) ?? [];
      const classification = latestSucceeded(list, "CLASSIFICATION");
      return classification ? [{ study, classification, reportAnalysis: latestSucceeded(list, "REPORT") ?? null }] : [];
    });
    if (picked.length === 0) return [];
    const reportIds = picked.flatMap((p) => (p.reportAnalysis ? [p.reportAnalysis.id] : []));
    const [patients, images, findings, reports, reviews] = await Promise.all([
      prisma.patient.findMany({ where: { tenantId, id: { in: picked.map((p) => p.study.patientId) } } }),
      prisma.image.findMany({ where: { tenantId, id: { in: picked.map((p) => p.classification.imageId) } } }),
      prisma.findingResult.findMany({
        where: { tenantId, analysisId: { in: picked.map((p) => p.classification.id) } },
        orderBy: [{ probability: "desc" }, { label: "asc" }],
      }),
      reportIds.length ? prisma.reportResult.findMany({ where: { tenantId, analysisId: { in: reportIds } } }) : [],
      reportIds.length
        ? prisma.review.findMany({ where: { tenantId, analysisId: { in: reportIds } }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] })
        : [],
    ]);
    const sentences = reports.length
      ? await prisma.reportSentence.findMany({
          where: { tenantId, reportId: { in: reports.map((r) => r.id) } },
          orderBy: [{ index: "asc" }],
        })
      : [];
    const patientById = new Map(patients.map((p) => [p.id, p]));
    const imageById = new Map(images.map((i) => [i.id, i]));
    const findingsBy = groupBy(findings, (f) => f.analysisId);
    const sentencesBy = groupBy(sentences, (s) => s.reportId);
    const reportBy = new Map(reports.map((r) => [r.analysisId, { ...r, sentences: sentencesBy.get(r.id) ?? [] }]));
    const reviewsBy = groupBy(reviews, (r) => r.analysisId);
    const rows = new Map<string, FhirStudyRows>();
    for (const p of picked) {
      const patient = patientById.get(p.study.patientId);
      const image = imageById.get(p.classification.imageId);
      if (!patient || !image) continue;
      rows.set(p.study.id, {
        ...p,
        patient,
        image,
        findings: findingsBy.get(p.classification.id) ?? [],
        report: p.reportAnalysis ? (reportBy.get(p.reportAnalysis.id) ?? null) : null,
        reviews: p.reportAnalysis ? (reviewsBy.get(p.reportAnalysis.id) ?? []) : [],
      });
    }
    return ids.flatMap((id) => rows.get(id) ?? []);
  }

  return {
    studyRows,

    /** Studies whose classification ran on the model with this bundle hash prefix, newest result first. */
    async studiesWithModel(tenantId: string, bundleHashPrefix: string, limit: number): Promise<string[]> {
      if (bundleHashPrefix === "") return [];
      const rows = await prisma.analysis.findMany({
        where: { tenantId, task: "CLASSIFICATION", status: "SUCCEEDED", bundleSha256: { startsWith: bundleHashPrefix } },
        orderBy: [{ finishedAt: { sort: "desc", nulls: "last" } }, { id: "desc" }],
        select: { studyId: true },
        // a bounded read (Prisma's `distinct` would fetch every match and dedupe in memory)
        take: limit * 4,
      });
      return [...new Set(rows.map((r) => r.studyId))].slice(0, limit);
    },

    /**
     * One page of the studies that have a DiagnosticReport (a classification result), newest study first, and how
     * many match in all. The status is that of the latest review of the latest report, as the builder derives it.
     */
    searchReports: async function searchReports(
      tenantId: string,
      search: FhirReportSearch,
    ): Promise<{ total: number; studyIds: string[] }> {
      const reviews = search.statuses?.map((s) => REPORT_STATUS_REVIEW[s] ?? "NONE") ?? null;
      const rows = await prisma.$queryRaw<{ id: string; total: bigint }[]>`
        WITH matched AS (
          SELECT st."id", st."createdAt",
            -- the review is looked up only when a status is asked for
            CASE WHEN ${reviews}::text[] IS NULL THEN NULL ELSE COALESCE((
              SELECT rv."action"::text FROM "Review" rv
              WHERE rv."tenantId" = st."tenantId" AND rv."analysisId" = (
                SELECT ra."id" FROM "Analysis" ra
                WHERE ra."tenantId" = st."tenantId" AND ra."studyId" = st."id" AND ra."task" = 'REPORT' AND ra."status" = 'SUCCEEDED'
                ORDER BY ra."finishedAt" DESC NULLS LAST, ra."requestedAt" DESC, ra."id" DESC LIMIT 1)
              ORDER BY rv."createdAt" DESC, rv."id" DESC LIMIT 1), 'NONE') END AS "review"
          FROM "Study" st JOIN "Patient" pt ON pt."id" = st."patientId" AND pt."tenantId" = st."tenantId"
          WHERE st."tenantId" = ${tenantId}
            AND (${search.accession ?? null}::text IS NULL OR st."accession" = ${search.accession ?? null})
            AND (${search.patientMrn ?? null}::text IS NULL OR pt."mrn" = ${search.patientMrn ?? null})
            AND EXISTS (SELECT 1 FROM "Analysis" ca WHERE ca."tenantId" = st."tenantId" AND ca."studyId" = st."id"
                        AND ca."task" = 'CLASSIFICATION' AND ca."status" = 'SUCCEEDED')
        )
        SELECT "id", COUNT(*) OVER () AS "total" FROM matched
        WHERE ${reviews}::text[] IS NULL OR "review" = ANY(${reviews}::text[])
        ORDER BY "createdAt" DESC, "id" DESC
        LIMIT ${search.count} OFFSET ${search.offset}`;
      if (rows.length > 0) return { total: Number(rows[0]!.total), studyIds: rows.map((r) => r.id) };
      // past the last page the window count is not there: count on its own
      if (search.offset === 0) return { total: 0, studyIds: [] };
      const all = await searchReports(tenantId, { ...search, count: 1, offset: 0 });
      return { total: all.total, studyIds: [] };
    },
  };
}

export type FhirReadRepository = ReturnType<typeof createFhirReadRepository>;
