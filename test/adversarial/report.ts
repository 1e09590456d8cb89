// The suite's output: a table per attack and the one-line summary (the LAST line of stdout).
import { percentile, round } from "../../bench/lib/stats.ts";
import type { Outcome } from "./classify.ts";
import type { NormalSample } from "./normal.ts";

export interface AttackRow {
  name: string;
  family: string;
  outcome: Outcome;
  /** answers the attacker got */
  answers: number;
  seconds: number;
  normal: { n: number; p50: number; p95: number; errors: number };
  reasons: string[];
}

export function normalStats(samples: readonly NormalSample[]): AttackRow["normal"] {
  const ms = samples.map((s) => s.ms);
  return {
    n: ms.length,
    p50: round(percentile(ms, 50), 1),
    p95: round(percentile(ms, 95), 1),
    errors: samples.filter((s) => !s.ok).length,
  };
}

export function formatTable(rows: readonly AttackRow[], targetMs: number): string {
  const head = ["family", "attack", "outcome", "answers", "s", "normal n", "p50 ms", "p95 ms", ""];
  const body = rows.map((r) => [
    r.family,
    r.name,
    r.outcome,
    String(r.answers),
    r.seconds.toFixed(1),
    String(r.normal.n),
    fmt(r.normal.p50),
    fmt(r.normal.p95),
    r.normal.p95 > targetMs ? `over ${targetMs} ms` : r.normal.errors ? `${r.normal.errors} normal errors` : "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const notes = rows.flatMap((r) => r.reasons.map((why) => `  ${r.name} [${r.outcome}]: ${why}`));
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line), ...(notes.length ? ["", "why:", ...notes] : [])].join(
    "\n",
  );
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "-");

export function summarize(rows: readonly AttackRow[], extra: Record<string, unknown>) {
  const count = (o: Outcome) => rows.filter((r) => r.outcome === o).length;
  const p95s = rows.map((r) => r.normal.p95).filter(Number.isFinite);
  return {
    attacks: rows.length,
    refused: count("refused"),
    leaked: count("leaked"),
    hung: count("hung"),
    crashed: count("crashed"),
    max_normal_p95_ms_under_attack: p95s.length ? Math.max(...p95s) : null,
    absorbed: count("absorbed"),
    unexpected: count("unexpected"),
    normal_errors: rows.reduce((s, r) => s + r.normal.errors, 0),
    ...extra,
  };
}
