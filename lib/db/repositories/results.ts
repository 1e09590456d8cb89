// Result writers of single analyses and the batch readers of results. Writing goes through the one job writer
// (job-results.ts): idempotent, one transaction, set-based SQL.
import type {
  FindingResult,
  LocalizationBox,
  PrismaClient,
  ReportResult,
  ReportSentence,
  VqaAnswer,
  Analysis,
} from "../generated/client.ts";
import type { TopicNames } from "../../events/index.ts";
import type { Dedupe, Provenance } from "./analyses.ts";
import { createJobResultRepository, type JobResult } from "./job-results.ts";
import { groupByKey } from "./pagination.ts";

export type {
  BoxInput,
  FindingInput,
  GroundedRegion,
  ReliabilityInput,
  ReliabilityLevel,
  ReportInput,
  ReportSentenceInput,
  VqaInput,
} from "./result-inputs.ts";
import type { BoxInput, FindingInput, ReliabilityInput, ReportInput, VqaInput } from "./result-inputs.ts";

export interface WriteOptions {
  /** also record this consumed message as processed, in the same transaction */
  dedupe?: Dedupe;
  /** stored on the analysis with the result */
  reliability?: ReliabilityInput;
}

export interface WriteOutcome {
  /** false: nothing written (already SUCCEEDED, cancelled/failed meanwhile, or a duplicate message) */
  applied: boolean;
  status: Analysis["status"];
}

export type ReportWithSentences = ReportResult & { sentences: ReportSentence[] };

// Single-analysis writers (tests, seeding, tools): a job of one through the one writer, lib/db/repositories/job-results.ts.
export function createResultRepository(prisma: PrismaClient, topics: TopicNames) {
  const jobs = createJobResultRepository(prisma, topics);
  async function writeOne(result: JobResult, provenance: Provenance, options: WriteOptions): Promise<WriteOutcome> {
    const outcome = await jobs.writeJob({
      provenance,
      succeeded: [{ ...result, ...(options.reliability ? { reliability: options.reliability } : {}) }],
      ...(options.dedupe ? { dedupe: options.dedupe } : {}),
    });
    return { applied: outcome.applied.includes(result.analysisId), status: outcome.statuses.get(result.analysisId)! };
  }

  return {
    writeClassification: (analysisId: string, provenance: Provenance, findings: FindingInput[], options: WriteOptions = {}) =>
      writeOne({ analysisId, task: "CLASSIFICATION", findings }, provenance, options),
    writeLocalization: (analysisId: string, provenance: Provenance, boxes: BoxInput[], options: WriteOptions = {}) =>
      writeOne({ analysisId, task: "LOCALIZATION", boxes }, provenance, options),
    writeReport: (analysisId: string, provenance: Provenance, report: ReportInput, options: WriteOptions = {}) =>
      writeOne({ analysisId, task: "REPORT", report }, provenance, options),
    writeVqa: (analysisId: string, provenance: Provenance, vqa: VqaInput, options: WriteOptions = {}) =>
      writeOne({ analysisId, task: "VQA", vqa }, provenance, options),

    // Batch readers (DataLoader-friendly: one query for many analyses, results in key order).
    async findingsByAnalysisIds(tenantId: string, analysisIds: readonly string[]): Promise<FindingResult[][]> {
      const rows = await prisma.findingResult.findMany({
        where: { tenantId, analysisId: { in: [...analysisIds] } },
        orderBy: [{ probability: "desc" }, { label: "asc" }],
      });
      return groupByKey(analysisIds, rows, (row) => row.analysisId);
    },
    async boxesByAnalysisIds(tenantId: string, analysisIds: readonly string[]): Promise<LocalizationBox[][]> {
      const rows = await prisma.localizationBox.findMany({
        where: { tenantId, analysisId: { in: [...analysisIds] } },
        orderBy: [{ label: "asc" }, { rank: "asc" }],
      });
      return groupByKey(analysisIds, rows, (row) => row.analysisId);
    },
    async reportsByAnalysisIds(tenantId: string, analysisIds: readonly string[]): Promise<(ReportWithSentences | undefined)[]> {
      const rows = await prisma.reportResult.findMany({
        where: { tenantId, analysisId: { in: [...analysisIds] } },
        include: { sentences: { orderBy: { index: "asc" } } },
      });
      const byAnalysis = new Map(rows.map((row) => [row.analysisId, row]));
      return analysisIds.map((id) => byAnalysis.get(id));
    },
    async vqaByAnalysisIds(tenantId: string, analysisIds: readonly string[]): Promise<(VqaAnswer | undefined)[]> {
      const rows = await prisma.vqaAnswer.findMany({ where: { tenantId, analysisId: { in: [...analysisIds] } } });
      const byAnalysis = new Map(rows.map((row) => [row.analysisId, row]));
      return analysisIds.map((id) => byAnalysis.get(id));
    },
  };
}
