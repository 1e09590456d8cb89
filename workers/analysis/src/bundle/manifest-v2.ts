/**
 * The format-version-2 sections of manifest.json (docs/contracts/model-bundle.md, "Format version 2"):
 * Platt calibration per label, findings derived from measured anatomy, and the reliability model
 * (the input_check graph and its thresholds). Version 1 may carry calibration and derived findings
 * too; version 2 must carry calibration and reliability (checked in manifest.ts, which knows the version).
 */
import { z } from "zod";

const finite = z.number().finite();

export const plattSchema = z.object({ a: finite, b: finite, n: z.number().int().nonnegative().optional() });
export type PlattParams = z.infer<typeof plattSchema>;

export const calibrationSchema = z.looseObject({
  method: z.literal("platt"),
  fitted_on: z.string().optional(),
  /** a label absent here is left as the head gives it */
  labels: z.record(z.string(), plattSchema),
});
export type Calibration = z.infer<typeof calibrationSchema>;

export const ctrDerivationSchema = z.object({
  kind: z.literal("cardiothoracic_ratio"),
  heart_region: z.string().min(1),
  thorax_regions: z.array(z.string().min(1)).min(1),
  a: finite,
  b: finite,
  /** weight of logit(head probability) beside the ratio; absent = 0, the ratio alone */
  head_weight: finite.optional(),
});
export type CtrDerivation = z.infer<typeof ctrDerivationSchema>;

/** label → how its probability is computed instead of by the head */
export const derivedSchema = z.record(z.string(), ctrDerivationSchema);
export type Derived = z.infer<typeof derivedSchema>;

/** Regions whose reported box is measured from the anatomy head's masks (inference/anatomy-boxes.ts). */
export const anatomyBoxesSchema = z.looseObject({
  regions: z.array(z.string().min(1)).min(1),
  threshold: z.number().gt(0).lt(1),
  method: z.literal("largest_component_4", { error: 'anatomy_boxes.method must be "largest_component_4"' }),
});
export type AnatomyBoxes = z.infer<typeof anatomyBoxesSchema>;

/** Phrases of closed presence questions → the label whose reported call answers them (inference/presence.ts). */
export const vqaPresenceSchema = z.looseObject({
  method: z.literal("finding_threshold", { error: 'vqa_presence.method must be "finding_threshold"' }),
  phrases: z.record(z.string().regex(/^[a-z][a-z ]*$/, "phrases are lower-case words separated by single spaces"), z.string().min(1)),
});
export type VqaPresence = z.infer<typeof vqaPresenceSchema>;

/** The anatomy head's masks: regions in channel order, on a grid × grid square over the model input. */
export const anatomySchema = z.looseObject({
  graph: z.literal("anatomy_head", { error: 'anatomy.graph must be "anatomy_head" (the contract names the graph)' }),
  regions: z.array(z.string().min(1)).min(1),
  grid: z.number().int().positive(),
});
export type Anatomy = z.infer<typeof anatomySchema>;

/**
 * Other classifiers averaged with the bundle's own on the logit scale (inference/heads.ts). Only their
 * logits travel, as one graph on the pixels, so the primary's encoder features serve every other task.
 */
export const ensembleSchema = z.looseObject({
  graph: z.literal("classification_members", {
    error: 'ensemble.graph must be "classification_members" (the contract names the graph)',
  }),
  /** M, the primary included: one member would be the head alone under another name */
  members: z.number().int().min(2),
  combine: z.literal("mean_logit", { error: 'ensemble.combine must be "mean_logit"' }),
  /** informational: what each member was */
  from: z.array(z.string()).optional(),
  fitted_on: z.string().optional(),
});
export type Ensemble = z.infer<typeof ensembleSchema>;

const realMetricSchema = z.looseObject({
  auc: z.number().min(0).max(1).optional(),
  ci_low: z.number().min(0).max(1).optional(),
  ci_high: z.number().min(0).max(1).optional(),
  n_pos: z.number().int().nonnegative().optional(),
  n_neg: z.number().int().nonnegative().optional(),
  set: z.string().optional(),
});

