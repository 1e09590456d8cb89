/**
 * Hand-made manifests written from docs/contracts/model-bundle.md: a small complete version 1, and
 * version 2 on top of it (calibration, derived Cardiomegaly, reliability with the input_check graph),
 * so the version-2 code paths are tested before a real version-2 bundle exists.
 */
export const LABELS = ["No Finding", "Cardiomegaly", "Pleural Effusion"];
export const REGIONS = ["right lung", "left lung", "cardiac silhouette"];
export const HASH = "a".repeat(64);
const t = (name: string, dtype: string, shape: (string | number)[]) => ({ name, dtype, shape });

/** A small but complete manifest written from docs/contracts/model-bundle.md. */
export function validManifest(): Record<string, any> {
  return {
    format_version: 1,
    name: "gkmvlp-test",
    version: "0.0.1",
    created_at: "2026-01-01T00:00:00Z",
    trained_on: "synthetic",
    config: { size: "tiny" },
    tasks: ["classification", "localization", "report", "vqa"],
    preprocessing: { image_size: 64, channels: 1, mean: 0.5, std: 0.25, resize: "area", letterbox: true, pad_value: 0 },
    labels: LABELS,
    regions: REGIONS,
    knowledge: [{ label: "Cardiomegaly", region: "cardiac silhouette", sentence: "the cardiac silhouette is enlarged" }],
    thresholds: { "No Finding": 0.5, Cardiomegaly: 0.42, "Pleural Effusion": 0.5 },
    localization: { heatmap_threshold: 0.5, min_box_area_frac: 0.002 },
    tokenizer: {
      type: "wordpiece",
      vocab_file: "vocab.txt",
      lowercase: true,
      max_length: 32,
      question_max_length: 16,
      pad_id: 0,
      unk_id: 1,
      cls_id: 2,
      sep_id: 3,
      mask_id: 4,
    },
    answers: ["yes", "no", "left"],
    closed_answers: ["yes", "no"],
    decoding: { max_new_tokens: 20, beam_size: 3, length_penalty: 1, bos_id: 2, eos_id: 3, num_layers: 2, num_heads: 2, head_dim: 8 },
    graphs: {
      image_encoder: {
        file: "image_encoder.onnx",
        inputs: [t("pixel_values", "float32", ["batch", 1, 64, 64])],
        outputs: ["global_embedding", "patch_tokens", "region_boxes", "region_tokens", "knowledge_tokens", "grounding_weights"].map((n) =>
          t(n, "float32", ["batch", 16]),
        ),
      },
      classification_head: {
        file: "cls.onnx",
        inputs: [t("global_embedding", "float32", ["batch", 16]), t("knowledge_tokens", "float32", ["batch", 3, 16])],
        outputs: [t("probabilities", "float32", ["batch", 3])],
      },
      localization_head: {
        file: "loc.onnx",
        inputs: [t("patch_tokens", "float32", ["batch", 16, 16]), t("knowledge_tokens", "float32", ["batch", 3, 16])],
        outputs: [t("heatmaps", "float32", ["batch", 3, 4, 4])],
      },
      report_decoder_step: {
        file: "dec.onnx",
        inputs: ["token_ids", "position", "memory", "past_keys", "past_values"].map((n) => t(n, "float32", ["batch"])),
        outputs: ["logits", "present_keys", "present_values"].map((n) => t(n, "float32", ["batch"])),
      },
      vqa_head: {
        file: "vqa.onnx",
        inputs: ["question_ids", "question_mask", "patch_tokens", "knowledge_tokens"].map((n) => t(n, "int64", ["batch"])),
        outputs: [t("answer_logits", "float32", ["batch", 3])],
      },
    },
    parity: { max_abs_diff: 1e-6, tolerance: 1e-3 },
    files: { "image_encoder.onnx": HASH, "cls.onnx": HASH, "loc.onnx": HASH, "dec.onnx": HASH, "vqa.onnx": HASH, "vocab.txt": HASH },
  };
}

/** Version 2: Platt calibration of Pleural Effusion, Cardiomegaly from the cardiothoracic ratio, the input check. */
export function validManifestV2(): Record<string, any> {
  const m = validManifest();
  m.format_version = 2;
  m.trained_on = "mixed";
  m.calibration = { method: "platt", fitted_on: "hand-made", labels: { "Pleural Effusion": { a: 0.8, b: -0.3, n: 120 } } };
  m.derived = {
    Cardiomegaly: {
      kind: "cardiothoracic_ratio",
      heart_region: "cardiac silhouette",
      thorax_regions: ["right lung", "left lung"],
      a: 25,
      b: -12.5,
    },
  };
  m.reliability = {
    graph: "input_check",
    frontal_threshold: 0.5,
    ood_thresholds: { caution: 1.6, abstain: 3.0 },
    blank_std: 0.02,
    validated_on_real: ["No Finding", "Cardiomegaly"],
    real_metrics: { Cardiomegaly: { auc: 0.8, ci_low: 0.7, ci_high: 0.88, n_pos: 50, n_neg: 60, set: "hand-made" } },
    fitted_on: "hand-made",
  };
  m.graphs.input_check = {
    file: "input_check.onnx",
    inputs: [t("pixel_values", "float32", ["batch", 1, 64, 64]), t("global_embedding", "float32", ["batch", 16])],
    outputs: [t("frontal_cxr_probability", "float32", ["batch"]), t("ood_distance", "float32", ["batch"])],
  };
  m.files["input_check.onnx"] = HASH;
  return m;
}
