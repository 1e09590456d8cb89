// A description of the machine a benchmark ran on: CPU model and flags that matter for inference, cores,
// memory, load average at start, software versions. Written into docs/benchmarks.md beside the figures.
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";

export interface MachineInfo {
  cpuModel: string;
  logicalCpus: number;
  /** cores the process may run on (sched affinity, cgroup quota) */
  availableParallelism: number;
  cgroupCpuQuota: string | null;
  memTotalGiB: number;
  memAvailableGiB: number;
  loadAverage: [number, number, number];
  simd: string[];
  kernel: string;
  node: string;
  onnxruntimeNode: string;
  hostname: string;
  startedAt: string;
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

export function describeMachine(ortVersion: string): MachineInfo {
  const cpuinfo = readOr("/proc/cpuinfo") ?? "";
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  const flags = new Set((/flags\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? "").split(/\s+/));
  const simd = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"].filter((f) => flags.has(f));
  const meminfo = readOr("/proc/meminfo") ?? "";
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(meminfo)?.[1] ?? NaN);
  const quota = readOr("/sys/fs/cgroup/cpu.max")?.trim() ?? null;
  const [l1, l5, l15] = os.loadavg();
  return {
    cpuModel: model,
    logicalCpus: os.cpus().length,
    availableParallelism: os.availableParallelism(),
    cgroupCpuQuota: quota,
    memTotalGiB: Math.round((kb("MemTotal") / 1024 / 1024) * 10) / 10,
    memAvailableGiB: Math.round((kb("MemAvailable") / 1024 / 1024) * 10) / 10,
    loadAverage: [l1!, l5!, l15!].map((v) => Math.round(v * 100) / 100) as [number, number, number],
    simd,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    onnxruntimeNode: ortVersion,
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
  };
}

export const loadAverageNow = () => os.loadavg().map((v) => Math.round(v * 100) / 100);

/** Resident set size of a process from /proc (MiB), or null when it is gone. */
export function rssMiB(pid: number): { rss: number; hwm: number } | null {
  const s = readOr(`/proc/${pid}/status`);
  if (!s) return null;
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
  return { rss: Math.round(kb("VmRSS") / 1024), hwm: Math.round(kb("VmHWM") / 1024) };
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64

/** CPU seconds (user + system, all threads) used so far by `pid` and every process below it (/proc). */
export function cpuSecondsOfTree(rootPid: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return NaN;
  }
  for (const d of entries) {
    const stat = readOr(`/proc/${d}/stat`);
    if (!stat) continue;
    // fields after the command name (which may contain spaces) start after the last ')'
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    parent.set(Number(d), Number(rest[1]));
    ticks.set(Number(d), Number(rest[11]) + Number(rest[12]));
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) if (p === rootPid) return true;
    return false;
  };
  let total = 0;
  for (const [pid, t] of ticks) if (inTree(pid)) total += t;
  return total / CLK_TCK;
}
