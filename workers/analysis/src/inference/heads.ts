/**
 * The task heads on top of cached encoder features: classification, localization and VQA.
 * Each runs its graph at batch 1 (the heads are cheap next to the encoder, which is batched).
 */
import type { GraphSession, TensorData } from "../runtime/sessions.ts";
import { InferenceError } from "../bundle/errors.ts";
import type { Manifest } from "../bundle/manifest.ts";
import { logit, sigmoid, type FinalProbability } from "./calibration.ts";
import { feature, toOrt } from "./encoder.ts";
import { squareExtent } from "./geometry.ts";
import type { Grounding } from "./grounding.ts";
import { extentBox, heatmapToBoxes } from "./heatmap.ts";
import type { WordPieceTokenizer } from "./tokenizer.ts";
import type { EncodedImage, FindingResult, LocalizedFinding, SentenceLink, VqaBasis } from "./types.ts";

export async function runHead(
  session: GraphSession,
  graph: string,
  feeds: Record<string, TensorData>,
  output: string,
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  try {
    const out = await session.run(feeds);
    const t = out[output];
    if (!t) throw new Error(`output ${output} missing`);
    return { data: t.data as Float32Array, dims: t.dims };
  } catch (e) {
    throw new InferenceError("INFERENCE_FAILED", `${graph} failed: ${(e as Error).message}`, { retriable: true, cause: e });
  }
}

/**
 * The classifier's raw probability per label: the classification head's, or with an ensemble (the
 * encoder then adds the other members' member_logits to the features) the mean of all M members' logits,
 * p_k = sigmoid((logit(p0_k) + sum_j member_logits[j, k]) / M). Every reported number starts here.
 */
export async function probabilities(session: GraphSession, enc: EncodedImage): Promise<Float32Array> {
  const { data } = await runHead(
    session,
    "classification_head",
    { global_embedding: toOrt(feature(enc, "global_embedding")), knowledge_tokens: toOrt(feature(enc, "knowledge_tokens")) },
    "probabilities",
  );
  const members = enc.features.member_logits;
  if (!members) return data;
  const others = members.dims[1]!;
  const labels = data.length;
  if (members.data.length !== others * labels)
    throw new InferenceError("INFERENCE_FAILED", `member_logits has ${members.data.length} values for ${labels} labels`);
  const combined = new Float32Array(labels);
  for (let k = 0; k < labels; k++) {
    let z = logit(data[k]!);
    for (let j = 0; j < others; j++) z += members.data[j * labels + k]!;
    combined[k] = sigmoid(z / (others + 1));
  }
  return combined;
}

/** Findings from the reported probabilities (calibration.ts): thresholds apply to them, the raw value is kept beside. */
export function classifyImage(
  m: Manifest,
  g: Grounding,
  enc: EncodedImage,
  finals: readonly FinalProbability[],
  validated: ReadonlySet<string>,
): FindingResult[] {
  const sentences = new Map(m.knowledge.map((k) => [k.label, k.sentence]));
  return m.labels.map((label, k) => {
    const f = finals[k]!;
    const threshold = m.thresholds[label]!;
    return {
      label,
      probability: f.probability,
      rawProbability: f.raw,
      probabilitySource: f.source,
      threshold,
      positive: f.probability >= threshold,
      validatedOnRealData: validated.has(label),
      regions: g.groundedRegions(enc, k),
      knowledge: sentences.get(label) ?? null,
    };
  });
}

/** Raw heatmaps [labels, grid, grid] for one image. */
export async function heatmaps(session: GraphSession, enc: EncodedImage): Promise<{ data: Float32Array; grid: number }> {
  const { data, dims } = await runHead(
    session,
    "localization_head",
    { patch_tokens: toOrt(feature(enc, "patch_tokens")), knowledge_tokens: toOrt(feature(enc, "knowledge_tokens")) },
    "heatmaps",
  );
  return { data, grid: dims[dims.length - 1]! };
}

