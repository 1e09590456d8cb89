// The checked-in JSON Schema of manifest.json is what the zod schema generates today (the Python exporter's
// tests validate their output against that file, so a stale copy would let the two sides drift apart).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { manifestJsonSchema, manifestJsonSchemaText } from "../../workers/analysis/src/bundle/manifest-json-schema.ts";

const checkedIn = join(import.meta.dirname, "..", "..", "docs", "contracts", "model-bundle.schema.json");

test("the checked-in manifest JSON Schema equals the one generated from the zod schema", () => {
  assert.equal(readFileSync(checkedIn, "utf8"), manifestJsonSchemaText(), "stale: run npm run contracts:manifest-schema");
});

test("the manifest JSON Schema requires the fields the worker depends on and pins the preprocessing constants", () => {
  const schema = manifestJsonSchema() as { required: string[]; properties: Record<string, { properties?: Record<string, unknown> }> };
  for (const field of ["format_version", "preprocessing", "labels", "regions", "tokenizer", "graphs", "files", "parity"]) {
    assert.ok(schema.required.includes(field), `${field} required`);
  }
  assert.deepEqual(schema.properties.preprocessing?.properties?.channels, { type: "number", const: 1 });
});
