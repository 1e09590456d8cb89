// Chooses where a bundle's sessions run: in-process, or (the default) on a worker thread (graph-session.ts: why).
import * as ort from "onnxruntime-node";
import type { GraphName } from "../bundle/manifest.ts";
import { ortOptions, runError, sessionCreateError, toOrtTensor, type SessionHost, type SessionOptions } from "./graph-session.ts";
import { createThreadedSessions } from "./threaded-sessions.ts";

export type { ExecutionProvider, GraphSession, SessionHost, SessionOptions, TensorData } from "./graph-session.ts";

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
