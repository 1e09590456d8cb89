// Patients and studies. Every method takes the tenantId and filters on it: another tenant's row is "not found".
import type { Patient, PrismaClient, Study, StudyStatus } from "../generated/client.ts";
import { ConflictError, NotFoundError } from "../../errors/index.ts";
import { isUniqueViolation } from "../client.ts";
import { groupByKey, orderByIds, pageQuery, toPage, type Page, type PageArgs } from "./pagination.ts";

const newestFirst = [{ createdAt: "desc" as const }, { id: "desc" as const }];

export interface PatientInput {
  tenantId: string;
  mrn: string;
  name?: string | null;
  birthYear?: number | null;
  sex?: string | null;
}

export function createPatientRepository(prisma: PrismaClient) {
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
      return orderByIds(ids, await prisma.patient.findMany({ where: { tenantId, id: { in: [...ids] } } }));
    },
    async list(tenantId: string, args: PageArgs & { mrn?: string } = {}): Promise<Page<Patient>> {
      const rows = await prisma.patient.findMany({
        where: { tenantId, ...(args.mrn ? { mrn: args.mrn } : {}) },
        orderBy: newestFirst,
        ...pageQuery(args),
      });
      return toPage(rows, args);
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
    /** Studies per patient, newest first, for a DataLoader keyed by patient id. */
    async listByPatientIds(tenantId: string, patientIds: readonly string[]): Promise<Study[][]> {
      const rows = await prisma.study.findMany({ where: { tenantId, patientId: { in: [...patientIds] } }, orderBy: newestFirst });
      return groupByKey(patientIds, rows, (row) => row.patientId);
    },
    async list(tenantId: string, args: PageArgs & StudyFilter = {}): Promise<Page<Study>> {
      const rows = await prisma.study.findMany({
        where: {
          tenantId,
          ...(args.status ? { status: args.status } : {}),
          ...(args.patientId ? { patientId: args.patientId } : {}),
          ...(args.accession ? { accession: args.accession } : {}),
        },
        orderBy: newestFirst,
        ...pageQuery(args),
      });
      return toPage(rows, args);
    },
    /**
     * "Studies with finding X above p": studies having a finding result for `label` with probability >= minProbability,
     * newest first. Uses the (tenantId, label, probability) index on FindingResult.
     */
    async listWithFinding(
      tenantId: string,
      finding: { label: string; minProbability: number },
      args: PageArgs & StudyFilter = {},
    ): Promise<Page<Study>> {
      const rows = await prisma.study.findMany({
        where: {
          tenantId,
          ...(args.status ? { status: args.status } : {}),
          ...(args.patientId ? { patientId: args.patientId } : {}),
          analyses: {
            // an ABSTAIN analysis read no chest radiograph: its probabilities are not findings
            some: {
              // (spelled out: SQL's <> drops the NULL level of analyses from before the assessment)
              OR: [{ reliabilityLevel: null }, { reliabilityLevel: { not: "ABSTAIN" } }],
              findings: { some: { tenantId, label: finding.label, probability: { gte: finding.minProbability } } },
            },
          },
        },
        orderBy: newestFirst,
        ...pageQuery(args),
      });
      return toPage(rows, args);
    },
    async setStatus(tenantId: string, id: string, status: StudyStatus): Promise<boolean> {
      const { count } = await prisma.study.updateMany({ where: { id, tenantId }, data: { status } });
      return count === 1;
    },
  };
}
