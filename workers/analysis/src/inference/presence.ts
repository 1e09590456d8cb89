/**
 * Closed presence questions answered from the reported findings (docs/contracts/model-bundle.md,
 * "vqa_presence"). The VQA head of the real-film bundles answered most closed questions the same way for
 * a blank image; a question such as "Is there cardiomegaly in this chest X-ray?" is one the calibrated
 * classifier already answers, so it gets "yes" exactly when that finding is reported positive: the VQA
 * answer and the classification never disagree. Other questions (negated, lateral, graded, unknown
 * findings) stay with the VQA head. Same rule as training/gkmvlp/text/presence.py; the shared cases are
 * docs/contracts/vqa-presence-cases.json.
 */
import type { FinalProbability } from "./calibration.ts";

const PRESENCE =
  /^(?:is|are) there (?:any )?(?:(?:evidence|signs?) of )?(?:an? |any )?(?<finding>[a-z][a-z ]*?)(?: (?:in|on) (?:this|the) (?:chest )?(?:x-ray|xray|film|radiograph|image|study))?$/;
const NORMAL = /^is (?:this|the) (?:chest )?(?:x-ray|xray|film|radiograph|image|study) normal$/;
const NORMAL_LABEL = "No Finding";
const HEART = /^is the heart (?:size )?enlarged$/;
/** longer questions are never presence questions of this form; the regexes stay linear anyway */
const MAX_LENGTH = 200;

export function normaliseQuestion(question: string): string {
  return question.toLowerCase().replace(/\s+/g, " ").trim().replace(/\?+$/, "").trim();
}

/** The label a presence question asks about, or null when this rule does not answer it. */
export function presenceLabel(question: string, phrases: Readonly<Record<string, string>>): string | null {
  if (question.length > MAX_LENGTH) return null;
  const q = normaliseQuestion(question);
  if (NORMAL.test(q)) return NORMAL_LABEL;
  if (HEART.test(q)) return "Cardiomegaly";
  const finding = PRESENCE.exec(q)?.groups?.finding;
  return finding !== undefined && Object.hasOwn(phrases, finding) ? phrases[finding]! : null;
}

export interface PresenceAnswer {
  answer: "yes" | "no";
  confidence: number;
  label: string;
  probability: number;
  threshold: number;
}

/** "yes" exactly when the label is reported positive (probability >= its threshold). */
export function presenceAnswer(label: string, finals: readonly FinalProbability[], threshold: number): PresenceAnswer {
  const f = finals.find((x) => x.label === label);
  if (!f) throw new Error(`vqa_presence names label "${label}", which the classification does not report`);
  const yes = f.probability >= threshold;
  return { answer: yes ? "yes" : "no", confidence: yes ? f.probability : 1 - f.probability, label, probability: f.probability, threshold };
}
