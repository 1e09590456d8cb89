// Counters and per-task latencies of this worker process (for /stats, heartbeats and the tests' figures).
import type { MessageReport } from "./processor.ts";

interface Series {
  count: number;
  totalMs: number[];
  inferMs: number[];
  loadMs: number[];
  encodeMs: number[];
  writeMs: number[];
}

const KEEP = 500;

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;
}

export function createStats() {
  const counts = { succeeded: 0, skipped: 0, failed: 0, deadLettered: 0, messages: 0 };
  const perTask = new Map<string, Series>();

  return {
    /** one consumed message: analyses are counted one by one, the job's timings go to each succeeded task */
    record(report: MessageReport) {
      counts.messages += 1;
      for (const analysis of report.analyses) {
        if (analysis.outcome === "succeeded") counts.succeeded += 1;
        else if (analysis.outcome === "skipped") counts.skipped += 1;
        else if (analysis.outcome === "failed") counts.failed += 1;
        if (analysis.outcome !== "succeeded" || !report.timings) continue;
        let s = perTask.get(analysis.task);
        if (!s) perTask.set(analysis.task, (s = { count: 0, totalMs: [], inferMs: [], loadMs: [], encodeMs: [], writeMs: [] }));
        s.count += 1;
        const { totalMs, inferMs, loadMs, encodeMs, writeMs } = report.timings;
        for (const [series, value] of [
          [s.totalMs, totalMs],
          [s.inferMs, inferMs],
          [s.loadMs, loadMs],
          [s.encodeMs, encodeMs],
          [s.writeMs, writeMs],
        ] as const) {
          series.push(value);
          if (series.length > KEEP) series.shift();
        }
      }
      // a skipped job with no analysis row touched (already processed, all terminal) still counts as skipped
      if (report.outcome === "skipped" && report.analyses.length === 0) counts.skipped += 1;
    },
    /** every dead letter published (malformed, unknown analysis, or failed analysis) */
    deadLettered() {
      counts.deadLettered += 1;
    },
    processed: () => counts.succeeded + counts.skipped + counts.failed,
    failed: () => counts.failed,
    snapshot() {
      const tasks: Record<
        string,
        {
          count: number;
          p50Ms: number | null;
          p95Ms: number | null;
          loadP50Ms: number | null;
          encodeP50Ms: number | null;
          inferP50Ms: number | null;
          writeP50Ms: number | null;
        }
      > = {};
      for (const [task, s] of perTask) {
        tasks[task] = {
          count: s.count,
          p50Ms: percentile(s.totalMs, 50),
          p95Ms: percentile(s.totalMs, 95),
          loadP50Ms: percentile(s.loadMs, 50),
          encodeP50Ms: percentile(s.encodeMs, 50),
          inferP50Ms: percentile(s.inferMs, 50),
          writeP50Ms: percentile(s.writeMs, 50),
        };
      }
      return { counts: { ...counts }, tasks };
    },
  };
}
