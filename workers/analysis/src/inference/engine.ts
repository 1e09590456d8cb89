/**
 * createEngine(bundle): the analysis worker's inference API.
 *
 * Every task takes an image input, gets its encoder features through one path — an LRU cache keyed
 * by the image's sha256 (in-flight runs shared, so four tasks on one image run the encoder once),
 * then a micro-batcher that runs the encoder on several images at once — and runs only its own
 * head on top. onnxruntime-node's session.run is asynchronous (its own thread pool), so the event
 * loop stays free while graphs run; preprocessing is synchronous JavaScript.
 *
 * Every result carries the image's reliability assessment and reports calibrated/derived
 * probabilities (trust.ts); report sentences and VQA answers carry the contract's marks (uncertainty.ts).
 */
import { createHash } from "node:crypto";
import type { Bundle } from "../bundle/load.ts";
import { InferenceError } from "../bundle/errors.ts";
import type { GraphName, Task } from "../bundle/manifest.ts";
import { compileMentionRules } from "../bundle/mention-rules.ts";
import { MicroBatcher, type BatcherOptions } from "./batcher.ts";
import { runDecode, type DecodeRequest } from "./decoder.ts";
import { feature, runEncoderBatch } from "./encoder.ts";
import { createBlankCheck } from "./blank-check.ts";
import { Grounding } from "./grounding.ts";
import { answerQuestion, classifyImage, localizeImage, type VqaAnswer } from "./heads.ts";
import type { GraphSession } from "../runtime/sessions.ts";
import { anatomyBoxPlan } from "./anatomy-boxes.ts";
import { presenceAnswer, presenceLabel } from "./presence.ts";
import { LruCache } from "./lru.ts";
import { decodeImage } from "../image/decode.ts";
import { createPreprocessPool } from "../image/preprocess-pool.ts";
import { preprocess, tensorSha256, type GrayImage, type Preprocessed } from "../image/preprocess.ts";
import { splitReport } from "./report-text.ts";
import { WordPieceTokenizer } from "./tokenizer.ts";
import { blankImage, createTrust } from "./trust.ts";
import type { ClassificationResult, EncodedImage, LocalizationResult, ModelRef, ReportResult, VqaResult } from "./types.ts";
import { isImageBased, markSentence } from "./uncertainty.ts";

export interface EngineOptions {
  /** encoder outputs kept (≈ 0.2 MB each for the small model) */
  cacheSize: number;
  batch: BatcherOptions;
  /** regions reported per finding */
  topRegions: number;
  maxBoxesPerFinding: number;
  /** worker threads that decode + preprocess `bytes` inputs off the event loop (0: inline) */
  preprocessThreads: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  cacheSize: 64,
  batch: { maxBatch: 4, maxWaitMs: 5 },
  topRegions: 3,
  maxBoxesPerFinding: 5,
  preprocessThreads: 0,
};

/**
 * An image to analyse, with its content sha256 as `key` when known (the encoder cache key):
 * stored bytes (PGM/PNG/JPEG; key defaults to their sha256), decoded pixels, a preprocessed tensor, or
 * features from encode().
 */
export type ImageInput =
  | { key?: string; bytes: Uint8Array }
  | { key?: string; image: GrayImage }
  | { key?: string; preprocessed: Preprocessed }
  | EncodedImage;

export interface ReportOptions {
  method?: "beam" | "greedy";
  beamSize?: number;
  maxNewTokens?: number;
}

export interface EngineStats {
  cache: { entries: number; hits: number; misses: number };
  /** `images` includes the VQA check's blank images, counted apart in `blankImages` (one per image size) */
  encoder: { runs: number; images: number; maxBatch: number; blankImages: number };
}

export interface Engine {
  readonly model: ModelRef;
  readonly bundle: Bundle;
  readonly tokenizer: WordPieceTokenizer;
  preprocess(image: GrayImage): Preprocessed;
  /** Runs the encoder once on a batch (no cache); the batcher calls this. */
  encodeImages(batch: readonly { key: string; pre: Preprocessed }[]): Promise<EncodedImage[]>;
  /** Cached and micro-batched encoder features of one image. */
  encode(input: ImageInput): Promise<EncodedImage>;
  classify(input: ImageInput): Promise<ClassificationResult>;
  localize(input: ImageInput, opts?: { findings?: readonly string[] }): Promise<LocalizationResult>;
  report(input: ImageInput, opts?: ReportOptions): Promise<ReportResult>;
  vqa(input: ImageInput, question: string): Promise<VqaResult>;
  stats(): EngineStats;
  /** Drains queued work; the bundle's sessions are released by bundle.release(). */
  close(): Promise<void>;
}

