// The labeller's rules as the shipped bundle carries them (manifest.json `mention_rules`), for tests that build
// manifests or mention finders by hand; and the cross-language cases the Python labeller wrote.
import { readFileSync } from "node:fs";
import path from "node:path";
import { shippedBundle } from "../../lib/bundles/index.ts";
import { type MentionRulesSpec, compileMentionRules, type MentionRules } from "../../workers/analysis/src/bundle/mention-rules.ts";

export function shippedMentionRulesSpec(): MentionRulesSpec {
  const { dir, issue } = shippedBundle();
  if (!dir) throw new Error(`no shipped bundle: ${issue}`);
  return (JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as { mention_rules: MentionRulesSpec }).mention_rules;
}

export const shippedMentionRules = (): MentionRules => compileMentionRules(shippedMentionRulesSpec());

export interface MentionCase {
  sentence: string;
  mentions: { label: string; start: number; end: number; status: "positive" | "negative" | "uncertain" }[];
}

export function mentionCases(): MentionCase[] {
  const file = path.join(import.meta.dirname, "..", "..", "docs", "contracts", "mention-cases.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { cases: MentionCase[] }).cases;
}
