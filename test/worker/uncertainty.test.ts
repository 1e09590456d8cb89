// Marks on generated text: report sentences that mention findings not validated on real films or
// state findings their probability does not support, and VQA answers a blank image gets too.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isImageBased, markSentence, type MarkContext } from "../../workers/analysis/src/inference/uncertainty.ts";
import type { MentionedLabel } from "../../workers/analysis/src/inference/types.ts";

const mention = (label: string, status: MentionedLabel["status"]): MentionedLabel => ({ label, status, negated: status === "negative" });
const ctx = (validated: string[], finals?: Record<string, [number, number]>): MarkContext => ({
  validated: new Set(validated),
  finals: finals ? new Map(Object.entries(finals).map(([l, [probability, threshold]]) => [l, { probability, threshold }])) : null,
});

describe("report sentence marks", () => {
  it("a sentence about validated findings that the probabilities support is not uncertain", () => {
    const c = ctx(["Cardiomegaly", "Pleural Effusion"], { Cardiomegaly: [0.8, 0.4], "Pleural Effusion": [0.1, 0.5] });
    assert.deepEqual(markSentence([mention("Cardiomegaly", "positive")], c), { uncertain: false, uncertainReason: null });
    assert.deepEqual(markSentence([mention("Pleural Effusion", "negative")], c), { uncertain: false, uncertainReason: null });
    assert.deepEqual(markSentence([], c), { uncertain: false, uncertainReason: null });
  });

  it("mentioning a finding not validated on real films makes it uncertain, stated or negated", () => {
    const c = ctx(["Cardiomegaly"]);
    const stated = markSentence([mention("Edema", "positive")], c);
    assert.equal(stated.uncertain, true);
    assert.equal(stated.uncertainReason, "Mentions Edema, which is not validated on real films.");
    assert.equal(markSentence([mention("Pneumothorax", "negative")], c).uncertain, true);
    assert.match(
      markSentence([mention("Edema", "positive"), mention("Pneumothorax", "negative")], c).uncertainReason!,
      /Edema and Pneumothorax, which are not validated/,
    );
  });

  it("stating a finding whose reported probability is below its threshold makes it uncertain; hedged or negated mentions do not", () => {
    const c = ctx(["Cardiomegaly"], { Cardiomegaly: [0.12, 0.42] });
    const r = markSentence([mention("Cardiomegaly", "positive")], c);
    assert.equal(r.uncertain, true);
    assert.equal(r.uncertainReason, "States Cardiomegaly, but its probability 12% is below the threshold 42%.");
    assert.equal(markSentence([mention("Cardiomegaly", "uncertain")], c).uncertain, false);
    assert.equal(markSentence([mention("Cardiomegaly", "negative")], c).uncertain, false);
  });

  it("gives every reason that applies", () => {
    const r = markSentence([mention("Edema", "positive")], ctx([], { Edema: [0.1, 0.25] }));
    assert.equal(
      r.uncertainReason,
      "Mentions Edema, which is not validated on real films; states Edema, but its probability 10% is below the threshold 25%.",
    );
  });
});

describe("VQA answers", () => {
  it("are not image-based when a blank image gets the same answer", () => {
    assert.equal(isImageBased("yes", "yes"), false);
    assert.equal(isImageBased("yes", "no"), true);
  });
});
