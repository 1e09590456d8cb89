// Patients and studies. Every method takes the tenantId and filters on it: another tenant's row is "not found".
import { sqlThroughPrisma, type SqlClient } from "../sql.ts";
import type { Patient, PrismaClient, Study, StudyStatus } from "../generated/client.ts";
import { ConflictError, NotFoundError } from "../../errors/index.ts";
import { isUniqueViolation } from "../client.ts";
import { orderByIds } from "./pagination.ts";

export interface PatientInput {
  tenantId: string;
  mrn: string;
  name?: string | null;
  birthYear?: number | null;
  sex?: string | null;
}

export function createPatientRepository(prisma: PrismaClient, sql: SqlClient = sqlThroughPrisma(prisma)) {
  return {
    async create(input: PatientInput): Promise<Patient> {
      try {
        return await prisma.patient.create({ data: input });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`patient with MRN ${input.mrn} exists`, { field: "mrn" });
        throw error;
      }
    },
    /** Create or return the tenant's patient with this MRN (fields given here update the existing row). */
    upsertByMrn: (input: PatientInput) =>
      prisma.patient.upsert({
        where: { tenantId_mrn: { tenantId: input.tenantId, mrn: input.mrn } },
        create: input,
        update: { name: input.name ?? undefined, birthYear: input.birthYear ?? undefined, sex: input.sex ?? undefined },
      }),
    findById: (tenantId: string, id: string) => prisma.patient.findFirst({ where: { id, tenantId } }),
    findByMrn: (tenantId: string, mrn: string) => prisma.patient.findUnique({ where: { tenantId_mrn: { tenantId, mrn } } }),
    async findManyByIds(tenantId: string, ids: readonly string[]): Promise<(Patient | undefined)[]> {
      const rows = await sql.rows<Patient>("patients_by_ids", `SELECT * FROM "Patient" WHERE "tenantId" = $1 AND id = ANY($2::text[])`, [
        tenantId,
        ids,
      ]);
      return orderByIds(ids, rows);
    },
  };
}

export interface StudyInput {
  tenantId: string;
  patientId: string;
  accession: string;
  modality?: string;
  studyDate?: Date | null;
  description?: string | null;
  studyInstanceUid?: string | null;
  /** PACS: created by the DICOM-in watcher from an instance this calling AE title sent */
  source?: "UPLOAD" | "PACS";
  sourceAet?: string | null;
}

export interface StudyFilter {
  status?: StudyStatus;
  patientId?: string;
  accession?: string;
}

export function createStudyRepository(prisma: PrismaClient) {
  return {
    async create(input: StudyInput): Promise<Study> {
      const patient = await prisma.patient.findFirst({ where: { id: input.patientId, tenantId: input.tenantId } });
      if (!patient) throw new NotFoundError("Patient", input.patientId, { field: "patientId" });
      try {
        return await prisma.study.create({ data: input });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`study with accession ${input.accession} exists`, { field: "accession" });
        throw error;
      }
    },
    findById: (tenantId: string, id: string) => prisma.study.findFirst({ where: { id, tenantId } }),
    findByAccession: (tenantId: string, accession: string) =>
      prisma.study.findUnique({ where: { tenantId_accession: { tenantId, accession } } }),
    async findManyByIds(tenantId: string, ids: readonly string[]): Promise<(Study | undefined)[]> {
      return orderByIds(ids, await prisma.study.findMany({ where: { tenantId, id: { in: [...ids] } } }));
    },
    /** The first image's DICOM Study Instance UID becomes the study's, unless it has one. */
    async setInstanceUidIfMissing(tenantId: string, id: string, studyInstanceUid: string): Promise<void> {
      await prisma.study.updateMany({ where: { id, tenantId, studyInstanceUid: null }, data: { studyInstanceUid } });
    },
    async setStatus(tenantId: string, id: string, status: StudyStatus): Promise<boolean> {
      const { count } = await prisma.study.updateMany({ where: { id, tenantId }, data: { status } });
      return count === 1;
    },
  };
}
