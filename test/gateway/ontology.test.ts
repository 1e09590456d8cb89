// The gateway's fallback label and region lists (served before any model is registered) must be the bundle
// contract's: the same names in the same order as the shipped bundle's manifest (written from ontology.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { shippedBundle } from "../../lib/bundles/index.ts";
import { DEFAULT_LABELS, DEFAULT_REGIONS } from "../../services/gateway/src/graphql/ontology.ts";

test("the gateway's default labels and regions are the shipped bundle's, in order", () => {
  const { dir, issue } = shippedBundle();
  assert.ok(dir, issue);
  const manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as { labels: string[]; regions: string[] };
  assert.deepEqual([...DEFAULT_LABELS], manifest.labels);
  assert.deepEqual([...DEFAULT_REGIONS], manifest.regions);
});
