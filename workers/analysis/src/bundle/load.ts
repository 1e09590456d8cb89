/**
 * loadBundle(dir): manifest → hashes → vocabulary → one ONNX Runtime session per graph.
 *
 * Every file listed in the manifest is read into memory and hashed; sessions are created from those
 * very bytes, so what runs is exactly what was verified (no window for the file to change between
 * the check and the load). Sessions run on a worker thread by default (see sessions.ts: why). The bundle hash recorded on every result is the sha256 of manifest.json,
 * which itself pins every other file's hash.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { BundleError } from "./errors.ts";
import { GRAPH_IO, parseManifest, requiredGraphs, type GraphName, type Manifest } from "./manifest.ts";
import { checkDeclaredSizes } from "./sizes.ts";
import { parseVocab } from "./vocab.ts";
import { createSessions, type GraphSession, type SessionOptions } from "./sessions.ts";

export type { ExecutionProvider, GraphSession, SessionOptions, TensorData } from "./sessions.ts";

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  executionProviders: ["cpu"],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  runIn: "thread",
};

export interface Bundle {
  dir: string;
  manifest: Manifest;
  /** sha256 of manifest.json: identifies the bundle (and, through it, every file) on results. */
  bundleHash: string;
  vocab: readonly string[];
  sessions: Partial<Record<GraphName, GraphSession>>;
  sessionOptions: SessionOptions;
  /** false once the sessions can no longer run (released, or their thread died): a health signal */
  alive(): boolean;
  release(): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function readListed(dir: string, rel: string): Promise<Buffer> {
  try {
    return await readFile(path.join(dir, ...rel.split("/")));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BundleError("BUNDLE_INCOMPLETE", `bundle ${dir}: listed file ${rel} cannot be read (${code ?? String(e)})`, { cause: e });
  }
}

/** Reads and hashes every listed file; refuses the bundle on the first missing file or on any mismatch. */
async function readVerifiedFiles(dir: string, manifest: Manifest): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const mismatches: string[] = [];
  for (const [rel, expected] of Object.entries(manifest.files)) {
    const bytes = await readListed(dir, rel);
    const actual = sha256(bytes);
    if (actual !== expected) mismatches.push(`${rel}: sha256 ${actual} != manifest ${expected}`);
    files.set(rel, bytes);
  }
  if (mismatches.length > 0) {
    throw new BundleError("BUNDLE_HASH_MISMATCH", `bundle ${dir} was modified after export:\n  - ${mismatches.join("\n  - ")}`, {
      details: mismatches,
    });
  }
  return files;
}

function checkSessionIo(graph: GraphName, session: GraphSession, manifest: Manifest): void {
  const spec = manifest.graphs[graph]!;
  const problems: string[] = [];
  const compare = (dir: "inputs" | "outputs", actual: readonly string[]) => {
    const declared = spec[dir].map((s) => s.name);
    const a = [...actual].sort().join(",");
    const d = [...declared].sort().join(",");
    if (a !== d) problems.push(`${dir}: graph has [${actual.join(", ")}], manifest declares [${declared.join(", ")}]`);
    for (const name of GRAPH_IO[graph][dir]) if (!actual.includes(name)) problems.push(`${dir}: engine needs "${name}"`);
  };
  compare("inputs", session.inputNames);
  compare("outputs", session.outputNames);
  if (problems.length) {
    throw new BundleError("GRAPH_MISMATCH", `graph ${graph} (${spec.file}) does not match the manifest:\n  - ${problems.join("\n  - ")}`, {
      details: problems,
    });
  }
}

/** Loads and verifies a bundle; sessions are created only for the graphs the manifest's tasks (and reliability model) need. */
export async function loadBundle(dir: string, options: Partial<SessionOptions> = {}): Promise<Bundle> {
  const opts: SessionOptions = { ...DEFAULT_SESSION_OPTIONS, ...options };
  const manifestPath = path.join(dir, "manifest.json");
  let raw: Buffer;
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error("not a directory");
    raw = await readFile(manifestPath);
  } catch (e) {
    throw new BundleError("BUNDLE_NOT_FOUND", `no model bundle at ${dir} (${manifestPath} cannot be read)`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch (e) {
    throw new BundleError("MANIFEST_INVALID", `${manifestPath} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const manifest = parseManifest(json, manifestPath);
  const files = await readVerifiedFiles(dir, manifest);
  const vocab = parseVocab(files.get(manifest.tokenizer.vocab_file)!, manifest.tokenizer.vocab_file);
  checkDeclaredSizes(manifest, vocab.length);

  const graphs = requiredGraphs(manifest).map((graph) => {
    const file = manifest.graphs[graph]!.file;
    return { graph, file, bytes: files.get(file)! };
  });
  const host = await createSessions(graphs, opts);
  try {
    for (const g of graphs) checkSessionIo(g.graph, host.sessions[g.graph]!, manifest);
  } catch (e) {
    await host.release();
    throw e;
  }
  const { sessions, release, alive } = host;
  return { dir, manifest, bundleHash: sha256(raw), vocab, sessions, sessionOptions: opts, alive, release };
}
