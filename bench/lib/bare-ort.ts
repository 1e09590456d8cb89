// The baseline every worker figure is divided by: plain onnxruntime-node sessions, in-process, created with the
// worker's own session options (same threads, same optimisation level), running the bundle's graphs on
// already-prepared inputs (preprocessed tensors, tokenized questions). No cache, no threads, no result
// building: only what any caller of these graphs must do, including a minimal beam search over the KV-cached
// decoder step (the same algorithm as the worker, so both run the same number of steps; checked by the bench).
// Graphs a bundle adds to every encode (input_check, anatomy_head, an ensemble's classification_members) run
// with the encoder here too: a caller wanting the same outputs must run them, so the ratio compares like with like.
import { readFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { ortOptions } from "../../workers/analysis/src/runtime/graph-session.ts";
import type { Manifest } from "../../workers/analysis/src/bundle/manifest.ts";

type Feeds = Record<string, ort.Tensor>;
export type GraphName = "image_encoder" | "classification_head" | "localization_head" | "report_decoder_step" | "vqa_head";
const perEncodeGraphs = ["input_check", "anatomy_head", "classification_members"] as const;
type PerEncodeGraph = (typeof perEncodeGraphs)[number];

export interface BareModel {
  manifest: Manifest;
  encode(tensors: readonly Float32Array[]): Promise<EncoderOut>;
  classify(enc: EncoderOut): Promise<Float32Array>;
  localize(enc: EncoderOut): Promise<Float32Array>;
  vqa(enc: EncoderOut, question: { ids: BigInt64Array; mask: BigInt64Array; length: number }): Promise<Float32Array>;
  /** beam (or greedy when beamSize = 1) decoding of image `i` of `enc`; returns the token ids and steps run */
  report(enc: EncoderOut, i: number, opts: { beamSize: number; maxSteps: number }): Promise<{ ids: number[]; steps: number }>;
  /** encoder + the four tasks for a batch of images (heads batched), as in one study per image */
  allTasks(
    tensors: readonly Float32Array[],
    question: { ids: BigInt64Array; mask: BigInt64Array; length: number },
    decode: { beamSize: number; maxSteps: number },
  ): Promise<void>;
  /** the in-process session of one graph (for per-call comparisons) */
  session(graph: GraphName): ort.InferenceSession;
  release(): Promise<void>;
}

export interface EncoderOut {
  n: number;
  out: Record<string, ort.Tensor>;
}

const f32 = (t: ort.Tensor) => t.data as Float32Array;

function sliceRows(t: ort.Tensor, i: number): ort.Tensor {
  const per = t.data.length / t.dims[0]!;
  return new ort.Tensor("float32", f32(t).subarray(i * per, (i + 1) * per), [1, ...t.dims.slice(1)]);
}

function logSoftmaxInto(x: Float32Array, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > max) max = x[i]!;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - max);
  const lse = max + Math.log(s);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! - lse;
}

function topK(x: Float64Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (best.length === k && x[i]! <= x[best[k - 1]!]!) continue;
    let j = best.length < k ? best.length : k - 1;
    best[j] = i;
    while (j > 0 && x[best[j - 1]!]! < x[i]!) {
      best[j] = best[j - 1]!;
      best[j - 1] = i;
      j--;
    }
  }
  return best;
}

