// Writes docs/contracts/model-bundle.schema.json from the worker's zod schema of manifest.json, so that the
// Python exporter's tests can validate what it writes against the same contract the worker enforces.
// `--check` exits 1 when the checked-in file differs (the TypeScript tests run the same comparison).
// Cross-field rules (superRefine: thresholds per label, graphs per task, file hashes) cannot be expressed in
// JSON Schema; the worker still enforces them and the golden-vector tests cover them on both sides.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { manifestJsonSchemaText } from "../workers/analysis/src/bundle/manifest-json-schema.ts";

const target = join(import.meta.dirname, "..", "docs", "contracts", "model-bundle.schema.json");
const text = manifestJsonSchemaText();
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    /* missing: reported below */
  }
  if (current !== text) {
    console.error(`${target} is stale: run npm run contracts:manifest-schema`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