export const reliabilitySchema = z.looseObject({
  // The engine feeds this graph by the contract's I/O names, so only the contract's name is accepted.
  graph: z.literal("input_check", { error: 'reliability.graph must be "input_check" (the contract names the graph)' }),
  frontal_threshold: z.number().min(0).max(1),
  ood_thresholds: z
    .object({ caution: z.number().nonnegative(), abstain: z.number().nonnegative() })
    .refine((t) => t.abstain >= t.caution, "abstain must not be below caution"),
  blank_std: z.number().nonnegative(),
  validated_on_real: z.array(z.string().min(1)),
  real_metrics: z.record(z.string(), realMetricSchema).optional(),
  fitted_on: z.string().optional(),
});
export type ReliabilitySpec = z.infer<typeof reliabilitySchema>;

type Issue = (path: (string | number)[], message: string) => void;

/** Cross-field checks of the v2 sections against the manifest's label, region and task lists. */
export function checkV2Sections(
  m: {
    format_version: number;
    labels: string[];
    regions: string[];
    calibration?: Calibration;
    derived?: Derived;
    reliability?: ReliabilitySpec;
    anatomy?: Anatomy;
    anatomy_boxes?: AnatomyBoxes;
    vqa_presence?: VqaPresence;
    tasks: readonly string[];
    ensemble?: Ensemble;
  },
  issue: Issue,
): void {
  const labels = new Set(m.labels);
  const regions = new Set(m.regions);
  if (m.format_version >= 2) {
    if (!m.calibration) issue(["calibration"], "required in format_version 2");
    if (!m.reliability) issue(["reliability"], "required in format_version 2");
  }
  for (const l of Object.keys(m.calibration?.labels ?? {}))
    if (!labels.has(l)) issue(["calibration", "labels", l], "calibration for an unknown label");
  for (const [l, d] of Object.entries(m.derived ?? {})) {
    if (!labels.has(l)) issue(["derived", l], "derived finding for an unknown label");
    if (!regions.has(d.heart_region)) issue(["derived", l, "heart_region"], `unknown region "${d.heart_region}"`);
    d.thorax_regions.forEach((r, i) => {
      if (!regions.has(r)) issue(["derived", l, "thorax_regions", i], `unknown region "${r}"`);
    });
  }
  if (m.anatomy_boxes) {
    if (!m.anatomy) issue(["anatomy_boxes"], "needs the anatomy section (the masks it measures)");
    m.anatomy_boxes.regions.forEach((r, i) => {
      if (!regions.has(r)) issue(["anatomy_boxes", "regions", i], `unknown region "${r}"`);
      else if (m.anatomy && !m.anatomy.regions.includes(r)) issue(["anatomy_boxes", "regions", i], `"${r}" has no anatomy mask`);
    });
  }
  for (const [phrase, l] of Object.entries(m.vqa_presence?.phrases ?? {}))
    if (!labels.has(l)) issue(["vqa_presence", "phrases", phrase], `unknown label "${l}"`);
  if (m.vqa_presence && !labels.has("No Finding")) issue(["vqa_presence"], 'needs the label "No Finding" (normal questions)');
  // the members only replace the classifier's probabilities: without the task there is nothing to replace
  if (m.ensemble && !m.tasks.includes("classification")) issue(["ensemble"], 'needs the "classification" task');
  // a format-1 bundle's thresholds were fitted on the head alone, not on the combined value they would then judge
  if (m.ensemble && m.format_version < 2)
    issue(["ensemble"], "needs format_version 2 (calibration and thresholds fitted on the combined value)");
  m.reliability?.validated_on_real.forEach((l, i) => {
    if (!labels.has(l)) issue(["reliability", "validated_on_real", i], `unknown label "${l}"`);
  });
}
