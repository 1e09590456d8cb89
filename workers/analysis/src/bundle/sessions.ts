/**
 * Graph sessions: where the bundle's ONNX graphs actually run.
 *
 * onnxruntime-node 1.30's `session.run` is NOT asynchronous: it returns a promise but runs the graph
 * synchronously on the calling thread inside setImmediate (measured: a 161 ms encoder run stalled a
 * 1 ms timer for 161 ms). So by default the sessions live on a worker thread ('thread'), and the
 * main thread only posts inputs and receives outputs; 'main' keeps them in-process (simplest; fine
 * for tools and benchmarks that do nothing else meanwhile).
 */
import type { DecodeRequest, Decoded } from "../inference/decoder.ts";
import * as ort from "onnxruntime-node";
import { BundleError, InferenceError } from "./errors.ts";
import type { GraphName } from "./manifest.ts";
import { createThreadedSessions } from "./threaded-sessions.ts";

/** A tensor as plain data (ort.Tensor satisfies it, and so does a structured-cloned copy). */
export interface TensorData {
  type: string;
  data: ort.Tensor["data"];
  dims: readonly number[];
}

export interface GraphSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  /**
   * report_decoder_step on the session thread only: the whole beam/greedy search runs on that thread, one
   * message per report instead of a thread round trip (and copies of memory + KV cache) per step.
   */
  decode?(request: DecodeRequest): Promise<Decoded>;
}

export type ExecutionProvider = "cpu" | "cuda";

export interface SessionOptions {
  /** Execution providers in preference order. */
  executionProviders: readonly ExecutionProvider[];
  intraOpNumThreads: number;
  interOpNumThreads: number;
  /** 'thread': sessions on a worker thread (event loop stays free); 'main': in-process */
  runIn: "thread" | "main";
}

export interface SessionHost {
  sessions: Partial<Record<GraphName, GraphSession>>;
  /** false once the sessions can no longer run (released, or their thread died) */
  alive(): boolean;
  release(): Promise<void>;
}

export function ortOptions(opts: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [...opts.executionProviders],
    intraOpNumThreads: opts.intraOpNumThreads,
    interOpNumThreads: opts.interOpNumThreads,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  };
}

/** Maps an ONNX Runtime session-creation failure to the bundle error it means. */
export function sessionCreateError(graph: string, file: string, providers: readonly string[], raw: string, cause?: unknown): BundleError {
  // eslint-disable-next-line no-control-regex -- ORT colours its log lines
  const msg = raw.replace(/\x1b\[[0-9;]*m/g, "").trim();
  if (providers.some((p) => p !== "cpu") && /provider|cuda/i.test(msg)) {
    return new BundleError(
      "EXECUTION_PROVIDER_UNAVAILABLE",
      `execution providers [${providers.join(", ")}] unavailable for ${graph}: ${msg}`,
      { cause },
    );
  }
  return new BundleError("GRAPH_MISMATCH", `graph ${graph} (${file}) cannot be loaded by ONNX Runtime: ${msg}`, { cause });
}

export const toOrtTensor = (t: TensorData) => new ort.Tensor(t.type as "float32", t.data as Float32Array, t.dims);

export function runError(graph: string, e: unknown): InferenceError {
  return new InferenceError("INFERENCE_FAILED", `${graph} failed: ${e instanceof Error ? e.message : String(e)}`, {
    retriable: true,
    cause: e,
  });
}

async function createInProcessSessions(
  graphs: { graph: GraphName; file: string; bytes: Uint8Array }[],
  opts: SessionOptions,
): Promise<SessionHost> {
  const created: ort.InferenceSession[] = [];
  const sessions: SessionHost["sessions"] = {};
  let released = false;
  const release = async () => {
    released = true;
    await Promise.all(created.map((s) => s.release()));
  };
  try {
    for (const g of graphs) {
      let s: ort.InferenceSession;
      try {
        s = await ort.InferenceSession.create(g.bytes, ortOptions(opts));
      } catch (e) {
        throw sessionCreateError(g.graph, g.file, opts.executionProviders, e instanceof Error ? e.message : String(e), e);
      }
      created.push(s);
      sessions[g.graph] = {
        inputNames: s.inputNames,
        outputNames: s.outputNames,
        async run(feeds) {
          const ortFeeds: Record<string, ort.Tensor> = {};
          for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = v instanceof ort.Tensor ? v : toOrtTensor(v);
          try {
            return (await s.run(ortFeeds)) as Record<string, ort.Tensor>;
          } catch (e) {
            throw runError(g.graph, e);
          }
        },
      };
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { sessions, release, alive: () => !released };
}

export function createSessions(
  graphs: { graph: GraphName; file: string; bytes: Uint8Array }[],
  opts: SessionOptions,
): Promise<SessionHost> {
  return opts.runIn === "main" ? createInProcessSessions(graphs, opts) : createThreadedSessions(graphs, opts);
}
