// The worker reads reports with the rules the bundle carries, and finds exactly what the Python labeller finds
// in the cases it wrote (docs/contracts/mention-cases.json, regenerated and checked by the Python tests).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseManifest } from "../../workers/analysis/src/bundle/manifest.ts";
import { compileMentionRules } from "../../workers/analysis/src/bundle/mention-rules.ts";
import { MentionFinder } from "../../workers/analysis/src/inference/mentions.ts";
import { validManifest } from "./manifests.ts";
import { mentionCases, shippedMentionRulesSpec } from "./mention-rules-fixture.ts";

const key = (m: { label: string; start: number; end: number; status?: string }) => `${m.start}:${m.end}:${m.label}:${m.status}`;

describe("mention rules from the manifest", () => {
  it("find the same label mentions, spans and statuses as labeller.py in every cross-language case", () => {
    const spec = shippedMentionRulesSpec();
    const finder = new MentionFinder(Object.keys(spec.mentions), [], compileMentionRules(spec));
    const cases = mentionCases();
    assert.ok(cases.length >= 50, "the Python side wrote its cases");
    assert.ok(new Set(cases.flatMap((c) => c.mentions.map((m) => m.status))).size === 3, "cases cover all three statuses");
    for (const c of cases) {
      const got = finder
        .find(c.sentence)
        .filter((m) => m.kind === "label")
        .map((m) => key({ label: m.name, start: m.start, end: m.end, status: m.status }))
        .sort();
      assert.deepEqual(got, c.mentions.map(key).sort(), c.sentence);
    }
  });

  it("are required, and a pattern ECMAScript cannot compile is reported with its path", () => {
    const missing = validManifest();
    delete missing.mention_rules;
    assert.throws(() => parseManifest(missing), /mention_rules/);
    const broken = validManifest();
    broken.mention_rules.mentions.Cardiomegaly = ["cardiomegaly", "(?P<py>only)"];
    assert.throws(() => parseManifest(broken), /mention_rules\.mentions\.Cardiomegaly\[1\].*ECMAScript/);
  });

  it("anchor the after-mention rules at the mention's end, as Python's re.match does", () => {
    const spec = shippedMentionRulesSpec();
    const finder = new MentionFinder(["Pneumothorax"], [], compileMentionRules(spec));
    const status = (t: string) => finder.find(t).map((m) => m.status);
    assert.deepEqual(status("pneumothorax is not seen"), ["negative"]);
    // the same words later in the sentence are no post-negation of this mention
    assert.deepEqual(status("pneumothorax on the left; the fracture is not seen"), ["positive"]);
  });
});
