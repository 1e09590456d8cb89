/**
 * manifest.json of a GK-MVLP bundle (docs/contracts/model-bundle.md), validated with zod.
 *
 * Strict where the worker depends on a value (preprocessing constants, token ids, label/region
 * lists, graph I/O names, file hashes); free-form where the manifest is informational (config,
 * metrics). Every problem is reported at once, each naming its field path.
 */
import { z } from "zod";
import { BundleError } from "./errors.ts";
import {
  anatomyBoxesSchema,
  anatomySchema,
  calibrationSchema,
  checkV2Sections,
  derivedSchema,
  ensembleSchema,
  reliabilitySchema,
  vqaPresenceSchema,
} from "./manifest-v2.ts";
import { mentionRuleProblems, mentionRulesSchema } from "./mention-rules.ts";

export const TASKS = ["classification", "localization", "report", "vqa"] as const;
export type Task = (typeof TASKS)[number];

/** Graph names and the I/O names the engine feeds and reads; checked against manifest and sessions. */
export const GRAPH_IO = {
  image_encoder: {
    inputs: ["pixel_values"],
    outputs: ["global_embedding", "patch_tokens", "region_boxes", "region_tokens", "knowledge_tokens", "grounding_weights"],
  },
  classification_head: { inputs: ["global_embedding", "knowledge_tokens"], outputs: ["probabilities"] },
  localization_head: { inputs: ["patch_tokens", "knowledge_tokens"], outputs: ["heatmaps"] },
  report_decoder_step: {
    inputs: ["token_ids", "position", "memory", "past_keys", "past_values"],
    outputs: ["logits", "present_keys", "present_values"],
  },
  vqa_head: { inputs: ["question_ids", "question_mask", "patch_tokens", "knowledge_tokens"], outputs: ["answer_logits"] },
  /** format version 2: is this a frontal chest radiograph, and how far from the training films (reliability) */
  input_check: { inputs: ["pixel_values", "global_embedding"], outputs: ["frontal_cxr_probability", "ood_distance"] },
  /** masks of the anatomy (anatomy.regions), run when anatomy_boxes measures region boxes from them */
  anatomy_head: { inputs: ["patch_tokens"], outputs: ["anatomy_masks"] },
  /** the ensemble's other classifiers (ensemble.members - 1), on the pixels: their logits per label */
  classification_members: { inputs: ["pixel_values"], outputs: ["member_logits"] },
} as const;
export type GraphName = keyof typeof GRAPH_IO;

/** Which graphs each task needs besides the image encoder. */
export const TASK_GRAPHS: Record<Task, GraphName[]> = {
  classification: ["classification_head"],
  localization: ["localization_head"],
  report: ["report_decoder_step"],
  vqa: ["vqa_head"],
};

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase sha256 hex digest (64 chars)");
const uniqueStrings = (what: string) =>
  z
    .array(z.string().min(1))
    .min(1)
    .refine((a) => new Set(a).size === a.length, `${what} must not contain duplicates`);
const posInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();

const tensorSpec = z.object({
  name: z.string().min(1),
  dtype: z.enum(["float32", "int64", "int32", "float16"]),
  shape: z.array(z.union([z.string().min(1), z.number().int().nonnegative()])).min(1),
});
export type TensorSpec = z.infer<typeof tensorSpec>;

const graphSpec = z.object({
  file: z
    .string()
    .min(1)
    .refine((f) => f.endsWith(".onnx"), "must name an .onnx file"),
  inputs: z.array(tensorSpec).min(1),
  outputs: z.array(tensorSpec).min(1),
});
export type GraphSpec = z.infer<typeof graphSpec>;

const isSafeRelativePath = (p: string) =>
  p.length > 0 && !p.startsWith("/") && !p.includes("\\") && !p.split("/").some((s) => s === ".." || s === "" || s === ".");
