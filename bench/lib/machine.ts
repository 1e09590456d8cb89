// A description of the machine a benchmark ran on: CPU model and flags that matter for inference, cores,
// memory, load average at start, software versions. Written into docs/benchmarks.md beside the figures.
import { readFileSync } from "node:fs";
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