export async function createBareModel(bundleDir: string, threads: number): Promise<BareModel> {
  const manifest = JSON.parse(readFileSync(path.join(bundleDir, "manifest.json"), "utf8")) as Manifest;
  const options = ortOptions({ executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1, runIn: "main" });
  const sessions = {} as Record<GraphName, ort.InferenceSession>;
  for (const g of ["image_encoder", "classification_head", "localization_head", "report_decoder_step", "vqa_head"] as const) {
    const spec = manifest.graphs[g];
    if (spec) sessions[g] = await ort.InferenceSession.create(path.join(bundleDir, spec.file), options);
  }
  const extra: Partial<Record<PerEncodeGraph, ort.InferenceSession>> = {};
  for (const g of perEncodeGraphs) {
    const spec = (manifest.graphs as Record<string, { file: string } | undefined>)[g];
    if (spec) extra[g] = await ort.InferenceSession.create(path.join(bundleDir, spec.file), options);
  }
  const size = manifest.preprocessing.image_size;
  const d = manifest.decoding;

  async function encode(tensors: readonly Float32Array[]): Promise<EncoderOut> {
    const n = tensors.length;
    const plane = size * size;
    const px = new Float32Array(n * plane);
    tensors.forEach((t, i) => {
      px.set(t, i * plane);
    });
    const pixels = new ort.Tensor("float32", px, [n, 1, size, size]);
    const out = (await sessions.image_encoder.run({ pixel_values: pixels })) as Record<string, ort.Tensor>;
    if (extra.input_check) await extra.input_check.run({ pixel_values: pixels, global_embedding: out.global_embedding! });
    if (extra.anatomy_head) await extra.anatomy_head.run({ patch_tokens: out.patch_tokens! });
    if (extra.classification_members) await extra.classification_members.run({ pixel_values: pixels });
    return { n, out };
  }

  const run = async (g: GraphName, feeds: Feeds, output: string) =>
    f32(((await sessions[g].run(feeds)) as Record<string, ort.Tensor>)[output]!);

  const classify = (enc: EncoderOut) =>
    run(
      "classification_head",
      { global_embedding: enc.out.global_embedding!, knowledge_tokens: enc.out.knowledge_tokens! },
      "probabilities",
    );
  const localize = (enc: EncoderOut) =>
    run("localization_head", { patch_tokens: enc.out.patch_tokens!, knowledge_tokens: enc.out.knowledge_tokens! }, "heatmaps");

  async function vqa(enc: EncoderOut, q: { ids: BigInt64Array; mask: BigInt64Array; length: number }) {
    const n = enc.n;
    const ids = new BigInt64Array(n * q.length);
    const mask = new BigInt64Array(n * q.length);
    for (let i = 0; i < n; i++) {
      ids.set(q.ids, i * q.length);
      mask.set(q.mask, i * q.length);
    }
    return run(
      "vqa_head",
      {
        question_ids: new ort.Tensor("int64", ids, [n, q.length]),
        question_mask: new ort.Tensor("int64", mask, [n, q.length]),
        patch_tokens: enc.out.patch_tokens!,
        knowledge_tokens: enc.out.knowledge_tokens!,
      },
      "answer_logits",
    );
  }

  async function report(enc: EncoderOut, i: number, opts: { beamSize: number; maxSteps: number }) {
    const r = f32(sliceRows(enc.out.region_tokens!, i));
    const k = f32(sliceRows(enc.out.knowledge_tokens!, i));
    const M = enc.out.region_tokens!.dims[1]! + enc.out.knowledge_tokens!.dims[1]!;
    const D = enc.out.region_tokens!.dims[2]!;
    const mem1 = new Float32Array(r.length + k.length);
    mem1.set(r, 0);
    mem1.set(k, r.length);
    const memFor = new Map<number, ort.Tensor>();
    const memory = (n: number) => {
      let t = memFor.get(n);
      if (!t) {
        const m = new Float32Array(n * mem1.length);
        for (let j = 0; j < n; j++) m.set(mem1, j * mem1.length);
        memFor.set(n, (t = new ort.Tensor("float32", m, [n, M, D])));
      }
      return t;
    };
    const { num_layers: L, num_heads: H, head_dim: hd, bos_id: bos, eos_id: eos } = d;
    let keys = new Float32Array(0);
    let values = new Float32Array(0);
    let beams: { seq: number[]; score: number }[] = [{ seq: [], score: 0 }];
    const finished: { seq: number[]; score: number }[] = [];
    let logp = new Float64Array(0);
    let steps = 0;
    for (let t = 0; t < opts.maxSteps; t++) {
      const n = beams.length;
      const out = (await sessions.report_decoder_step.run({
        token_ids: new ort.Tensor(
          "int64",
          BigInt64Array.from(beams, (b) => BigInt(b.seq.at(-1) ?? bos)),
          [n, 1],
        ),
        position: new ort.Tensor("int64", new BigInt64Array(n).fill(BigInt(t)), [n]),
        memory: memory(n),
        past_keys: new ort.Tensor("float32", keys, [L, n, H, t, hd]),
        past_values: new ort.Tensor("float32", values, [L, n, H, t, hd]),
      })) as Record<string, ort.Tensor>;
      steps = t + 1;
      const logits = f32(out.logits!);
      const vocab = logits.length / n;
      if (logp.length !== vocab) logp = new Float64Array(vocab);
      const cand: { seq: number[]; score: number; from: number }[] = [];
      for (let b = 0; b < n; b++) {
        logSoftmaxInto(logits.subarray(b * vocab, (b + 1) * vocab), logp);
        for (const tok of topK(logp, opts.beamSize))
          cand.push({ seq: [...beams[b]!.seq, tok], score: beams[b]!.score + logp[tok]!, from: b });
      }
      cand.sort((a, b) => b.score - a.score);
      const next: { seq: number[]; score: number }[] = [];
      const rows: number[] = [];
      for (const c of cand) {
        if (c.seq.at(-1) === eos) finished.push({ seq: c.seq.slice(0, -1), score: c.score });
        else {
          next.push({ seq: c.seq, score: c.score });
          rows.push(c.from);
        }
        if (next.length === opts.beamSize) break;
      }
      beams = next;
      if (beams.length === 0 || finished.length >= opts.beamSize) break;
      // gather the KV cache rows of the surviving beams
      const pk = f32(out.present_keys!);
      const pv = f32(out.present_values!);
      const block = H * (t + 1) * hd;
      keys = new Float32Array(L * rows.length * block);
      values = new Float32Array(L * rows.length * block);
      for (let l = 0; l < L; l++) {
        rows.forEach((r, j) => {
          keys.set(pk.subarray((l * n + r) * block, (l * n + r + 1) * block), (l * rows.length + j) * block);
          values.set(pv.subarray((l * n + r) * block, (l * n + r + 1) * block), (l * rows.length + j) * block);
        });
      }
    }
    const all = [...finished, ...beams];
    let best = all[0]!;
    let bestNorm = -Infinity;
    for (const h of all) {
      const s = h.score / Math.max(1, h.seq.length + 1) ** d.length_penalty;
      if (s > bestNorm) {
        best = h;
        bestNorm = s;
      }
    }
    return { ids: best.seq, steps };
  }

  return {
    manifest,
    encode,
    classify,
    localize,
    vqa,
    report,
    async allTasks(tensors, question, decode) {
      const enc = await encode(tensors);
      await classify(enc);
      await localize(enc);
      await vqa(enc, question);
      for (let i = 0; i < enc.n; i++) await report(enc, i, decode);
    },
    session: (g) => sessions[g],
    async release() {
      await Promise.all([...Object.values(sessions), ...Object.values(extra)].map((s) => s.release()));
    },
  };
}