const UNSAFE_PATH = 'file paths must be relative, "/"-separated and stay inside the bundle';
const safeRelativePath = z.string().refine(isSafeRelativePath, { message: UNSAFE_PATH });

export const FORMAT_VERSIONS = [1, 2] as const;

export const manifestSchema = z
  .looseObject({
    format_version: z.union([z.literal(1), z.literal(2)], {
      error: "unsupported format_version (this worker reads format_version 1 and 2)",
    }),
    name: z.string().min(1),
    version: z.string().min(1),
    created_at: z.string().min(1),
    trained_on: z.enum(["synthetic", "real", "mixed"]),
    config: z.record(z.string(), z.unknown()),
    tasks: z.array(z.enum(TASKS)).min(1),
    preprocessing: z.object({
      image_size: posInt,
      channels: z.literal(1),
      mean: z.number().finite(),
      std: z.number().positive(),
      resize: z.literal("area"),
      letterbox: z.literal(true),
      pad_value: z.number().finite(),
    }),
    labels: uniqueStrings("labels"),
    regions: uniqueStrings("regions"),
    knowledge: z.array(z.object({ label: z.string(), region: z.string(), sentence: z.string().min(1) })),
    thresholds: z.record(z.string(), z.number().min(0).max(1)),
    localization: z.object({
      heatmap_threshold: z.number().gt(0).lt(1),
      min_box_area_frac: z.number().min(0).lt(1),
      // 'relative_to_max': a cell is in a finding's region when value >= threshold * max(heatmap)
      // (the rule training/gkmvlp/metrics/localization.py evaluates); 'absolute': value >= threshold.
      threshold_mode: z.enum(["absolute", "relative_to_max"]).default("absolute"),
      grid: posInt.optional(),
      patch_size: posInt.optional(),
    }),
    tokenizer: z.object({
      type: z.literal("wordpiece"),
      vocab_file: safeRelativePath,
      lowercase: z.literal(true),
      max_length: z.number().int().min(2),
      question_max_length: z.number().int().min(2),
      pad_id: z.literal(0),
      unk_id: z.literal(1),
      cls_id: z.literal(2),
      sep_id: z.literal(3),
      mask_id: z.literal(4),
      vocab_size: posInt.optional(),
    }),
    answers: uniqueStrings("answers"),
    closed_answers: z.array(z.string().min(1)),
    decoding: z.object({
      max_new_tokens: posInt,
      beam_size: posInt,
      length_penalty: z.number().finite(),
      bos_id: tokenId,
      eos_id: tokenId,
      num_layers: posInt,
      num_heads: posInt,
      head_dim: posInt,
      /** size of the decoder's position table: decoding stops after max_position - 1 steps */
      max_position: posInt.optional(),
    }),
    graphs: z.record(z.string(), graphSpec),
    memory: z.string().optional(),
    metrics: z.record(z.string(), z.unknown()).optional(),
    parity: z.looseObject({ max_abs_diff: z.number().nonnegative(), tolerance: z.number().positive() }),
    files: z.record(z.string(), sha256Hex),
    // the labeller's rules (training/gkmvlp/text/rules.py); bundles exported before they travelled here get
    // them with `python -m gkmvlp.cli.mention_rules --upgrade-bundle DIR`
    mention_rules: mentionRulesSchema,
    // format version 2 (optional in 1, calibration and reliability required in 2: checkV2Sections)
    calibration: calibrationSchema.optional(),
    derived: derivedSchema.optional(),
    reliability: reliabilitySchema.optional(),
    anatomy: anatomySchema.optional(),
    anatomy_boxes: anatomyBoxesSchema.optional(),
    vqa_presence: vqaPresenceSchema.optional(),
    ensemble: ensembleSchema.optional(),
  })
  .superRefine((m, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
    const labels = new Set(m.labels);
    const regions = new Set(m.regions);
    m.knowledge.forEach((k, i) => {
      if (!labels.has(k.label)) issue(["knowledge", i, "label"], `unknown label "${k.label}"`);
      if (!regions.has(k.region)) issue(["knowledge", i, "region"], `unknown region "${k.region}"`);
    });
    for (const l of m.labels) if (!(l in m.thresholds)) issue(["thresholds", l], "missing threshold for this label");
    for (const t of Object.keys(m.thresholds)) if (!labels.has(t)) issue(["thresholds", t], "threshold for an unknown label");
    const answers = new Set(m.answers);
    m.closed_answers.forEach((a, i) => {
      if (!answers.has(a)) issue(["closed_answers", i], `"${a}" is not in answers`);
    });
    checkV2Sections(m, issue);
    for (const [path, message] of mentionRuleProblems(m.mention_rules)) issue(path, message);
    for (const g of requiredGraphs(m)) {
      const spec = m.graphs[g];
      if (!spec) {
        issue(
          ["graphs", g],
          g === "input_check"
            ? "missing graph (required by reliability.graph)"
            : g === "anatomy_head"
              ? "missing graph (required by anatomy_boxes)"
              : g === "classification_members"
                ? "missing graph (required by ensemble)"
                : "missing graph (required by the listed tasks)",
        );
        continue;
      }
      for (const dir of ["inputs", "outputs"] as const) {
        const have = new Set(spec[dir].map((s) => s.name));
        for (const name of GRAPH_IO[g][dir]) if (!have.has(name)) issue(["graphs", g, dir], `missing ${dir.slice(0, -1)} "${name}"`);
      }
      if (!(spec.file in m.files)) issue(["files", spec.file], `graph file of ${g} is not listed with a sha256`);
    }
    const g = m.localization.grid;
    const p = m.localization.patch_size;
    // heatmaps are on the patch grid or on a refinement of it (each patch split into s x s sub-cells)
    const patches = p === undefined ? undefined : m.preprocessing.image_size / p;
    if (
      g !== undefined &&
      patches !== undefined &&
      (!Number.isInteger(patches) || g % patches !== 0 || m.preprocessing.image_size % g !== 0)
    ) {
      issue(
        ["localization", "grid"],
        `grid ${g} is not the patch grid (image_size ${m.preprocessing.image_size} / patch_size ${p}) or a refinement of it dividing image_size`,
      );
    }
    if (!(m.tokenizer.vocab_file in m.files)) issue(["files", m.tokenizer.vocab_file], "vocab file is not listed with a sha256");
    for (const f of Object.keys(m.files)) if (!isSafeRelativePath(f)) issue(["files", f], UNSAFE_PATH);
    if ("manifest.json" in m.files) issue(["files", "manifest.json"], "manifest.json cannot list its own hash");
  });

export type Manifest = z.infer<typeof manifestSchema>;

/** The graphs a manifest needs sessions for: the encoder, its tasks' heads, and the optional sections' graphs. */
export function requiredGraphs(m: Pick<Manifest, "tasks" | "reliability" | "anatomy_boxes" | "ensemble">): GraphName[] {
  const graphs = new Set<GraphName>(["image_encoder", ...m.tasks.flatMap((t) => TASK_GRAPHS[t])]);
  if (m.reliability) graphs.add(m.reliability.graph);
  if (m.anatomy_boxes) graphs.add("anatomy_head");
  if (m.ensemble) graphs.add(m.ensemble.graph);
  return [...graphs];
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (typeof p === "string" && /^[A-Za-z_]\w*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out || "(root)";
}

/** Validates parsed manifest JSON; throws MANIFEST_INVALID listing every problem with its field. */
export function parseManifest(json: unknown, source = "manifest.json"): Manifest {
  const res = manifestSchema.safeParse(json);
  if (res.success) return res.data;
  const details = res.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
  throw new BundleError("MANIFEST_INVALID", `${source} is invalid:\n  - ${details.join("\n  - ")}`, { details });
}
