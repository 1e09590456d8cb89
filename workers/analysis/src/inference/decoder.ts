/**
 * Report decoding over the KV-cached `report_decoder_step` graph: greedy and beam search.
 *
 * Both mirror training/gkmvlp/model/decoding.py step for step (same candidate order, same early
 * stop, same score = sum log p / max(1, len + 1) ** length_penalty), so the Python and TypeScript
 * sides pick the same report for the same logits. The decoder sees `[CLS]` first; positions count
 * from 0; the number of steps is capped by the decoder's position table (config.max_length - 1).
 */
import type { GraphSession, TensorData } from "../runtime/graph-session.ts";
import type { BeamOptions, DecodeOptions, DecodeRequest, Decoded, DecoderShape } from "./decoder-types.ts";

export type { BeamOptions, DecodeOptions, DecodeRequest, Decoded, DecoderShape };
import { InferenceError } from "../bundle/errors.ts";

interface Cache {
  keys: Float32Array;
  values: Float32Array;
  /** past length */
  t: number;
  /** batch size of the cache */
  n: number;
}

export class DecoderStep {
  constructor(
    private readonly session: GraphSession,
    private readonly shape: DecoderShape,
    /** [M*D] memory of one image */
    private readonly memory: Float32Array,
    private readonly memoryTokens: number,
  ) {}

  /** the memory repeated n times (one copy per beam width, not per step: inputs are never written to) */
  private readonly tiled = new Map<number, Float32Array>();

  private memoryFor(n: number): Float32Array {
    let mem = this.tiled.get(n);
    if (!mem) {
      mem = new Float32Array(n * this.memory.length);
      for (let i = 0; i < n; i++) mem.set(this.memory, i * this.memory.length);
      this.tiled.set(n, mem);
    }
    return mem;
  }

  emptyCache(n: number): Cache {
    return { keys: new Float32Array(0), values: new Float32Array(0), t: 0, n };
  }

  /** One step for n sequences sharing the image memory; returns each sequence's next-token scores. */
  async run(tokens: readonly number[], position: number, cache: Cache): Promise<{ logp: StepScores[]; cache: Cache }> {
    const n = tokens.length;
    const { numLayers: L, numHeads: H, headDim: hd } = this.shape;
    const d = this.memory.length / this.memoryTokens;
    const mem = this.memoryFor(n);
    const pastDims = [L, n, H, cache.t, hd];
    let out: Record<string, TensorData>;
    try {
      out = await this.session.run({
        token_ids: { type: "int64", data: BigInt64Array.from(tokens, (x) => BigInt(x)), dims: [n, 1] },
        position: { type: "int64", data: new BigInt64Array(n).fill(BigInt(position)), dims: [n] },
        memory: { type: "float32", data: mem, dims: [n, this.memoryTokens, d] },
        past_keys: { type: "float32", data: cache.keys, dims: pastDims },
        past_values: { type: "float32", data: cache.values, dims: pastDims },
      });
    } catch (e) {
      throw new InferenceError("INFERENCE_FAILED", `report decoder step ${position} failed: ${(e as Error).message}`, {
        retriable: true,
        cause: e,
      });
    }
    const logits = out.logits!.data as Float32Array;
    const vocab = logits.length / n;
    const logp: StepScores[] = [];
    for (let i = 0; i < n; i++) logp.push(new StepScores(logits.subarray(i * vocab, (i + 1) * vocab)));
    return {
      logp,
      cache: {
        keys: out.present_keys!.data as Float32Array,
        values: out.present_values!.data as Float32Array,
        t: cache.t + 1,
        n,
      },
    };
  }

  /** Re-orders the cache's batch axis: row j of the result is row rows[j] of `cache`. */
  gather(cache: Cache, rows: readonly number[]): Cache {
    // the graph's outputs are fresh buffers that nothing writes to: the same rows in the same order need no copy
    if (rows.length === cache.n && rows.every((r, j) => r === j)) return cache;
    const { numLayers: L } = this.shape;
    const block = this.shape.numHeads * cache.t * this.shape.headDim;
    const pick = (src: Float32Array) => {
      const dst = new Float32Array(L * rows.length * block);
      for (let l = 0; l < L; l++) {
        rows.forEach((r, j) => {
          dst.set(src.subarray((l * cache.n + r) * block, (l * cache.n + r + 1) * block), (l * rows.length + j) * block);
        });
      }
      return dst;
    };
    return { keys: pick(cache.keys), values: pick(cache.values), t: cache.t, n: rows.length };
  }
}

export function logSoftmax(x: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]!);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! - lse;
  return out;
}