export async function localizeImage(
  session: GraphSession,
  m: Manifest,
  enc: EncodedImage,
  opts: { findings?: readonly string[]; maxBoxes: number; probabilities?: ArrayLike<number> },
): Promise<LocalizedFinding[]> {
  const wanted = opts.findings ?? m.labels.filter((l) => l !== "No Finding");
  for (const f of wanted) if (!m.labels.includes(f)) throw new InferenceError("INPUT_INVALID", `unknown finding "${f}"`);
  const { data, grid } = await heatmaps(session, enc);
  const cells = grid * grid;
  const extent = squareExtent(enc.letterbox);
  const { heatmap_threshold: t, threshold_mode: mode, min_box_area_frac: minAreaFrac } = m.localization;
  return wanted.map((label) => {
    const k = m.labels.indexOf(label);
    const values = data.subarray(k * cells, (k + 1) * cells);
    let maxScore = 0;
    for (const v of values) maxScore = Math.max(maxScore, v);
    const threshold = mode === "relative_to_max" ? t * maxScore : t;
    const boxes = maxScore > 0 ? heatmapToBoxes(values, grid, enc.letterbox, { threshold, minAreaFrac, maxBoxes: opts.maxBoxes }) : [];
    const p = opts.probabilities?.[k];
    return {
      label,
      ...(p === undefined ? {} : { probability: p, positive: p >= m.thresholds[label]! }),
      maxScore,
      threshold,
      box: maxScore > 0 ? extentBox(values, grid, enc.letterbox, threshold) : null,
      boxes,
      heatmap: { grid, values: Array.from(values, (v) => Math.round(v * 1000) / 1000), extent },
    };
  });
}

const CLOSED_STARTS = new Set(["is", "are", "does", "do", "can", "was", "were", "has", "have"]);

export function isClosedQuestion(question: string): boolean {
  const first = question
    .trim()
    .toLowerCase()
    .match(/^[a-z]+/)?.[0];
  return first !== undefined && CLOSED_STARTS.has(first);
}

export interface VqaAnswer {
  questionType: "closed" | "open";
  answer: string;
  confidence: number;
  alternatives: { answer: string; probability: number }[];
  regions: SentenceLink[];
  basis: VqaBasis;
}

export async function answerQuestion(
  session: GraphSession,
  m: Manifest,
  tok: WordPieceTokenizer,
  g: Grounding,
  enc: EncodedImage,
  question: string,
): Promise<VqaAnswer> {
  if (!question.trim()) throw new InferenceError("INPUT_INVALID", "VQA question is empty");
  const T = m.tokenizer.question_max_length;
  const q = tok.encode(question, T);
  const { data } = await runHead(
    session,
    "vqa_head",
    {
      question_ids: { type: "int64", data: BigInt64Array.from(q.ids, BigInt), dims: [1, T] },
      question_mask: { type: "int64", data: BigInt64Array.from(q.mask, BigInt), dims: [1, T] },
      patch_tokens: toOrt(feature(enc, "patch_tokens")),
      knowledge_tokens: toOrt(feature(enc, "knowledge_tokens")),
    },
    "answer_logits",
  );
  const closed = isClosedQuestion(question) && m.closed_answers.length > 0;
  const allowed = closed ? m.closed_answers.map((a) => m.answers.indexOf(a)) : m.answers.map((_, i) => i);
  // Softmax over the allowed answers only (a closed question cannot be answered "left").
  const max = Math.max(...allowed.map((i) => data[i]!));
  const exps = allowed.map((i) => Math.exp(data[i]! - max));
  const z = exps.reduce((a, b) => a + b, 0);
  const ranked = allowed
    .map((i, j) => ({ answer: m.answers[i]!, probability: exps[j]! / z }))
    .sort((a, b) => b.probability - a.probability);
  return {
    questionType: closed ? "closed" : "open",
    answer: ranked[0]!.answer,
    confidence: ranked[0]!.probability,
    alternatives: ranked.slice(0, 5),
    regions: g.link(enc, question).regions,
    basis: { kind: "vqa_head" },
  };
}
