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
import { sqlThroughPrisma, type SqlClient } from "../sql.ts";

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

/** A box as drawn: no id, timestamps or heatmap (boxGeometryByAnalysisIds). */
export type BoxGeometry = Pick<LocalizationBox, "analysisId" | "label" | "rank" | "x1" | "y1" | "x2" | "y2" | "score">;

// Single-analysis writers (tests, seeding, tools): a job of one through the one writer, lib/db/repositories/job-results.ts.
export function createResultRepository(prisma: PrismaClient, topics: TopicNames, sql: SqlClient = sqlThroughPrisma(prisma)) {
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
      const rows = await sql.rows<FindingResult>(
        "findings_by_analyses",
        `SELECT * FROM "FindingResult" WHERE "tenantId" = $1 AND "analysisId" = ANY($2::text[]) ORDER BY probability DESC, label ASC`,
        [tenantId, analysisIds],
      );
      return groupByKey(analysisIds, rows, (row) => row.analysisId);
    },
    async boxesByAnalysisIds(tenantId: string, analysisIds: readonly string[]): Promise<LocalizationBox[][]> {
      const rows = await sql.rows<LocalizationBox>(
        "boxes_by_analyses",
        `SELECT * FROM "LocalizationBox" WHERE "tenantId" = $1 AND "analysisId" = ANY($2::text[]) ORDER BY label ASC, rank ASC`,
        [tenantId, analysisIds],
      );
      return groupByKey(analysisIds, rows, (row) => row.analysisId);
    },
    /**
     * The boxes without their heatmaps, for the fields that draw boxes and regions: a finding's heatmap (a
     * grid² JSON array on its rank-0 row) is most of a box row's bytes, and parsing it for a page of studies
     * that does not ask for heatmaps was a large share of the gateway's CPU.
     */
    async boxGeometryByAnalysisIds(tenantId: string, analysisIds: readonly string[]): Promise<BoxGeometry[][]> {
      const rows = await sql.rows<BoxGeometry>(
        "box_geometry_by_analyses",
        `SELECT "analysisId", label, rank, x1, y1, x2, y2, score FROM "LocalizationBox"
         WHERE "tenantId" = $1 AND "analysisId" = ANY($2::text[]) ORDER BY label ASC, rank ASC`,
        [tenantId, analysisIds],
      );
      return groupByKey(analysisIds, rows, (row) => row.analysisId);
    },
    /** reports with their sentences in one statement (sentences in index order) */
    async reportsByAnalysisIds(tenantId: string, analysisIds: readonly string[]): Promise<(ReportWithSentences | undefined)[]> {
      const rows = await sql.rows<ReportWithSentences>(
        "reports_by_analyses",
        `SELECT r.*, COALESCE((SELECT json_agg(s ORDER BY s.index) FROM "ReportSentence" s WHERE s."reportId" = r.id), '[]'::json) AS sentences
         FROM "ReportResult" r WHERE r."tenantId" = $1 AND r."analysisId" = ANY($2::text[])`,
        [tenantId, analysisIds],
      );
      const byAnalysis = new Map(rows.map((row) => [row.analysisId, row]));
      return analysisIds.map((id) => byAnalysis.get(id));
    },
    async vqaByAnalysisIds(tenantId: string, analysisIds: readonly string[]): Promise<(VqaAnswer | undefined)[]> {
      const rows = await sql.rows<VqaAnswer>(
        "vqa_by_analyses",
        `SELECT * FROM "VqaAnswer" WHERE "tenantId" = $1 AND "analysisId" = ANY($2::text[])`,
        [tenantId, analysisIds],
      );
      const byAnalysis = new Map(rows.map((row) => [row.analysisId, row]));
      return analysisIds.map((id) => byAnalysis.get(id));
    },
  };
}