/**
 * One sequence's next-token log-probabilities, logits[i] - lse, computed when read: a search reads k of them
 * (top k, then the chosen ones), so the full [vocab] array logSoftmax builds is never written. The values are
 * logSoftmax's own, bit for bit (the same lse, the same subtraction).
 */
export class StepScores {
  readonly lse: number;
  constructor(readonly logits: Float32Array) {
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
    this.lse = max + Math.log(sum);
  }

  at(i: number): number {
    return this.logits[i]! - this.lse;
  }

  /** topK over the log-probabilities (same order and ties as topK(logSoftmax(logits), k)). */
  top(k: number): number[] {
    const x = this.logits;
    const lse = this.lse;
    const best: number[] = [];
    const bestV: number[] = [];
    for (let i = 0; i < x.length; i++) {
      const v = x[i]! - lse;
      if (best.length === k && v <= bestV[k - 1]!) continue;
      let j = best.length < k ? best.length : k - 1;
      best[j] = i;
      bestV[j] = v;
      while (j > 0 && bestV[j - 1]! < v) {
        best[j] = best[j - 1]!;
        bestV[j] = bestV[j - 1]!;
        best[j - 1] = i;
        bestV[j - 1] = v;
        j--;
      }
    }
    return best;
  }
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topK(x: ArrayLike<number>, k: number): number[] {
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

export const lengthNormalised = (logProb: number, len: number, lengthPenalty: number) => logProb / Math.max(1, len + 1) ** lengthPenalty;

export async function greedyDecode(step: DecoderStep, opts: DecodeOptions & { lengthPenalty: number }): Promise<Decoded> {
  let cache = step.emptyCache(1);
  let tok = opts.bosId;
  const ids: number[] = [];
  let logProb = 0;
  let t = 0;
  for (; t < opts.maxSteps; t++) {
    const r = await step.run([tok], t, cache);
    cache = r.cache;
    const [next] = r.logp[0]!.top(1);
    logProb += r.logp[0]!.at(next!);
    if (next === opts.eosId) {
      return { ids, logProb, score: lengthNormalised(logProb, ids.length, opts.lengthPenalty), steps: t + 1, finished: true };
    }
    ids.push(next!);
    tok = next!;
  }
  return { ids, logProb, score: lengthNormalised(logProb, ids.length, opts.lengthPenalty), steps: t, finished: false };
}

export async function beamDecode(step: DecoderStep, opts: BeamOptions): Promise<Decoded> {
  type Beam = { seq: number[]; score: number };
  let beams: Beam[] = [{ seq: [], score: 0 }];
  let cache = step.emptyCache(1);
  const finished: (Beam & { done: boolean })[] = [];
  let steps = 0;
  for (let t = 0; t < opts.maxSteps; t++) {
    const r = await step.run(
      beams.map((b) => b.seq.at(-1) ?? opts.bosId),
      t,
      cache,
    );
    steps = t + 1;
    // candidates in the reference order (beam by beam, top k each); sequences are built only for those kept
    const cand: { tok: number; score: number; from: number }[] = [];
    for (let i = 0; i < beams.length; i++) {
      const lp = r.logp[i]!;
      for (const tok of lp.top(opts.beamSize)) cand.push({ tok, score: beams[i]!.score + lp.at(tok), from: i });
    }
    cand.sort((a, b) => b.score - a.score); // stable, like Python's sort
    const next: Beam[] = [];
    const rows: number[] = [];
    for (const c of cand) {
      const seq = beams[c.from]!.seq;
      if (c.tok === opts.eosId) finished.push({ seq: seq.slice(), score: c.score, done: true });
      else {
        next.push({ seq: [...seq, c.tok], score: c.score });
        rows.push(c.from);
      }
      if (next.length === opts.beamSize) break;
    }
    beams = next;
    if (beams.length === 0 || finished.length >= opts.beamSize) break;
    cache = step.gather(r.cache, rows);
  }
  const all = [...finished, ...beams.map((b) => ({ ...b, done: false }))];
  let best = all[0]!;
  let bestNorm = -Infinity;
  for (const h of all) {
    const s = lengthNormalised(h.score, h.seq.length, opts.lengthPenalty);
    if (s > bestNorm) {
      best = h;
      bestNorm = s;
    }
  }
  return { ids: best.seq, logProb: best.score, score: bestNorm, steps, finished: best.done };
}

/** Runs a decode over `session` (in-process, or on the session thread so each step is no thread round trip). */
export function runDecode(session: GraphSession, req: DecodeRequest): Promise<Decoded> {
  const step = new DecoderStep(session, req.shape, req.memory, req.memoryTokens);
  return req.method === "greedy" ? greedyDecode(step, req.options) : beamDecode(step, req.options);
}
