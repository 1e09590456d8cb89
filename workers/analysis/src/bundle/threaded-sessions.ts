/** Main-thread side of the threaded sessions: every run is a message to the session thread. */
import type { DecodeRequest, Decoded } from "../inference/decoder.ts";
import { InferenceError } from "./errors.ts";
import type { GraphName } from "./manifest.ts";
import type { HostReply, HostRequest } from "./session-thread.ts";
import { ortOptions, sessionCreateError, type GraphSession, type SessionHost, type SessionOptions, type TensorData } from "./sessions.ts";
import { startTsWorker } from "./ts-worker.ts";

export async function createThreadedSessions(
  graphs: { graph: GraphName; file: string; bytes: Uint8Array }[],
  opts: SessionOptions,
): Promise<SessionHost> {
  const worker = startTsWorker(new URL("./session-thread.ts", import.meta.url));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- run resolves outputs, decode a Decoded
  const pending = new Map<number, { resolve: (o: any) => void; reject: (e: unknown) => void; graph: string }>();
  let onLoaded: ((r: HostReply) => void) | null = null;
  let onReleased: (() => void) | null = null;
  let dead: Error | null = null;
  let nextId = 1;

  const failAll = (e: Error) => {
    dead = e;
    for (const p of pending.values())
      p.reject(new InferenceError("INFERENCE_FAILED", `${p.graph}: session thread failed: ${e.message}`, { retriable: true, cause: e }));
    pending.clear();
    onLoaded?.({ op: "loaded", ok: false, graph: "session thread", file: "-", message: e.message });
  };
  worker.on("error", failAll);
  worker.on("exit", (code) => failAll(new Error(`session thread exited (code ${code})`)));
  worker.on("message", (r: HostReply) => {
    if (r.op === "loaded") onLoaded?.(r);
    else if (r.op === "released") onReleased?.();
    else {
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if (pending.size === 0) worker.unref(); // idle: do not keep the process alive
      if (r.ok) p.resolve(r.op === "ran" ? r.outputs : r.result);
      else p.reject(new InferenceError("INFERENCE_FAILED", `${p.graph} failed: ${r.message}`, { retriable: true }));
    }
  });

  const post = (m: HostRequest) => worker.postMessage(m);
  const loaded = await new Promise<HostReply>((resolve) => {
    onLoaded = resolve;
    post({ op: "load", graphs: graphs.map((g) => ({ graph: g.graph, file: g.file, bytes: g.bytes })), options: ortOptions(opts) });
  });
  onLoaded = null;
  if (loaded.op !== "loaded" || !loaded.ok) {
    await worker.terminate();
    const r = loaded as Extract<HostReply, { ok: false; op: "loaded" }>;
    throw sessionCreateError(r.graph, r.file, opts.executionProviders, r.message);
  }
  worker.unref();

  const sessions: SessionHost["sessions"] = {};
  for (const g of graphs) {
    const names = loaded.names[g.graph]!;
    const session: GraphSession = {
      inputNames: names.inputs,
      outputNames: names.outputs,
      run(feeds) {
        if (dead)
          return Promise.reject(
            new InferenceError("INFERENCE_FAILED", `${g.graph}: session thread is gone: ${dead.message}`, { retriable: true }),
          );
        const id = nextId++;
        // Plain copies (ort.Tensor exposes its fields through getters, which structured clone skips).
        const plain: Record<string, TensorData> = {};
        for (const [k, v] of Object.entries(feeds)) plain[k] = { type: v.type, data: v.data, dims: [...v.dims] };
        return new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject, graph: g.graph });
          worker.ref();
          post({ op: "run", id, graph: g.graph, feeds: plain });
        });
      },
    };
    if (g.graph === "report_decoder_step") {
      session.decode = (request: DecodeRequest) => {
        if (dead)
          return Promise.reject(
            new InferenceError("INFERENCE_FAILED", `${g.graph}: session thread is gone: ${dead.message}`, { retriable: true }),
          );
        const id = nextId++;
        return new Promise<Decoded>((resolve, reject) => {
          pending.set(id, { resolve, reject, graph: g.graph });
          worker.ref();
          post({ op: "decode", id, graph: g.graph, request });
        });
      };
    }
    sessions[g.graph] = session;
  }

  return {
    sessions,
    alive: () => dead === null,
    async release() {
      if (dead) return;
      worker.ref();
      await new Promise<void>((resolve) => {
        onReleased = resolve;
        post({ op: "release" });
        setTimeout(resolve, 2000).unref();
      });
      worker.removeAllListeners("exit");
      dead = new Error("released");
      await worker.terminate();
    },
  };
}
