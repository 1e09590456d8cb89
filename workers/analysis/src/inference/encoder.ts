/**
 * Runs the image encoder on a batch of preprocessed images (dynamic batch axis) and splits every
 * output back into per-image tensors with a leading batch axis of 1, ready to feed the heads.
 *
 * The reliability measurements ride along: the blank check and the input_check graph both need the
 * preprocessed pixels, which exist only here (the cached EncodedImage keeps features, not the 0.2 MB
 * input tensor), and input_check batches like the encoder does. So do an ensemble's other members
 * (classification_members): they read the pixels too, and their logits join the image's features.
 */
import type { GraphSession, TensorData } from "../runtime/sessions.ts";
import { InferenceError } from "../bundle/errors.ts";
import type { Preprocessed } from "../image/preprocess.ts";
import { pixelStd, type InputMeasurements } from "./reliability.ts";
import type { EncodedImage, FeatureTensor } from "./types.ts";
import { refineRegionBoxes, type AnatomyBoxPlan } from "./anatomy-boxes.ts";

export interface EncoderBatchOptions {
  /** preprocessing.std: undoes the normalisation for the blank check */
  std: number;
  /** the bundle's input_check graph (format version 2) */
  inputCheck?: GraphSession;
  /** anatomy_boxes: the anatomy graph and which region boxes its masks replace */
  anatomy?: { session: GraphSession; plan: AnatomyBoxPlan };
  /** ensemble: the other members' graph, with the member_logits shape per image the manifest declares */
  members?: { session: GraphSession; others: number; labels: number };
}

/** Replaces the listed regions' boxes in the batch's region_boxes with the extents of their anatomy masks. */
async function applyAnatomyBoxes(
  anatomy: NonNullable<EncoderBatchOptions["anatomy"]>,
  out: Record<string, TensorData>,
  n: number,
): Promise<void> {
  let masks: TensorData | undefined;
  try {
    masks = (await anatomy.session.run({ patch_tokens: out.patch_tokens! })).anatomy_masks;
  } catch (e) {
    throw new InferenceError("INFERENCE_FAILED", `anatomy_head failed on a batch of ${n}: ${(e as Error).message}`, {
      retriable: true,
      cause: e,
    });
  }
  const { plan } = anatomy;
  const perMasks = plan.channels * plan.grid * plan.grid;
  const boxes = out.region_boxes?.data as Float32Array | undefined;
  if (!masks || masks.data.length !== n * perMasks || !boxes || boxes.length % n !== 0) {
    throw new InferenceError("INFERENCE_FAILED", `anatomy_head returned ${masks?.data.length ?? "no"} values for a batch of ${n}`);
  }
  const perBoxes = boxes.length / n;
  for (let i = 0; i < n; i++) {
    refineRegionBoxes(boxes.subarray(i * perBoxes, (i + 1) * perBoxes), masks.data as Float32Array, i * perMasks, plan);
  }
}

async function runInputCheck(
  session: GraphSession,
  pixels: TensorData,
  embedding: TensorData,
  n: number,
): Promise<{ frontal: Float32Array; ood: Float32Array }> {
  let out: Record<string, TensorData>;
  try {
    out = await session.run({ pixel_values: pixels, global_embedding: embedding });
  } catch (e) {
    throw new InferenceError("INFERENCE_FAILED", `input_check failed on a batch of ${n}: ${(e as Error).message}`, {
      retriable: true,
      cause: e,
    });
  }
  const frontal = out.frontal_cxr_probability?.data as Float32Array | undefined;
  const ood = out.ood_distance?.data as Float32Array | undefined;
  if (!frontal || !ood || frontal.length !== n || ood.length !== n) {
    throw new InferenceError(
      "INFERENCE_FAILED",
      `input_check returned ${frontal?.length ?? "no"} / ${ood?.length ?? "no"} values for a batch of ${n}`,
    );
  }
  return { frontal, ood };
}

