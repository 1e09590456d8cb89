// Per-request DataLoaders: every nested field (study→patient, study→images, study→analyses, analysis→result
// rows, review→reviewer, …) is fetched with one query per field per request, whatever the page size.
// Every batch query filters on the caller's tenant, so a loader can never return another tenant's row.
import DataLoader from "dataloader";
import type { Db } from "../repositories-ext/db.ts";
import { studiesForPatients, countStudiesForPatients } from "../repositories-ext/reads.ts";
import type { CursorKey } from "./pagination.ts";
import { createDeliveryRepository } from "../../../../lib/db/repositories/deliveries.ts";
import type {
  AnalysisModel,
  BoxRow,
  DeliveryModel,
  FindingModel,
  ImageModel,
  PatientModel,
  ReportModel,
  ReviewModel,
  Role,
  StudyModel,
  VqaAnswerModel,
  WorkerModel,
} from "./models.ts";

function byId<T extends { id: string }>(rows: T[], ids: readonly string[]): (T | null)[] {
  const map = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => map.get(id) ?? null);
}

function groupBy<T>(rows: T[], keys: readonly string[], keyOf: (row: T) => string): T[][] {
  const map = new Map<string, T[]>(keys.map((k) => [k, []]));
  for (const row of rows) map.get(keyOf(row))?.push(row);
  return keys.map((k) => map.get(k) ?? []);
}

export interface UserRow {
  id: string;
  tenantId: string;
  email: string;
  name: string;
  role: Role;
}

export function createLoaders(db: Db, tenantId: string) {
  const patient = new DataLoader<string, PatientModel | null>(async (ids) =>
    byId(await db.patient.findMany({ where: { tenantId, id: { in: [...ids] } } }), ids),
  );
  const study = new DataLoader<string, StudyModel | null>(async (ids) =>
    byId(await db.study.findMany({ where: { tenantId, id: { in: [...ids] } } }), ids),
  );
  const image = new DataLoader<string, ImageModel | null>(async (ids) =>
    byId(await db.image.findMany({ where: { tenantId, id: { in: [...ids] } } }), ids),
  );
  const analysis = new DataLoader<string, AnalysisModel | null>(async (ids) =>
    byId(await db.analysis.findMany({ where: { tenantId, id: { in: [...ids] } } }), ids),
  );
  const imagesByStudy = new DataLoader<string, ImageModel[]>(async (ids) =>
    groupBy(
      await db.image.findMany({ where: { tenantId, studyId: { in: [...ids] } }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] }),
      ids,
      (r) => r.studyId,
    ),
  );
  const analysesByStudy = new DataLoader<string, AnalysisModel[]>(async (ids) =>
    groupBy(
      await db.analysis.findMany({
        where: { tenantId, studyId: { in: [...ids] } },
        orderBy: [{ requestedAt: "desc" }, { id: "desc" }],
      }),
      ids,
      (r) => r.studyId,
    ),
  );
  const findingsByAnalysis = new DataLoader<string, FindingModel[]>(async (ids) =>
    groupBy(
      await db.findingResult.findMany({
        where: { tenantId, analysisId: { in: [...ids] } },
        orderBy: [{ probability: "desc" }, { label: "asc" }],
      }),
      ids,
      (r) => r.analysisId,
    ),
  );
  const boxesByAnalysis = new DataLoader<string, BoxRow[]>(async (ids) =>
    groupBy(
      await db.localizationBox.findMany({
        where: { tenantId, analysisId: { in: [...ids] } },
        orderBy: [{ label: "asc" }, { rank: "asc" }],
      }),
      ids,
      (r) => r.analysisId,
    ),
  );
  const reportByAnalysis = new DataLoader<string, ReportModel | null>(async (ids) => {
    const reports = await db.reportResult.findMany({ where: { tenantId, analysisId: { in: [...ids] } } });
    const sentences = reports.length
      ? await db.reportSentence.findMany({
          where: { tenantId, reportId: { in: reports.map((r) => r.id) } },
          orderBy: [{ index: "asc" }],
        })
      : [];
    const sentencesBy = groupBy(
      sentences,
      reports.map((r) => r.id),
      (s) => s.reportId,
    );
    const map = new Map(reports.map((r, i) => [r.analysisId, { __typename: "Report" as const, ...r, sentences: sentencesBy[i] ?? [] }]));
    return ids.map((id) => map.get(id) ?? null);
  });
  const vqaByAnalysis = new DataLoader<string, VqaAnswerModel | null>(async (ids) => {
    const rows = await db.vqaAnswer.findMany({ where: { tenantId, analysisId: { in: [...ids] } } });
    const map = new Map(rows.map((r) => [r.analysisId, { __typename: "VqaAnswer" as const, ...r }]));
    return ids.map((id) => map.get(id) ?? null);
  });
  const reviewsByAnalysis = new DataLoader<string, ReviewModel[]>(async (ids) =>
    groupBy(
      await db.review.findMany({
        where: { tenantId, analysisId: { in: [...ids] } },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      }),
      ids,
      (r) => r.analysisId,
    ),
  );
  // through the repository (the one place that reads Delivery rows), tenant-scoped like every other loader
  const deliveriesByStudy = new DataLoader<string, DeliveryModel[]>((ids) => createDeliveryRepository(db).listByStudyIds(tenantId, ids));
  const user = new DataLoader<string, UserRow | null>(async (ids) =>
    byId(
      await db.user.findMany({
        where: { tenantId, id: { in: [...ids] } },
        select: { id: true, tenantId: true, email: true, name: true, role: true },
      }),
      ids,
    ),
  );
  const tenant = new DataLoader<string, { id: string; name: string } | null>(async (ids) =>
    byId(await db.tenant.findMany({ where: { id: { in: [...ids].filter((id) => id === tenantId) } } }), ids),
  );
  // Patient.studies(first, after): one loader per distinct (first, after), each batch one window query.
  const studiesPages = new Map<string, DataLoader<string, StudyModel[]>>();
  const studiesOfPatient = (limit: number, after: CursorKey | null) => {
    const key = `${limit}|${after ? `${after.at.toISOString()}|${after.id}` : ""}`;
    let loader = studiesPages.get(key);
    if (!loader) {
      loader = new DataLoader<string, StudyModel[]>(async (ids) =>
        groupBy(await studiesForPatients(db, tenantId, ids, limit, after), ids, (r) => r.patientId),
      );
      studiesPages.set(key, loader);
    }
    return loader;
  };
  const studyCountOfPatient = new DataLoader<string, number>(async (ids) => {
    const counts = await countStudiesForPatients(db, tenantId, ids);
    return ids.map((id) => counts.get(id) ?? 0);
  });
  // Worker heartbeats are few and not tenant data: one query per request, shared by every ModelVersion.workers.
  let workers: Promise<WorkerModel[]> | null = null;
  const allWorkers = () => (workers ??= db.workerHeartbeat.findMany({ orderBy: [{ lastSeenAt: "desc" }] }));

  return {
    patient,
    study,
    image,
    analysis,
    imagesByStudy,
    analysesByStudy,
    findingsByAnalysis,
    boxesByAnalysis,
    reportByAnalysis,
    vqaByAnalysis,
    reviewsByAnalysis,
    deliveriesByStudy,
    user,
    tenant,
    studiesOfPatient,
    studyCountOfPatient,
    allWorkers,
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
