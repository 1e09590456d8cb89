// Summarises V8 .cpuprofile files (node --cpu-prof) of the gateway and the worker: self time per package or
// project folder, and the hottest functions. Native time spent inside ONNX Runtime or PostgreSQL's client
// library shows up as "(program)" (outside JavaScript).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../config.ts";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  byArea: { area: string; ms: number; share: number }[];
  topFunctions: { fn: string; area: string; ms: number; share: number }[];
}

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  if (url.startsWith("node:")) return "node:internal";
  const p = url.replace(/^file:\/\//, "");
  const nm = p.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = p.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const rel = path.relative(REPO_ROOT, p);
  if (!rel.startsWith("..")) return rel.split(path.sep).slice(0, 2).join("/");
  return "other";
}

export function summarizeProfile(file: string): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  if (prof.samples && prof.timeDeltas) {
    prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas![i] ?? 0) / 1000));
  } else {
    const total = (prof.endTime - prof.startTime) / 1000;
    const hits = prof.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    for (const n of prof.nodes) self.set(n.id, ((n.hitCount ?? 0) / hits) * total);
  }
  const areas = new Map<string, number>();
  const fns = new Map<string, { area: string; ms: number }>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === "(idle)") continue;
    totalMs += ms;
    const a = area(n.callFrame.url, n.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const key = `${n.callFrame.functionName || "(anonymous)"} ${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    const f = fns.get(key) ?? { area: a, ms: 0 };
    f.ms += ms;
    fns.set(key, f);
  }
  const r1 = (v: number) => Math.round(v * 10) / 10;
  return {
    file: path.relative(REPO_ROOT, file),
    totalMs: r1(totalMs),
    byArea: [...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([a, ms]) => ({ area: a, ms: r1(ms), share: r1((100 * ms) / totalMs) })),
    topFunctions: [...fns]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 10)
      .map(([fn, v]) => ({ fn, area: v.area, ms: r1(v.ms), share: r1((100 * v.ms) / totalMs) })),
  };
}

/** Every .cpuprofile under dir (one per thread: the main thread's is the largest). */
export function summarizeProfiles(dir: string): ProfileSummary[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => summarizeProfile(path.join(dir, f)))
    .sort((a, b) => b.totalMs - a.totalMs);
}
