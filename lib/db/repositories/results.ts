// Typed result writers (one per task) and batch readers. Writers are idempotent: in one transaction they lock
// the analysis row, write nothing when it is already SUCCEEDED (a redelivered message), replace any rows for
// the analysis, mark it SUCCEEDED with its provenance and enqueue AnalysisCompleted. Unique indexes on
// analysisId (+label/rank/index) make a duplicate impossible even if this logic were bypassed.
import type {
  AnalysisTask,
  FindingResult,
  LocalizationBox,
  PrismaClient,
  ReportResult,
  ReportSentence,
  VqaAnswer,
  Analysis,
} from "../generated/client.ts";
import type { Tx } from "../client.ts";
import { NotFoundError, ValidationError } from "../../errors/index.ts";
import type { TopicNames } from "../../events/index.ts";
import { enqueueCompleted, recordProcessed, refreshStudyStatus, type Dedupe, type Provenance } from "./analyses.ts";
import { groupByKey } from "./pagination.ts";

export interface GroundedRegion {
  region: string;
  score: number;
}

export interface FindingInput {
  label: string;
  /** the reported (calibrated or derived) probability that threshold applies to */
  probability: number;
  /** the classification head's own output */
  rawProbability?: number | null;
  threshold: number;
  /** defaults to probability >= threshold */
  positive?: boolean;
  regions: GroundedRegion[];
  topRegion?: string | null;
  knowledgeSentence?: string | null;
  /** defaults to false: nothing is validated on real films unless the bundle says so */
  validatedOnRealData?: boolean;
}

export interface BoxInput {
  label: string;
  rank?: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  heatmapKey?: string | null;
  /** row-major heatmap values (heatmapWidth x heatmapHeight) */
  heatmap?: number[] | null;
  heatmapWidth?: number | null;
  heatmapHeight?: number | null;
}

export interface ReportSentenceInput {
  index: number;
  section?: "FINDINGS" | "IMPRESSION";
  text: string;
  regions: GroundedRegion[];
  labels: string[];
  uncertain?: boolean;
  uncertainReason?: string | null;
}

export interface ReportInput {
  findingsText: string;
  impressionText: string;
  decoding: string;
  sentences: ReportSentenceInput[];
}

export interface VqaInput {
  question: string;
  answer: string;
  confidence: number;
  answerType: "CLOSED" | "OPEN";
  regions: GroundedRegion[];
  /** false when a blank image of the same size gets the same answer (default true) */
  imageBased?: boolean;
}

export type ReliabilityLevel = "OK" | "CAUTION" | "ABSTAIN";

/** The worker's reliability assessment of the analysed image (model bundle contract, format version 2). */
export interface ReliabilityInput {
  level: ReliabilityLevel;
  score: number;
  reasons: { code: string; message: string }[];
  frontalProbability: number | null;
  oodDistance: number | null;
}

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

function checkFinite(field: string, value: number): void {
  if (!Number.isFinite(value)) throw new ValidationError(`${field} must be a finite number`, { field });
}

function reliabilityColumns(r: ReliabilityInput | undefined) {
  if (!r) return {};
  checkFinite("reliability score", r.score);
  for (const [field, v] of [
    ["frontalProbability", r.frontalProbability],
    ["oodDistance", r.oodDistance],
  ] as const)
    if (v !== null) checkFinite(field, v);
  return {
    reliabilityLevel: r.level,
    reliabilityScore: r.score,
    reliabilityReasons: r.reasons.map((x) => ({ code: x.code, message: x.message })),
    frontalProbability: r.frontalProbability,
    oodDistance: r.oodDistance,
  };
}

