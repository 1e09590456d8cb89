/**
 * Cross-checks the manifest's declared tensor shapes against its own lists (labels, regions,
 * answers), the vocabulary and the decoding constants, so a bundle whose graphs disagree with
 * its metadata is refused at load time rather than producing shifted labels at run time.
 */
import { BundleError } from "./errors.ts";
import type { Manifest } from "./manifest.ts";

export function checkDeclaredSizes(m: Manifest, vocabSize: number): void {
  const problems: string[] = [];
  const dim = (graph: string, dir: "inputs" | "outputs", name: string, axis: number, expected: number, what: string) => {
    const spec = m.graphs[graph]?.[dir].find((s) => s.name === name);
    const d = spec?.shape[axis];
    if (typeof d === "number" && d !== expected)
      problems.push(`graphs.${graph}.${dir}.${name}.shape[${axis}] is ${d}, but ${what} is ${expected}`);
  };
  const S = m.preprocessing.image_size;
  const d = m.decoding;
  dim("image_encoder", "inputs", "pixel_values", 2, S, "preprocessing.image_size");
  dim("image_encoder", "inputs", "pixel_values", 3, S, "preprocessing.image_size");
  dim("image_encoder", "outputs", "region_boxes", 1, m.regions.length, "the number of regions");
  dim("image_encoder", "outputs", "region_tokens", 1, m.regions.length, "the number of regions");
  dim("image_encoder", "outputs", "knowledge_tokens", 1, m.labels.length, "the number of labels");
  dim("image_encoder", "outputs", "grounding_weights", 1, m.labels.length, "the number of labels");
  dim("image_encoder", "outputs", "grounding_weights", 2, m.regions.length, "the number of regions");
  dim("classification_head", "outputs", "probabilities", 1, m.labels.length, "the number of labels");
  dim("localization_head", "outputs", "heatmaps", 1, m.labels.length, "the number of labels");
  if (m.localization.grid !== undefined) {
    dim("localization_head", "outputs", "heatmaps", 2, m.localization.grid, "localization.grid");
    dim("localization_head", "outputs", "heatmaps", 3, m.localization.grid, "localization.grid");
  }
  dim("report_decoder_step", "outputs", "logits", 1, vocabSize, "the vocabulary size");
  for (const name of ["past_keys", "past_values"]) {
    dim("report_decoder_step", "inputs", name, 0, d.num_layers, "decoding.num_layers");
    dim("report_decoder_step", "inputs", name, 2, d.num_heads, "decoding.num_heads");
    dim("report_decoder_step", "inputs", name, 4, d.head_dim, "decoding.head_dim");
  }
  dim("vqa_head", "outputs", "answer_logits", 1, m.answers.length, "the number of answers");
  dim("input_check", "inputs", "pixel_values", 2, S, "preprocessing.image_size");
  dim("input_check", "inputs", "pixel_values", 3, S, "preprocessing.image_size");
  const embedding = m.graphs.image_encoder?.outputs.find((s) => s.name === "global_embedding")?.shape[1];
  if (typeof embedding === "number")
    dim("input_check", "inputs", "global_embedding", 1, embedding, "the image encoder's global_embedding width");
  if (m.anatomy) {
    dim("anatomy_head", "outputs", "anatomy_masks", 1, m.anatomy.regions.length, "the number of anatomy.regions");
    dim("anatomy_head", "outputs", "anatomy_masks", 2, m.anatomy.grid, "anatomy.grid");
    dim("anatomy_head", "outputs", "anatomy_masks", 3, m.anatomy.grid, "anatomy.grid");
  }
  if (m.ensemble) {
    dim("classification_members", "inputs", "pixel_values", 2, S, "preprocessing.image_size");
    dim("classification_members", "inputs", "pixel_values", 3, S, "preprocessing.image_size");
    dim("classification_members", "outputs", "member_logits", 1, m.ensemble.members - 1, "ensemble.members - 1");
    dim("classification_members", "outputs", "member_logits", 2, m.labels.length, "the number of labels");
  }
  if (m.tokenizer.vocab_size !== undefined && m.tokenizer.vocab_size !== vocabSize) {
    problems.push(`tokenizer.vocab_size is ${m.tokenizer.vocab_size}, but ${m.tokenizer.vocab_file} has ${vocabSize} tokens`);
  }
  for (const [k, id] of [
    ["bos_id", d.bos_id],
    ["eos_id", d.eos_id],
  ] as const) {
    if (id >= vocabSize) problems.push(`decoding.${k} ${id} is outside the vocabulary (${vocabSize} tokens)`);
  }
  if (problems.length) {
    throw new BundleError("GRAPH_MISMATCH", `manifest sizes are inconsistent:\n  - ${problems.join("\n  - ")}`, { details: problems });
  }
}