/** member_logits [n, others, labels] of the ensemble's other members on the batch's pixels. */
async function runMembers(members: NonNullable<EncoderBatchOptions["members"]>, pixels: TensorData, n: number): Promise<Float32Array> {
  let logits: TensorData | undefined;
  try {
    logits = (await members.session.run({ pixel_values: pixels })).member_logits;
  } catch (e) {
    throw new InferenceError("INFERENCE_FAILED", `classification_members failed on a batch of ${n}: ${(e as Error).message}`, {
      retriable: true,
      cause: e,
    });
  }
  // a graph with another member count or label order would shift every label's combination silently
  if (!logits || logits.data.length !== n * members.others * members.labels) {
    throw new InferenceError(
      "INFERENCE_FAILED",
      `classification_members returned ${logits?.data.length ?? "no"} values for a batch of ${n} (${members.others} members x ${members.labels} labels each)`,
    );
  }
  return logits.data as Float32Array;
}

export async function runEncoderBatch(
  session: GraphSession,
  items: readonly { key: string; pre: Preprocessed }[],
  imageSize: number,
  options: EncoderBatchOptions = { std: 1 },
): Promise<EncodedImage[]> {
  const n = items.length;
  const plane = imageSize * imageSize;
  const pixels = new Float32Array(n * plane);
  items.forEach((it, i) => {
    if (it.pre.tensor.length !== plane) {
      throw new InferenceError("INPUT_INVALID", `preprocessed tensor has ${it.pre.tensor.length} values, expected ${plane}`);
    }
    pixels.set(it.pre.tensor, i * plane);
  });
  const pixelValues: TensorData = { type: "float32", data: pixels, dims: [n, 1, imageSize, imageSize] };
  const t0 = performance.now();
  let out: Record<string, TensorData>;
  try {
    out = await session.run({ pixel_values: pixelValues });
    if (!out.global_embedding) throw new Error("output global_embedding missing");
  } catch (e) {
    throw new InferenceError("INFERENCE_FAILED", `image encoder failed on a batch of ${n}: ${(e as Error).message}`, {
      retriable: true,
      cause: e,
    });
  }
  const check = options.inputCheck ? await runInputCheck(options.inputCheck, pixelValues, out.global_embedding!, n) : null;
  if (options.anatomy) await applyAnatomyBoxes(options.anatomy, out, n);
  const memberLogits = options.members ? await runMembers(options.members, pixelValues, n) : null;
  const encodeMs = performance.now() - t0;
  const input = items.map(
    (it, i): InputMeasurements => ({
      pixelStd: pixelStd(it.pre.tensor, options.std),
      frontalProbability: check ? check.frontal[i]! : null,
      oodDistance: check ? check.ood[i]! : null,
    }),
  );
  const perImage: Record<string, FeatureTensor>[] = items.map(() => ({}));
  for (const name of session.outputNames) {
    const t = out[name]!;
    const data = t.data as Float32Array;
    const per = data.length / n;
    for (let i = 0; i < n; i++) {
      perImage[i]![name] = { data: data.slice(i * per, (i + 1) * per), dims: [1, ...t.dims.slice(1)] };
    }
  }
  if (memberLogits && options.members) {
    const { others, labels } = options.members;
    const per = others * labels;
    for (let i = 0; i < n; i++) {
      perImage[i]!.member_logits = { data: memberLogits.slice(i * per, (i + 1) * per), dims: [1, others, labels] };
    }
  }
  return items.map((it, i) => ({
    key: it.key,
    letterbox: it.pre.letterbox,
    features: perImage[i]!,
    input: input[i]!,
    encodeMs,
    batchSize: n,
  }));
}

export function feature(enc: EncodedImage, name: string): FeatureTensor {
  const f = enc.features[name];
  if (!f) throw new InferenceError("INPUT_INVALID", `encoder output "${name}" is missing`);
  return f;
}

export const toOrt = (f: FeatureTensor): TensorData => ({ type: "float32", data: f.data, dims: f.dims });
