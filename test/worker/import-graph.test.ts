// The worker is cut by concern (bundle/, runtime/, image/, inference/, loop/) with no import circle, type imports
// included: a circle means two folders cannot be understood or changed apart.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

const SRC = path.join(import.meta.dirname, "..", "..", "workers", "analysis", "src");
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+\.ts)"/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
}

/** Every cycle's smallest member order, as paths relative to SRC. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") found.push(stack.slice(stack.indexOf(next)).map((f) => path.relative(SRC, f)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

test("the worker's modules import each other without a circle (type imports included)", () => {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, "utf8");
    graph.set(
      file,
      [...text.matchAll(IMPORT)].map((m) => path.resolve(path.dirname(file), m[1]!)),
    );
  }
  assert.ok(graph.size > 30, "found the worker's sources");
  assert.deepEqual(cycles(graph), []);
});

test("the cycle finder reports a circle", () => {
  const a = path.join(SRC, "a.ts");
  const b = path.join(SRC, "b.ts");
  assert.deepEqual(
    cycles(
      new Map([
        [a, [b]],
        [b, [a]],
      ]),
    ),
    [["a.ts", "b.ts"]],
  );
});
