// `npm run bench` must leave the work tree clean unless asked to refresh the committed report.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { loadBenchConfig, REPO_ROOT } from "../../bench/config.ts";

test("a plain bench run writes its report and plots under the git-ignored work folder", () => {
  const cfg = loadBenchConfig({});
  assert.equal(cfg.docPath, path.join(REPO_ROOT, ".local", "bench", "benchmarks.md"));
  assert.equal(cfg.plotsDir, path.join(REPO_ROOT, ".local", "bench", "plots"));
});

test("BENCH_REFRESH_DOCS=1 rewrites the committed docs/benchmarks.md and docs/bench plots", () => {
  const cfg = loadBenchConfig({ BENCH_REFRESH_DOCS: "1" });
  assert.equal(cfg.docPath, path.join(REPO_ROOT, "docs", "benchmarks.md"));
  assert.equal(cfg.plotsDir, path.join(REPO_ROOT, "docs", "bench"));
  assert.match(cfg.command, /BENCH_REFRESH_DOCS=1 npm run bench/);
});
