// Pages of studies and patients, newest first, keyset-paginated over (createdAt, id): the one pagination scheme
// (lib/db/repositories/pagination.ts; the API encodes the key as an opaque cursor). Also the batch page of
// studies for many patients (Patient.studies in a patients page) and the "studies with finding X above p"
// filter, each as one SQL query. Every method takes the tenant id first and filters on it.
import { Prisma, type PrismaClient, type Patient, type StudyStatus } from "../generated/client.ts";
import { afterWhere, type CursorKey } from "./pagination.ts";
import { sqlThroughPrisma, type SqlClient } from "../sql.ts";

/** A study row as listed (status as its enum text). */
export interface StudyListRow {
  id: string;
  tenantId: string;
  patientId: string;
  accession: string;
  modality: string;
  studyDate: Date | null;
  status: StudyStatus;
  description: string | null;
  studyInstanceUid: string | null;
  createdAt: Date;
}

export interface StudyListFilter {
  patientId?: string | null;
  search?: string | null;
  status?: StudyStatus | null;
  finding?: { label: string; minProbability: number } | null;
}

/** Escapes LIKE wildcards so that a search for "10_3" matches literally. */
function likePrefix(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The WHERE of a studies page or count as constant text per filter shape, with positional parameters: each shape
 * is its own named prepared statement (lib/db/sql.ts), so a page costs no Prisma query compilation (issue 13).
 */
function studyConditions(tenantId: string, filter: StudyListFilter, after: CursorKey | null = null) {
  const values: unknown[] = [];
  const param = (value: unknown) => `$${values.push(value)}`;
  const where = [`s."tenantId" = ${param(tenantId)}`];
  const shape: string[] = [];
  if (filter.patientId) {
    shape.push("patient");
    where.push(`s."patientId" = ${param(filter.patientId)}`);
  }
  if (filter.status) {
    shape.push("status");
    where.push(`s."status" = ${param(filter.status)}::"StudyStatus"`);
  }
  if (filter.search) {
    shape.push("search");
    const prefix = param(likePrefix(filter.search));
    where.push(`(s."accession" LIKE ${prefix} OR EXISTS (
      SELECT 1 FROM "Patient" p WHERE p."id" = s."patientId" AND p."tenantId" = $1 AND p."mrn" LIKE ${prefix}))`);
  }
  if (filter.finding) {
    shape.push("finding");
    // The study's latest successful classification must give the label at least minProbability, and must not
    // have abstained (an ABSTAIN analysis read no chest radiograph: its probabilities are not findings).
    // FindingResult carries tenantId and studyId so this uses the (tenantId, label, probability) index.
    where.push(`EXISTS (
      SELECT 1 FROM "FindingResult" f
      WHERE f."tenantId" = $1 AND f."label" = ${param(filter.finding.label)}
        AND f."probability" >= ${param(filter.finding.minProbability)}::float8 AND f."studyId" = s."id"
        AND NOT EXISTS (SELECT 1 FROM "Analysis" x WHERE x."id" = f."analysisId" AND x."reliabilityLevel" = 'ABSTAIN'::"ReliabilityLevel")
        AND f."analysisId" = (
          SELECT a."id" FROM "Analysis" a
          WHERE a."studyId" = s."id" AND a."tenantId" = $1
            AND a."task" = 'CLASSIFICATION'::"AnalysisTask" AND a."status" = 'SUCCEEDED'::"AnalysisStatus"
          ORDER BY a."finishedAt" DESC NULLS LAST, a."id" DESC LIMIT 1))`);
  }
  if (after) {
    shape.push("after");
    // an ISO string cast to timestamp: the column is UTC without a zone, and pg would send a Date in local time
    where.push(`(s."createdAt", s."id") < (${param(after.at.toISOString())}::timestamp, ${param(after.id)})`);
  }
  return { where: where.join(" AND "), values, shape: shape.join("+") || "all" };
}

async function listStudies(
  sql: SqlClient,
  tenantId: string,
  filter: StudyListFilter,
  limit: number,
  after: CursorKey | null,
): Promise<StudyListRow[]> {
  const { where, values, shape } = studyConditions(tenantId, filter, after);
  const limitParam = `$${values.push(limit + 1)}`;
  return sql.rows<StudyListRow>(
    `studies_page:${shape}`,
    `SELECT s."id", s."tenantId", s."patientId", s."accession", s."modality", s."studyDate", s."status"::text AS "status",
            s."description", s."studyInstanceUid", s."createdAt"
     FROM "Study" s
     WHERE ${where}
     ORDER BY s."createdAt" DESC, s."id" DESC
     LIMIT ${limitParam}::int`,
    values,
  );
}

async function countStudies(sql: SqlClient, tenantId: string, filter: StudyListFilter): Promise<number> {
  const { where, values, shape } = studyConditions(tenantId, filter);
  // count(*) is a bigint: a string through pg, a BigInt through Prisma; Number() reads both
  const rows = await sql.rows<{ n: bigint | string }>(
    `studies_count:${shape}`,
    `SELECT count(*) AS n FROM "Study" s WHERE ${where}`,
    values,
  );
  return Number(rows[0]?.n ?? 0);
}

function patientWhere(tenantId: string, search?: string | null): Prisma.PatientWhereInput {
  return {
    tenantId,
    ...(search ? { OR: [{ mrn: { startsWith: search } }, { name: { contains: search, mode: "insensitive" } }] } : {}),
  };
}

async function listPatients(
  db: PrismaClient,
  tenantId: string,
  search: string | null | undefined,
  limit: number,
  after: CursorKey | null,
): Promise<Patient[]> {
  return db.patient.findMany({
    where: { AND: [patientWhere(tenantId, search), afterWhere(after, "createdAt") as Prisma.PatientWhereInput] },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit + 1,
  });
}

function countPatients(db: PrismaClient, tenantId: string, search?: string | null): Promise<number> {
  return db.patient.count({ where: patientWhere(tenantId, search) });
}

/**
 * One page of studies for each of several patients (Patient.studies inside a patients page), in one query:
 * rows are numbered per patient with a window function and cut at limit + 1.
 */
async function studiesForPatients(
  db: PrismaClient,
  tenantId: string,
  patientIds: readonly string[],
  limit: number,
  after: CursorKey | null,
): Promise<StudyListRow[]> {
  if (patientIds.length === 0) return [];
  const afterSql = after ? Prisma.sql`AND (s."createdAt", s."id") < (${after.at}, ${after.id})` : Prisma.empty;
  return db.$queryRaw<StudyListRow[]>`
    SELECT "id", "tenantId", "patientId", "accession", "modality", "studyDate", "status", "description",
           "studyInstanceUid", "createdAt"
    FROM (
      SELECT s."id", s."tenantId", s."patientId", s."accession", s."modality", s."studyDate", s."status"::text AS "status",
             s."description", s."studyInstanceUid", s."createdAt",
             row_number() OVER (PARTITION BY s."patientId" ORDER BY s."createdAt" DESC, s."id" DESC) AS rn
      FROM "Study" s
      WHERE s."tenantId" = ${tenantId} AND s."patientId" IN (${Prisma.join(patientIds as string[])}) ${afterSql}
    ) ranked
    WHERE rn <= ${limit + 1}
    ORDER BY "createdAt" DESC, "id" DESC`;
}

async function countStudiesForPatients(db: PrismaClient, tenantId: string, patientIds: readonly string[]) {
  const rows = await db.study.groupBy({
    by: ["patientId"],
    where: { tenantId, patientId: { in: [...patientIds] } },
    _count: { _all: true },
  });
  return new Map(rows.map((r) => [r.patientId, r._count._all]));
}

export function createListingRepository(prisma: PrismaClient, sql: SqlClient = sqlThroughPrisma(prisma)) {
  return {
    /** limit + 1 studies after the key (the extra row says whether there is a next page) */
    studies: (tenantId: string, filter: StudyListFilter, limit: number, after: CursorKey | null) =>
      listStudies(sql, tenantId, filter, limit, after),
    countStudies: (tenantId: string, filter: StudyListFilter) => countStudies(sql, tenantId, filter),
    patients: (tenantId: string, search: string | null | undefined, limit: number, after: CursorKey | null) =>
      listPatients(prisma, tenantId, search, limit, after),
    countPatients: (tenantId: string, search?: string | null) => countPatients(prisma, tenantId, search),
    studiesForPatients: (tenantId: string, patientIds: readonly string[], limit: number, after: CursorKey | null) =>
      studiesForPatients(prisma, tenantId, patientIds, limit, after),
    countStudiesForPatients: (tenantId: string, patientIds: readonly string[]) => countStudiesForPatients(prisma, tenantId, patientIds),
  };
}
