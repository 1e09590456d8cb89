/**
 * `mention_rules` of manifest.json: the Python labeller's mention, negation and uncertainty patterns as data
 * (training/gkmvlp/text/rules.py writes them; docs/contracts/model-bundle.md says how each is applied). The
 * worker compiles them instead of keeping a copy of its own, so a report is read the way the metric reads it.
 */
import { z } from "zod";

const pattern = z.string().min(1).max(2000);

export const mentionRulesSchema = z.object({
  version: z.literal(1, { error: "unsupported mention_rules.version (this worker reads version 1)" }),
  exclude_window: z.number().int().min(1).max(200),
  mentions: z.record(z.string().min(1), z.array(pattern).min(1)),
  exclude_before: z.record(z.string().min(1), pattern),
  scope_break: pattern,
  pre_negation: pattern,
  post_negation: pattern,
  pre_uncertainty: pattern,
  post_uncertainty: pattern,
});
export type MentionRulesSpec = z.infer<typeof mentionRulesSchema>;

export interface MentionRules {
  /** per label, its patterns in order, each anchored at a word boundary (global: matches are iterated) */
  mentions: Map<string, RegExp[]>;
  excludeBefore: Map<string, RegExp>;
  excludeWindow: number;
  scopeBreak: RegExp;
  preNegation: RegExp;
  postNegation: RegExp;
  preUncertainty: RegExp;
  postUncertainty: RegExp;
}

/** Compiles the rules; throws naming the first pattern ECMAScript cannot compile. */
export function compileMentionRules(spec: MentionRulesSpec): MentionRules {
  const compile = (where: string, source: string, flags = "") => {
    try {
      return new RegExp(source, flags);
    } catch (e) {
      throw new Error(`mention_rules.${where}: ${(e as Error).message}`);
    }
  };
  // Python's re.match anchors at the start; these two are applied to the text right after a mention
  const atStart = (where: string, source: string) => compile(where, `^(?:${source})`);
  return {
    mentions: new Map(
      Object.entries(spec.mentions).map(([label, rxs]) => [label, rxs.map((rx, i) => compile(`mentions.${label}[${i}]`, `\\b${rx}`, "g"))]),
    ),
    excludeBefore: new Map(Object.entries(spec.exclude_before).map(([label, rx]) => [label, compile(`exclude_before.${label}`, rx)])),
    excludeWindow: spec.exclude_window,
    scopeBreak: compile("scope_break", spec.scope_break, "g"),
    preNegation: compile("pre_negation", spec.pre_negation),
    postNegation: atStart("post_negation", spec.post_negation),
    preUncertainty: compile("pre_uncertainty", spec.pre_uncertainty),
    postUncertainty: atStart("post_uncertainty", spec.post_uncertainty),
  };
}

/** Every pattern that does not compile, as [path, message] (the manifest check reports them all at once). */
export function mentionRuleProblems(spec: MentionRulesSpec): [(string | number)[], string][] {
  const problems: [(string | number)[], string][] = [];
  const tryCompile = (path: (string | number)[], source: string) => {
    try {
      new RegExp(source);
    } catch (e) {
      problems.push([path, `does not compile as an ECMAScript pattern: ${(e as Error).message}`]);
    }
  };
  for (const [label, rxs] of Object.entries(spec.mentions)) {
    for (const [i, rx] of rxs.entries()) tryCompile(["mention_rules", "mentions", label, i], rx);
  }
  for (const [label, rx] of Object.entries(spec.exclude_before)) tryCompile(["mention_rules", "exclude_before", label], rx);
  for (const key of ["scope_break", "pre_negation", "post_negation", "pre_uncertainty", "post_uncertainty"] as const) {
    tryCompile(["mention_rules", key], spec[key]);
  }
  return problems;
}
