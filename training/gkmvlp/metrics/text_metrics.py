"""Report-generation metrics: corpus BLEU-1..4, ROUGE-L and clinical efficacy (CE).

Tokenisation (BLEU and ROUGE-L): lower-case, every character that is not [a-z0-9] becomes a
space, split on whitespace (punctuation is dropped, as after the PTB tokeniser in pycocoevalcap).

BLEU (Papineni et al., 2002), corpus level: clipped n-gram counts and hypothesis n-gram counts are
summed over the corpus, p_n = clipped / total; brevity penalty BP = exp(1 - r / c) when the total
hypothesis length c is below the effective reference length r (per sentence, the reference
length closest to the hypothesis length, ties to the shorter), else 1; BLEU-N = BP *
exp(mean_{n<=N} log p_n). Smoothing: "none" (default) gives 0 when some p_n is 0; "epsilon"
(Chen & Cherry 2014, method 1) replaces a zero numerator by 0.1.

ROUGE-L (Lin, 2004): per pair, LCS length l; P = l / len(hyp), R = l / len(ref),
F = (1 + b^2) P R / (R + b^2 P) with b = beta (default 1, i.e. F1; pycocoevalcap uses 1.2); with
several references the best F is taken; the corpus score is the mean over pairs.

Clinical efficacy: the rule-based labeller (gkmvlp.text.labeller) labels the generated and the
reference report; a label counts as positive only when it is 1 (uncertain -1 and unmentioned count
as negative). Precision / recall / F1 are micro-averaged over the 13 observations other than No
Finding (No Finding is excluded because it is implied by the others and would dominate the count on
normal studies). Per-label figures and the macro F1 are returned too.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from ..ontology import LABELS

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
CE_LABELS = tuple(lab for lab in LABELS if lab != "No Finding")


def tokenize(text: str) -> list[str]:
    return _NON_ALNUM.sub(" ", (text or "").lower()).split()


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _as_ref_lists(references) -> list[list[str]]:
    return [[r] if isinstance(r, str) else list(r) for r in references]


def corpus_bleu(hypotheses: list[str], references, max_n: int = 4, smoothing: str = "none") -> dict:
    """{"bleu1": .., ..., "bleuN": ..} ; references: one string or a list of strings per hypothesis."""
    refs = _as_ref_lists(references)
    if len(refs) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(refs)} references")
    if smoothing not in ("none", "epsilon"):
        raise ValueError("smoothing must be 'none' or 'epsilon'")
    clipped = [0] * max_n
    total = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, rs in zip(hypotheses, refs):
        h = tokenize(hyp)
        rt = [tokenize(r) for r in rs]
        hyp_len += len(h)
        ref_len += min((abs(len(r) - len(h)), len(r)) for r in rt)[1] if rt else 0
        for n in range(1, max_n + 1):
            hc = _ngrams(h, n)
            maxref: Counter = Counter()
            for r in rt:
                for g, c in _ngrams(r, n).items():
                    maxref[g] = max(maxref[g], c)
            clipped[n - 1] += sum(min(c, maxref[g]) for g, c in hc.items())
            total[n - 1] += max(len(h) - n + 1, 0)
    out = {}
    bp = 1.0 if hyp_len >= ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len > 0 else 0.0)
    for N in range(1, max_n + 1):
        logs = []
        for n in range(N):
            num, den = clipped[n], total[n]
            if den == 0:
                logs = None
                break
            if num == 0:
                if smoothing == "none":
                    logs = None
                    break
                num = 0.1
            logs.append(math.log(num / den))
        out[f"bleu{N}"] = 0.0 if logs is None else bp * math.exp(sum(logs) / N)
    return out


def lcs_length(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            cur[j] = prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1]


def rouge_l_pair(hyp: str, ref: str, beta: float = 1.0) -> float:
    h, r = tokenize(hyp), tokenize(ref)
    lcs = lcs_length(h, r)
    if lcs == 0:
        return 0.0
    p, rc = lcs / len(h), lcs / len(r)
    b2 = beta * beta
    return (1 + b2) * p * rc / (rc + b2 * p)


def rouge_l(hypotheses: list[str], references, beta: float = 1.0) -> float:
    refs = _as_ref_lists(references)
    if len(refs) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(refs)} references")
    if not hypotheses:
        return 0.0
    return sum(max(rouge_l_pair(h, r, beta) for r in rs) for h, rs in zip(hypotheses, refs)) / len(hypotheses)


def clinical_efficacy(hypotheses: list[str], references: list[str], labeller=None) -> dict:
    """{"precision", "recall", "f1" (micro over CE_LABELS), "macro_f1", "per_label": {...}}."""
    if labeller is None:
        from ..text.labeller import label_report as labeller
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    per = {lab: {"tp": 0, "fp": 0, "fn": 0} for lab in CE_LABELS}
    for h, r in zip(hypotheses, references):
        ph, pr = labeller(h), labeller(r)
        for lab in CE_LABELS:
            a, b = ph[lab] == 1, pr[lab] == 1
            if a and b:
                per[lab]["tp"] += 1
            elif a:
                per[lab]["fp"] += 1
            elif b:
                per[lab]["fn"] += 1
    tp = sum(s["tp"] for s in per.values())
    fp = sum(s["fp"] for s in per.values())
    fn = sum(s["fn"] for s in per.values())

    def prf(tp, fp, fn):
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    for s in per.values():
        s["precision"], s["recall"], s["f1"] = prf(s["tp"], s["fp"], s["fn"])
    p, r, f = prf(tp, fp, fn)
    support = [s for s in per.values() if s["tp"] + s["fn"] > 0]
    macro = sum(s["f1"] for s in support) / len(support) if support else 0.0
    return {"precision": p, "recall": r, "f1": f, "macro_f1": macro, "per_label": per}


def report_metrics(hypotheses: list[str], references: list[str]) -> dict:
    """All text metrics in one flat dict (BLEU-1..4, ROUGE-L, CE precision/recall/F1)."""
    out = dict(corpus_bleu(hypotheses, references))
    out["rougeL"] = rouge_l(hypotheses, references)
    ce = clinical_efficacy(hypotheses, references)
    out.update({"ce_precision": ce["precision"], "ce_recall": ce["recall"], "ce_f1": ce["f1"]})
    return out
