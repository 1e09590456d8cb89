import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MODELS_DIR, shippedBundle } from "../../lib/bundles/index.ts";

function modelsDir(t: { after: (fn: () => void) => void }, bundles: string[], marker?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "models-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const b of bundles) {
    mkdirSync(path.join(dir, b));
    writeFileSync(path.join(dir, b, "manifest.json"), "{}");
  }
  if (marker !== undefined) writeFileSync(path.join(dir, "DEFAULT"), marker);
  return dir;
}

test("the DEFAULT file picks the bundle, whatever the folders' ages", (t) => {
  const dir = modelsDir(t, ["a-0.1", "b-0.2"], "a-0.1\n");
  assert.deepEqual(shippedBundle(dir), { dir: path.join(dir, "a-0.1") });
});

test("a lone bundle is the default without a DEFAULT file", (t) => {
  const dir = modelsDir(t, ["only"]);
  assert.deepEqual(shippedBundle(dir), { dir: path.join(dir, "only") });
});

test("several bundles without DEFAULT, none at all, or a DEFAULT naming nothing each say what is wrong", (t) => {
  assert.match(shippedBundle(modelsDir(t, ["a", "b"])).issue ?? "", /2 bundles .* no DEFAULT/);
  assert.match(shippedBundle(modelsDir(t, [])).issue ?? "", /no bundle/);
  assert.match(shippedBundle(modelsDir(t, ["a"], "gone")).issue ?? "", /names "gone", but .* no manifest.json/);
  assert.match(shippedBundle(modelsDir(t, ["a"], "../a")).issue ?? "", /one bundle folder name/);
});

test("the repository's models/DEFAULT names a shipped bundle", () => {
  const found = shippedBundle(MODELS_DIR);
  assert.equal(found.issue, undefined);
  assert.ok(found.dir?.startsWith(MODELS_DIR));
});
