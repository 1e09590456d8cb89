// Re-renders the report and the summary line from the raw results of the last run (no measurement): for a change
// to bench/report.ts or bench/summary.ts. Usage: node --import tsx bench/render.ts (same BENCH_* settings as the run).
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadBenchConfig } from "./config.ts";
import { writeReport } from "./report.ts";
import { summarize, type BenchResults } from "./summary.ts";

const cfg = loadBenchConfig(process.env);
const results = JSON.parse(readFileSync(path.join(cfg.workDir, "results.json"), "utf8")) as BenchResults;
const summary = summarize(cfg, results);
writeReport(cfg, results, summary);
process.stdout.write(`${JSON.stringify(summary)}\n`);
