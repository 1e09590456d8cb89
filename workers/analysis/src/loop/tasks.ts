// One analysis task on one encoded image: run the engine's head for the task and map its result to the rows of
// lib/db's job writer. Engine results keep more than the tables (e.g. region boxes of a grounding): the extra
// fields go into the JSON columns so the console can draw them.
import type { AnalysisTaskName } from "../../../../lib/events/index.ts";
import type { Provenance } from "../../../../lib/db/repositories/analyses.ts";
import type { JobResult } from "../../../../lib/db/repositories/job-results.ts";
import type {
  BoxInput,
  FindingInput,
  GroundedRegion,
  ReliabilityInput,
  ReportInput,
  VqaInput,
} from "../../../../lib/db/repositories/result-inputs.ts";
import { ValidationError } from "../../../../lib/errors/index.ts";
import type { Engine } from "../inference/engine.ts";
import type {
  ClassificationResult,
  EncodedImage,
  GroundedRegion as EngineRegion,
  LocalizationResult,
  Reliability,
  ReportResult,
  SentenceLink,
  VqaResult,
} from "../inference/types.ts";

export type TaskResult = ClassificationResult | LocalizationResult | ReportResult | VqaResult;

export interface TaskRequest {
  task: AnalysisTaskName;
  /** VQA: the question; LOCALIZATION: optionally one finding label to localize */
  question: string | null;
}

/** The engine's label spelling for a user-typed finding name ("pleural effusion" → "Pleural Effusion"). */
function resolveFinding(engine: Engine, name: string): string {
  const wanted = name.trim().toLowerCase();
  const label = engine.bundle.manifest.labels.find((l) => l.toLowerCase() === wanted);
  if (!label)
    throw new ValidationError(`unknown finding "${name}" for localization (the model knows: ${engine.bundle.manifest.labels.join(", ")})`, {
      field: "question",
    });
  return label;
}

export async function runTask(engine: Engine, encoded: EncodedImage, request: TaskRequest): Promise<TaskResult> {
  switch (request.task) {
    case "CLASSIFICATION":
      return engine.classify(encoded);
    case "LOCALIZATION":
      return engine.localize(encoded, request.question ? { findings: [resolveFinding(engine, request.question)] } : {});
    case "REPORT":
      return engine.report(encoded);
    case "VQA":
      if (!request.question) throw new ValidationError("a VQA analysis has no question", { field: "question" });
      return engine.vqa(encoded, request.question);
  }
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

const groundedRegion = (r: EngineRegion): GroundedRegion & { box: number[] } => ({ region: r.region, score: round4(r.weight), box: r.box });

/** Sentence/question links have no weight: a named region counts fully, one reached through a finding half. */
const linkedRegion = (l: SentenceLink): GroundedRegion & { via: string; finding?: string; box: number[] } => ({
  region: l.region,
  score: l.via === "mention" ? 1 : 0.5,
  via: l.via,
  ...(l.finding ? { finding: l.finding } : {}),
  box: l.box,
});

export function classificationRows(result: ClassificationResult): FindingInput[] {
  return result.findings.map((f) => ({
    label: f.label,
    probability: f.probability,
    rawProbability: f.rawProbability,
    threshold: f.threshold,
    positive: f.positive,
    validatedOnRealData: f.validatedOnRealData,
    regions: f.regions.map(groundedRegion),
    topRegion: f.regions[0]?.region ?? null,
    knowledgeSentence: f.knowledge,
  }));
}

/** One row per connected component (rank 0 = best); the finding's heatmap rides on its rank-0 row. */
export function localizationRows(result: LocalizationResult): BoxInput[] {
  const rows: BoxInput[] = [];
  for (const f of result.findings) {
    f.boxes.forEach((b, rank) => {
      rows.push({
        label: f.label,
        rank,
        x1: b.box[0],
        y1: b.box[1],
        x2: b.box[2],
        y2: b.box[3],
        score: round4(b.score),
        ...(rank === 0 ? { heatmap: f.heatmap.values, heatmapWidth: f.heatmap.grid, heatmapHeight: f.heatmap.grid } : {}),
      });
    });
  }
  // The region head's anatomical boxes, stored beside the finding boxes under a `region:` label so that
  // the API can draw regions and link report sentences to them (LocalizationResult.regions).
  for (const { region, box } of result.regions) {
    rows.push({ label: `region:${region}`, rank: 0, x1: box[0], y1: box[1], x2: box[2], y2: box[3], score: 1 });
  }
  return rows;
}

export function reportRows(result: ReportResult): ReportInput {
  return {
    findingsText: result.findings ?? (result.impression === null ? result.text : ""),
    impressionText: result.impression ?? "",
    decoding: result.decoding.method === "beam" ? `beam:${result.decoding.beamSize}` : "greedy",
    sentences: result.sentences.map((s, index) => ({
      index,
      section: s.section === "impression" ? "IMPRESSION" : "FINDINGS",
      text: s.text,
      regions: s.regions.map(linkedRegion),
      // negated mentions ("no pneumothorax") are not findings of the sentence
      labels: s.labels.filter((l) => !l.negated).map((l) => l.label),
      uncertain: s.uncertain,
      uncertainReason: s.uncertainReason,
    })),
  };
}

export function vqaRow(result: VqaResult): VqaInput {
  return {
    question: result.question,
    answer: result.answer,
    confidence: round4(result.confidence),
    answerType: result.questionType === "closed" ? "CLOSED" : "OPEN",
    regions: result.regions.map(linkedRegion),
    imageBased: result.imageBased,
    answeredFrom: result.basis.kind === "finding" ? "FINDING" : "VQA_HEAD",
    answeredFromFinding: result.basis.kind === "finding" ? result.basis.label : null,
  };
}

/** The image's reliability as stored on the analysis (every task carries the same one). */
export function reliabilityRow(r: Reliability): ReliabilityInput {
  return {
    level: r.level,
    score: round4(r.score),
    reasons: r.reasons.map((x) => ({ code: x.code, message: x.message })),
    frontalProbability: r.frontalProbability === null ? null : round4(r.frontalProbability),
    oodDistance: r.oodDistance === null ? null : round4(r.oodDistance),
  };
}

export function provenanceOf(engine: Engine): Provenance {
  return { modelName: engine.model.name, modelVersion: engine.model.version, bundleSha256: engine.model.bundleHash };
}

/** The job writer's input for one analysis's engine result (rows of its task + the image's reliability). */
export function jobResultOf(analysisId: string, result: TaskResult): JobResult {
  const reliability = reliabilityRow(result.reliability);
  switch (result.task) {
    case "classification":
      return { analysisId, reliability, task: "CLASSIFICATION", findings: classificationRows(result) };
    case "localization":
      return { analysisId, reliability, task: "LOCALIZATION", boxes: localizationRows(result) };
    case "report":
      return { analysisId, reliability, task: "REPORT", report: reportRows(result) };
    case "vqa":
      return { analysisId, reliability, task: "VQA", vqa: vqaRow(result) };
  }
}