export function createResultRepository(prisma: PrismaClient, topics: TopicNames) {
  async function writeResult(
    analysisId: string,
    task: AnalysisTask,
    provenance: Provenance,
    options: WriteOptions,
    write: (tx: Tx, analysis: Analysis) => Promise<void>,
  ): Promise<WriteOutcome> {
    const reliability = reliabilityColumns(options.reliability);
    return prisma.$transaction(
      async (tx) => {
        const locked = await tx.$queryRaw<
          { status: string }[]
        >`SELECT "status"::text AS status FROM "Analysis" WHERE "id" = ${analysisId} FOR UPDATE`;
        if (locked.length === 0) throw new NotFoundError("Analysis", analysisId);
        const status = locked[0]!.status as Analysis["status"];
        if (status !== "QUEUED" && status !== "RUNNING") {
          await recordProcessed(tx, options.dedupe);
          return { applied: false, status };
        }
        if (!(await recordProcessed(tx, options.dedupe))) return { applied: false, status };
        const analysis = (await tx.analysis.findUnique({ where: { id: analysisId } }))!;
        if (analysis.task !== task) throw new ValidationError(`analysis ${analysisId} is a ${analysis.task} analysis, not ${task}`);
        await write(tx, analysis);
        const done = await tx.analysis.update({
          where: { id: analysisId },
          data: {
            status: "SUCCEEDED",
            finishedAt: new Date(),
            errorCode: null,
            errorMessage: null,
            modelName: provenance.modelName,
            modelVersion: provenance.modelVersion,
            bundleSha256: provenance.bundleSha256,
            ...reliability,
          },
        });
        await enqueueCompleted(tx, done, topics);
        await refreshStudyStatus(tx, done.studyId);
        return { applied: true, status: done.status };
      },
      { timeout: 30_000 },
    );
  }

  return {
    async writeClassification(analysisId: string, provenance: Provenance, findings: FindingInput[], options: WriteOptions = {}) {
      for (const finding of findings) {
        checkFinite(`probability of ${finding.label}`, finding.probability);
        if (finding.rawProbability != null) checkFinite(`raw probability of ${finding.label}`, finding.rawProbability);
        checkFinite(`threshold of ${finding.label}`, finding.threshold);
      }
      return writeResult(analysisId, "CLASSIFICATION", provenance, options, async (tx, analysis) => {
        await tx.findingResult.deleteMany({ where: { analysisId } });
        await tx.findingResult.createMany({
          data: findings.map((finding) => ({
            tenantId: analysis.tenantId,
            analysisId,
            studyId: analysis.studyId,
            label: finding.label,
            probability: finding.probability,
            rawProbability: finding.rawProbability ?? null,
            threshold: finding.threshold,
            positive: finding.positive ?? finding.probability >= finding.threshold,
            validatedOnRealData: finding.validatedOnRealData ?? false,
            regions: finding.regions as object[],
            topRegion: finding.topRegion ?? finding.regions[0]?.region ?? null,
            knowledgeSentence: finding.knowledgeSentence ?? null,
          })),
        });
      });
    },

    async writeLocalization(analysisId: string, provenance: Provenance, boxes: BoxInput[], options: WriteOptions = {}) {
      for (const box of boxes)
        for (const key of ["x1", "y1", "x2", "y2", "score"] as const) checkFinite(`${key} of ${box.label}`, box[key]);
      return writeResult(analysisId, "LOCALIZATION", provenance, options, async (tx, analysis) => {
        await tx.localizationBox.deleteMany({ where: { analysisId } });
        const ranks = new Map<string, number>();
        await tx.localizationBox.createMany({
          data: boxes.map((box) => {
            const rank = box.rank ?? ranks.get(box.label) ?? 0;
            ranks.set(box.label, rank + 1);
            return {
              tenantId: analysis.tenantId,
              analysisId,
              studyId: analysis.studyId,
              label: box.label,
              rank,
              x1: box.x1,
              y1: box.y1,
              x2: box.x2,
              y2: box.y2,
              score: box.score,
              heatmapKey: box.heatmapKey ?? null,
              heatmap: box.heatmap ?? undefined,
              heatmapWidth: box.heatmapWidth ?? null,
              heatmapHeight: box.heatmapHeight ?? null,
            };
          }),
        });
      });
    },

    async writeReport(analysisId: string, provenance: Provenance, report: ReportInput, options: WriteOptions = {}) {
      return writeResult(analysisId, "REPORT", provenance, options, async (tx, analysis) => {
        await tx.reportResult.deleteMany({ where: { analysisId } });
        const created = await tx.reportResult.create({
          data: {
            tenantId: analysis.tenantId,
            analysisId,
            findingsText: report.findingsText,
            impressionText: report.impressionText,
            decoding: report.decoding,
          },
        });
        await tx.reportSentence.createMany({
          data: report.sentences.map((sentence) => ({
            tenantId: analysis.tenantId,
            reportId: created.id,
            index: sentence.index,
            section: sentence.section ?? "FINDINGS",
            text: sentence.text,
            regions: sentence.regions as object[],
            labels: sentence.labels,
            uncertain: sentence.uncertain ?? false,
            uncertainReason: sentence.uncertain ? (sentence.uncertainReason ?? null) : null,
          })),
        });
      });
    },

    async writeVqa(analysisId: string, provenance: Provenance, answer: VqaInput, options: WriteOptions = {}) {
      checkFinite("confidence", answer.confidence);
      return writeResult(analysisId, "VQA", provenance, options, async (tx, analysis) => {
        await tx.vqaAnswer.deleteMany({ where: { analysisId } });
        await tx.vqaAnswer.create({
          data: {
            tenantId: analysis.tenantId,
            analysisId,
            question: answer.question,
            answer: answer.answer,
            confidence: answer.confidence,
            answerType: answer.answerType,
            regions: answer.regions as object[],
            imageBased: answer.imageBased ?? true,
          },
        });
      });
    },

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
        orderBy: [{ score: "desc" }, { label: "asc" }, { rank: "asc" }],
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
