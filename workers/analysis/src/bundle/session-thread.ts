/**
 * Worker-thread side of the threaded sessions: owns the ONNX Runtime sessions and runs graphs on
 * request, so that their synchronous runs never block the main event loop.
 */
import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { runDecode, type DecodeRequest, type Decoded } from "../inference/decoder.ts";
import type { GraphSession, SessionOptions, TensorData } from "./sessions.ts";

export type HostRequest =
  | { op: "load"; graphs: { graph: string; file: string; bytes: Uint8Array }[]; options: ort.InferenceSession.SessionOptions }
  | { op: "run"; id: number; graph: string; feeds: Record<string, TensorData> }
  | { op: "decode"; id: number; graph: string; request: DecodeRequest }
  | { op: "release" };

export type HostReply =
  | { op: "loaded"; ok: true; names: Record<string, { inputs: string[]; outputs: string[] }> }
  | { op: "loaded"; ok: false; graph: string; file: string; message: string }
  | { op: "ran"; id: number; ok: true; outputs: Record<string, TensorData> }
  | { op: "ran"; id: number; ok: false; message: string }
  | { op: "decoded"; id: number; ok: true; result: Decoded }
  | { op: "decoded"; id: number; ok: false; message: string }
  | { op: "released" };

export type { SessionOptions };

const sessions = new Map<string, ort.InferenceSession>();
const port = parentPort!;

/** The thread's own session as a GraphSession, for the decoder loop that runs here. */
function localSession(s: ort.InferenceSession): GraphSession {
  return {
    inputNames: [...s.inputNames],
    outputNames: [...s.outputNames],
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(v.type as "float32", v.data as Float32Array, v.dims);
      return (await s.run(ortFeeds)) as Record<string, ort.Tensor>;
    },
  };
}

async function handle(msg: HostRequest): Promise<HostReply> {
  switch (msg.op) {
    case "load": {
      const names: Record<string, { inputs: string[]; outputs: string[] }> = {};
      for (const g of msg.graphs) {
        try {
          const s = await ort.InferenceSession.create(g.bytes, msg.options);
          sessions.set(g.graph, s);
          names[g.graph] = { inputs: [...s.inputNames], outputs: [...s.outputNames] };
        } catch (e) {
          return { op: "loaded", ok: false, graph: g.graph, file: g.file, message: e instanceof Error ? e.message : String(e) };
        }
      }
      return { op: "loaded", ok: true, names };
    }
    case "run": {
      try {
        const s = sessions.get(msg.graph);
        if (!s) throw new Error(`no session for graph ${msg.graph}`);
        const feeds: Record<string, ort.Tensor> = {};
        for (const [k, v] of Object.entries(msg.feeds)) feeds[k] = new ort.Tensor(v.type as "float32", v.data as Float32Array, v.dims);
        const out = await s.run(feeds);
        const outputs: Record<string, TensorData> = {};
        for (const [k, v] of Object.entries(out)) {
          const t = v as ort.Tensor;
          outputs[k] = { type: t.type, data: t.data as Float32Array, dims: [...t.dims] };
        }
        return { op: "ran", id: msg.id, ok: true, outputs };
      } catch (e) {
        return { op: "ran", id: msg.id, ok: false, message: e instanceof Error ? e.message : String(e) };
      }
    }
    case "decode": {
      try {
        const s = sessions.get(msg.graph);
        if (!s) throw new Error(`no session for graph ${msg.graph}`);
        return { op: "decoded", id: msg.id, ok: true, result: await runDecode(localSession(s), msg.request) };
      } catch (e) {
        return { op: "decoded", id: msg.id, ok: false, message: e instanceof Error ? e.message : String(e) };
      }
    }
    case "release":
      await Promise.all([...sessions.values()].map((s) => s.release()));
      sessions.clear();
      return { op: "released" };
  }
}

port.on("message", (msg: HostRequest) => {
  void handle(msg).then((reply) => port.postMessage(reply));
});
