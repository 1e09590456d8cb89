// The adversarial suite's configuration: the only place it reads the environment (main.ts passes process.env).
// Every problem is listed at once (lib/config).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { shippedBundle } from "../../lib/bundles/index.ts";
import { env, loadConfig, z, type Env } from "../../lib/config/index.ts";
import { ConfigError } from "../../lib/errors/index.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const schema = z.object({
  /** trimmed: shorter attack windows and fewer requests per attack (the CI tier); full: the standing run */
  ADVERSARIAL_MODE: env.enumOf(["full", "trimmed"] as const, "full"),
  /** the bundle the worker loads; default $GKMVLP_BUNDLE, then the shipped default (models/DEFAULT) */
  GKMVLP_BUNDLE: env.string().optional(),
  /** an answer later than this is "hung" */
  ADVERSARIAL_DEADLINE_MS: env.int(20_000, 1000),
  /** the normal client's target: its p95 during any single attack */
  ADVERSARIAL_P95_TARGET_MS: env.int(500, 1),
  /** pause between two requests of the normal client */
  ADVERSARIAL_NORMAL_INTERVAL_MS: env.int(25, 0),
  /** concurrent connections of the one-principal request flood */
  ADVERSARIAL_FLOOD_CONCURRENCY: env.int(8, 1),
  /** only attacks whose name contains one of these (comma-separated); default all */
  ADVERSARIAL_ONLY: env.list().optional(),
  /** scratch: stack data, logs (git-ignored); removed first */
  ADVERSARIAL_WORK_DIR: z.string().default(".local/adversarial"),
});

export interface AdversarialConfig {
  mode: "full" | "trimmed";
  bundleDir: string;
  deadlineMs: number;
  p95TargetMs: number;
  normalIntervalMs: number;
  floodConcurrency: number;
  /** how long each attack runs (repeated attacks loop for this long) */
  windowMs: number;
  only?: string[];
  workDir: string;
}

export function loadAdversarialConfig(source: Env): AdversarialConfig {
  const c = loadConfig("adversarial", schema, source);
  const shipped = shippedBundle();
  const bundleDir = c.GKMVLP_BUNDLE ? path.resolve(REPO_ROOT, c.GKMVLP_BUNDLE) : shipped.dir;
  const issues: string[] = [];
  if (!bundleDir) issues.push(`GKMVLP_BUNDLE: not set, and ${shipped.issue}`);
  else if (!existsSync(path.join(bundleDir, "manifest.json"))) issues.push(`GKMVLP_BUNDLE: ${bundleDir} has no manifest.json`);
  if (issues.length) throw new ConfigError("adversarial", issues);
  return {
    mode: c.ADVERSARIAL_MODE,
    bundleDir: bundleDir!,
    deadlineMs: c.ADVERSARIAL_DEADLINE_MS,
    p95TargetMs: c.ADVERSARIAL_P95_TARGET_MS,
    normalIntervalMs: c.ADVERSARIAL_NORMAL_INTERVAL_MS,
    floodConcurrency: c.ADVERSARIAL_FLOOD_CONCURRENCY,
    windowMs: c.ADVERSARIAL_MODE === "full" ? 3000 : 1200,
    only: c.ADVERSARIAL_ONLY,
    workDir: path.resolve(REPO_ROOT, c.ADVERSARIAL_WORK_DIR),
  };
}