export function createEngine(bundle: Bundle, options: Partial<EngineOptions> = {}): Engine {
  const opts: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, ...options };
  const m = bundle.manifest;
  const pre = m.preprocessing;
  const model: ModelRef = { name: m.name, version: m.version, bundleHash: bundle.bundleHash, trainedOn: m.trained_on };
  const tokenizer = new WordPieceTokenizer(bundle.vocab);
  const grounding = new Grounding(m.labels, m.regions, opts.topRegions, compileMentionRules(m.mention_rules));
  const cache = new LruCache<string, Promise<EncodedImage>>(opts.cacheSize);
  let closed = false;

  const session = (task: Task, graph: GraphName) => {
    if (closed) throw new InferenceError("ENGINE_CLOSED", "engine is closed");
    const s = bundle.sessions[graph];
    if (!m.tasks.includes(task) || !s)
      throw new InferenceError("TASK_NOT_SUPPORTED", `bundle ${m.name} ${m.version} does not support ${task}`);
    return s;
  };

  const anatomy =
    m.anatomy_boxes && m.anatomy && bundle.sessions.anatomy_head
      ? { session: bundle.sessions.anatomy_head, plan: anatomyBoxPlan(m.anatomy_boxes, m.anatomy.regions, m.regions, m.anatomy.grid) }
      : undefined;
  const members =
    m.ensemble && bundle.sessions.classification_members
      ? { session: bundle.sessions.classification_members, others: m.ensemble.members - 1, labels: m.labels.length }
      : undefined;
  const encodeImages = (batch: readonly { key: string; pre: Preprocessed }[]) =>
    runEncoderBatch(bundle.sessions.image_encoder!, batch, pre.image_size, {
      std: pre.std,
      inputCheck: bundle.sessions.input_check,
      anatomy,
      members,
    });
  // images being decoded and preprocessed right now: the batcher waits for them (up to maxHoldMs)
  let preparing = 0;
  const batcher = new MicroBatcher(encodeImages, opts.batch, () => preparing);
  const trust = createTrust(bundle);

  const pool = opts.preprocessThreads > 0 ? createPreprocessPool(pre, { threads: opts.preprocessThreads }) : null;

  /** Bytes/pixels → tensor (off-thread when a pool exists) and the key to cache it under. */
  const prepare = async (input: Exclude<ImageInput, EncodedImage>): Promise<{ key: string; pre: Preprocessed }> => {
    if ("preprocessed" in input) return { key: input.key ?? `tensor:${tensorSha256(input.preprocessed.tensor)}`, pre: input.preprocessed };
    if ("image" in input) {
      const p = preprocess(input.image, pre);
      return { key: input.key ?? `tensor:${tensorSha256(p.tensor)}`, pre: p };
    }
    if (pool) {
      const r = await pool.run(input.bytes, { hash: input.key === undefined });
      return { key: input.key ?? r.sha256, pre: r };
    }
    return { key: input.key ?? imageKey(input.bytes), pre: preprocess(decodeImage(input.bytes), pre) };
  };

  const encode = async (input: ImageInput): Promise<EncodedImage> => {
    if ("features" in input) return input;
    if (closed) throw new InferenceError("ENGINE_CLOSED", "engine is closed");
    const known = input.key ? cache.get(input.key) : undefined;
    if (known) return known;
    preparing += 1;
    let prepared: { key: string; pre: Preprocessed };
    try {
      prepared = await prepare(input);
    } finally {
      preparing -= 1;
    }
    const { key, pre: p } = prepared;
    const hit = cache.get(key); // a concurrent request for the same image may have started meanwhile
    if (hit) return hit;
    const promise = batcher.submit({ key, pre: p });
    cache.set(key, promise);
    // A failed run must not be served from the cache (but never evict a newer entry for the key).
    promise.catch(() => {
      if (cache.peek(key) === promise) cache.delete(key);
    });
    return promise;
  };

  /** A presence question the bundle's vqa_presence covers is answered from the reported finding, the rest by the head. */
  const answer = async (s: GraphSession, enc: EncodedImage, question: string): Promise<VqaAnswer> => {
    const cls = bundle.sessions.classification_head;
    const label = m.vqa_presence && cls ? presenceLabel(question, m.vqa_presence.phrases) : null;
    if (label === null || !cls) return answerQuestion(s, m, tokenizer, grounding, enc, question);
    const a = presenceAnswer(label, await trust.finals(cls, enc), m.thresholds[label]!);
    return {
      questionType: "closed",
      answer: a.answer,
      confidence: a.confidence,
      alternatives: [
        { answer: a.answer, probability: a.confidence },
        { answer: a.answer === "yes" ? "no" : "yes", probability: 1 - a.confidence },
      ],
      regions: grounding.link(enc, question).regions,
      basis: { kind: "finding", label, probability: a.probability, threshold: a.threshold },
    };
  };

  const blank = createBlankCheck(
    (key, width, height) => batcher.submit({ key, pre: preprocess(blankImage(width, height), pre) }),
    async (image, question) => (await answer(bundle.sessions.vqa_head!, image, question)).answer,
  );

  const memoryOf = (enc: EncodedImage) => {
    const r = feature(enc, "region_tokens");
    const k = feature(enc, "knowledge_tokens");
    const mem = new Float32Array(r.data.length + k.data.length);
    mem.set(r.data, 0);
    mem.set(k.data, r.data.length);
    return { mem, tokens: r.dims[1]! + k.dims[1]! };
  };

  // The decoder's position table bounds the number of steps (Python: min(max_new, max_length - 1)).
  const maxPosition = m.decoding.max_position ?? (typeof m.config.max_length === "number" ? m.config.max_length : m.tokenizer.max_length);

  return {
    model,
    bundle,
    tokenizer,
    preprocess: (image) => preprocess(image, pre),
    encodeImages,
    encode,

    async classify(input) {
      const s = session("classification", "classification_head");
      const enc = await encode(input);
      const findings = classifyImage(m, grounding, enc, await trust.finals(s, enc), trust.validated);
      return { task: "classification", model, reliability: trust.reliability(enc), findings };
    },

    async localize(input, o = {}) {
      const s = session("localization", "localization_head");
      const enc = await encode(input);
      const cls = bundle.sessions.classification_head;
      // the same reported (calibrated/derived) probabilities as classification, so the two never disagree
      const probs = cls ? (await trust.finals(cls, enc)).map((f) => f.probability) : undefined;
      const findings = await localizeImage(s, m, enc, { findings: o.findings, maxBoxes: opts.maxBoxesPerFinding, probabilities: probs });
      return {
        task: "localization",
        model,
        reliability: trust.reliability(enc),
        thresholdMode: m.localization.threshold_mode,
        heatmapThreshold: m.localization.heatmap_threshold,
        findings,
        regions: m.regions.map((region, r) => ({ region, box: grounding.regionBox(enc, r) })),
      };
    },

    async report(input, o = {}) {
      const s = session("report", "report_decoder_step");
      const enc = await encode(input);
      const d = m.decoding;
      const { mem, tokens } = memoryOf(enc);
      const method = o.method ?? (d.beam_size > 1 ? "beam" : "greedy");
      const beamSize = method === "greedy" ? 1 : (o.beamSize ?? d.beam_size);
      const base = {
        maxSteps: Math.min(o.maxNewTokens ?? d.max_new_tokens, maxPosition - 1),
        bosId: d.bos_id,
        eosId: d.eos_id,
        lengthPenalty: d.length_penalty,
      };
      const request: DecodeRequest = {
        shape: { numLayers: d.num_layers, numHeads: d.num_heads, headDim: d.head_dim },
        memory: mem,
        memoryTokens: tokens,
        method,
        options: { ...base, beamSize },
      };
      // threaded sessions run the whole search next to the session (one message, not one per step)
      const out = s.decode ? await s.decode(request) : await runDecode(s, request);
      const text = tokenizer.decode(out.ids);
      const split = splitReport(text);
      const marks = await trust.markContext(enc);
      return {
        task: "report",
        model,
        reliability: trust.reliability(enc),
        text,
        findings: split.findings,
        impression: split.impression,
        sentences: split.sentences.map((st) => {
          const link = grounding.link(enc, st.text);
          return { ...st, ...link, ...markSentence(link.labels, marks) };
        }),
        tokenIds: out.ids,
        logProb: out.logProb,
        score: out.score,
        decoding: { method, beamSize, lengthPenalty: d.length_penalty, steps: out.steps, finished: out.finished },
      };
    },

    async vqa(input, question) {
      const s = session("vqa", "vqa_head");
      const enc = await encode(input);
      const given = await answer(s, enc, question);
      const blankAnswer = await blank.answer(enc, question);
      return {
        task: "vqa",
        model,
        reliability: trust.reliability(enc),
        question,
        ...given,
        imageBased: isImageBased(given.answer, blankAnswer),
        blankAnswer,
      };
    },

    stats: () => ({
      cache: { entries: cache.size, hits: cache.hits, misses: cache.misses },
      encoder: {
        runs: batcher.stats.batches,
        images: batcher.stats.items,
        maxBatch: batcher.stats.maxBatchSeen,
        blankImages: blank.encodes,
      },
    }),

    async close() {
      closed = true;
      await batcher.close();
      await pool?.close();
      cache.clear();
      blank.clear();
    },
  };
}

/** sha256 of raw image bytes: the cache key the worker should pass (the gateway's content hash). */
export const imageKey = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
