// Which model bundle the platform runs when nobody names one. `models/DEFAULT` holds the folder name of the
// default bundle, because "newest by mtime" means nothing in a fresh clone (every file has the checkout's time)
// and the repository ships more than one bundle. A lone bundle folder needs no DEFAULT.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "models");
export const DEFAULT_FILE = "DEFAULT";

export type ShippedBundle = { dir: string; issue?: undefined } | { dir?: undefined; issue: string };

const hasManifest = (dir: string) => existsSync(path.join(dir, "manifest.json"));

/** The default bundle folder under `modelsDir`, or why there is none (a message naming the fix). */
export function shippedBundle(modelsDir = MODELS_DIR): ShippedBundle {
  const marker = path.join(modelsDir, DEFAULT_FILE);
  if (existsSync(marker)) {
    const name = readFileSync(marker, "utf8").trim();
    if (!name || name.includes("/") || name.includes("\\") || name.startsWith("."))
      return { issue: `${marker} must hold one bundle folder name, got "${name}"` };
    const dir = path.join(modelsDir, name);
    return hasManifest(dir) ? { dir } : { issue: `${marker} names "${name}", but ${dir} has no manifest.json` };
  }
  const bundles = existsSync(modelsDir)
    ? readdirSync(modelsDir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => path.join(modelsDir, e.name))
        .filter(hasManifest)
    : [];
  if (bundles.length === 1) return { dir: bundles[0]! };
  if (bundles.length === 0) return { issue: `no bundle (a folder with manifest.json) under ${modelsDir}` };
  return { issue: `${bundles.length} bundles under ${modelsDir} and no ${DEFAULT_FILE} file naming the default one` };
}
