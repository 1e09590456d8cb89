// Per-request DataLoaders: every nested field (study→patient, study→images, study→analyses, analysis→result
// rows, review→reviewer, …) is fetched with one repository batch call per field per request, whatever the page
// size. Every batch filters on the caller's tenant, so a loader can never return another tenant's row.
import DataLoader from "dataloader";
import type { Repositories } from "../../../../lib/db/index.ts";
import type { CursorKey } from "../../../../lib/db/repositories/pagination.ts";
import type { BoxGeometry } from "../../../../lib/db/repositories/results.ts";
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

const orNull = <T>(rows: (T | undefined)[]): (T | null)[] => rows.map((r) => r ?? null);

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

export function createLoaders(repos: Repositories, tenantId: string) {
  const patient = new DataLoader<string, PatientModel | null>(async (ids) => orNull(await repos.patients.findManyByIds(tenantId, ids)));
  const study = new DataLoader<string, StudyModel | null>(async (ids) => orNull(await repos.studies.findManyByIds(tenantId, ids)));
  const image = new DataLoader<string, ImageModel | null>(async (ids) => orNull(await repos.images.findManyByIds(tenantId, ids)));
  const analysis = new DataLoader<string, AnalysisModel | null>(async (ids) => orNull(await repos.analyses.findManyByIds(tenantId, ids)));
  const imagesByStudy = new DataLoader<string, ImageModel[]>((ids) => repos.images.listByStudyIds(tenantId, ids));
  const analysesByStudy = new DataLoader<string, AnalysisModel[]>((ids) => repos.analyses.listByStudyIds(tenantId, ids));
  const findingsByAnalysis = new DataLoader<string, FindingModel[]>((ids) => repos.results.findingsByAnalysisIds(tenantId, ids));
  const boxesByAnalysis = new DataLoader<string, BoxRow[]>((ids) => repos.results.boxesByAnalysisIds(tenantId, ids));
  // boxes and regions without the heatmaps (LocalizationResult.heatmaps reads the whole rows through boxesByAnalysis)
  const boxGeometryByAnalysis = new DataLoader<string, BoxGeometry[]>((ids) => repos.results.boxGeometryByAnalysisIds(tenantId, ids));
  const reportByAnalysis = new DataLoader<string, ReportModel | null>(async (ids) =>
    (await repos.results.reportsByAnalysisIds(tenantId, ids)).map((r) => (r ? { __typename: "Report" as const, ...r } : null)),
  );
  const vqaByAnalysis = new DataLoader<string, VqaAnswerModel | null>(async (ids) =>
    (await repos.results.vqaByAnalysisIds(tenantId, ids)).map((r) => (r ? { __typename: "VqaAnswer" as const, ...r } : null)),
  );
  const reviewsByAnalysis = new DataLoader<string, ReviewModel[]>((ids) => repos.reviews.listByAnalysisIds(tenantId, ids));
  const deliveriesByStudy = new DataLoader<string, DeliveryModel[]>((ids) => repos.deliveries.listByStudyIds(tenantId, ids));
  const user = new DataLoader<string, UserRow | null>(async (ids) => orNull(await repos.users.findManyInTenant(tenantId, ids)));
  const tenant = new DataLoader<string, { id: string; name: string } | null>(async (ids) =>
    // only the caller's own tenant is readable
    orNull(await repos.tenants.findManyByIds(ids.map((id) => (id === tenantId ? id : "")))),
  );
  // Patient.studies(first, after): one loader per distinct (first, after), each batch one window query.
  const studiesPages = new Map<string, DataLoader<string, StudyModel[]>>();
  const studiesOfPatient = (limit: number, after: CursorKey | null) => {
    const key = `${limit}|${after ? `${after.at.toISOString()}|${after.id}` : ""}`;
    let loader = studiesPages.get(key);
    if (!loader) {
      loader = new DataLoader<string, StudyModel[]>(async (ids) =>
        groupBy(await repos.listings.studiesForPatients(tenantId, ids, limit, after), ids, (r) => r.patientId),
      );
      studiesPages.set(key, loader);
    }
    return loader;
  };
  const studyCountOfPatient = new DataLoader<string, number>(async (ids) => {
    const counts = await repos.listings.countStudiesForPatients(tenantId, ids);
    return ids.map((id) => counts.get(id) ?? 0);
  });
  // Worker heartbeats are few and not tenant data: one query per request, shared by every ModelVersion.workers.
  let workers: Promise<WorkerModel[]> | null = null;
  const allWorkers = () => (workers ??= repos.heartbeats.list());

  return {
    patient,
    study,
    image,
    analysis,
    imagesByStudy,
    analysesByStudy,
    findingsByAnalysis,
    boxesByAnalysis,
    boxGeometryByAnalysis,
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
