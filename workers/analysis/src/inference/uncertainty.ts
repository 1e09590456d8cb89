/**
 * Marks on generated text that a reader must weigh (docs/contracts/model-bundle.md, "Format version 2"):
 * a report sentence is `uncertain` when it talks about a finding that is not validated on real films,
 * or states a finding that the (calibrated or derived) probability does not support; a VQA answer is
 * not image-based when a blank image of the same size gets the same answer.
 */
import type { MentionedLabel } from "./types.ts";

export interface SentenceMark {
  uncertain: boolean;
  /** why, in words (null when not uncertain) */
  uncertainReason: string | null;
}

export interface MarkContext {
  /** labels validated on real films (empty for a bundle without a reliability model: none are) */
  validated: ReadonlySet<string>;
  /** the reported probability and threshold per label, when the bundle has a classification head */
  finals: ReadonlyMap<string, { probability: number; threshold: number }> | null;
}

const pct = (p: number) => `${(p * 100).toFixed(0)}%`;

function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

export function markSentence(labels: readonly MentionedLabel[], ctx: MarkContext): SentenceMark {
  const reasons: string[] = [];
  // Negated mentions count too: "no effusion" is as unvalidated a statement as "effusion".
  const unvalidated = [...new Set(labels.map((l) => l.label))].filter((l) => !ctx.validated.has(l));
  if (unvalidated.length === 1) reasons.push(`mentions ${unvalidated[0]}, which is not validated on real films`);
  else if (unvalidated.length > 1) reasons.push(`mentions ${list(unvalidated)}, which are not validated on real films`);
  // Only a plain assertion is held against the probability: "possible effusion" already hedges.
  for (const l of labels) {
    if (l.status !== "positive") continue;
    const f = ctx.finals?.get(l.label);
    if (f && f.probability < f.threshold) {
      reasons.push(`states ${l.label}, but its probability ${pct(f.probability)} is below the threshold ${pct(f.threshold)}`);
    }
  }
  if (reasons.length === 0) return { uncertain: false, uncertainReason: null };
  const text = reasons.join("; ");
  return { uncertain: true, uncertainReason: `${text.charAt(0).toUpperCase() + text.slice(1)}.` };
}

/** An answer that a blank image gets too says nothing about this image. */
export const isImageBased = (answer: string, blankAnswer: string) => answer !== blankAnswer;
