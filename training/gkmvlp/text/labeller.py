"""Rule-based, CheXpert-style report labeller.

label_report(text) -> {label: 1 | 0 | -1 | None} for the 14 CheXpert observations:
1 positive, 0 negative, -1 uncertain, None not mentioned (No Finding is always 0/1).

Steps: split into sentences; find mentions of each observation (patterns.MENTIONS); classify each
mention inside its clause (a clause ends at "but", "however", "there is", ";" ... see
patterns.SCOPE_BREAK):
  1. an uncertainty phrase right after it ("cannot be excluded", "is not excluded") -> -1
  2. a negation trigger before it in the clause ("no", "without", "negative for", "free of",
     "resolved", "clear of", "absence of", ...) or inside the mention ("heart is not enlarged") -> 0
  3. a negation right after it ("is not seen", "has resolved", "is absent") -> 0
  4. an uncertainty trigger before it ("may", "possible", "suspicious for", "borderline", ...) -> -1
  5. otherwise -> 1
Mentions of one observation are combined as positive > uncertain > negative. Statements of
normality ("heart size is normal", "the lungs are clear", "osseous structures are unremarkable")
set the observations they cover to 0 when nothing else mentions them. No Finding is 1 when no
pathology (all but Support Devices) is positive or uncertain, as in CheXpert.

Options: uncertain="keep" | "positive" | "negative" maps -1; propagate=True sets the parent Lung
Opacity to 1 when one of its children (lesion, edema, consolidation, pneumonia, atelectasis) is 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..ontology import LABELS
from . import patterns as P

_MENTION_RX = {lab: [re.compile(r"\b" + rx) for rx in rxs] for lab, rxs in P.MENTIONS.items()}
_NORMAL_RX = [(re.compile(r"\b" + rx), labs) for rx, labs in P.NORMALS]
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Za-z0-9(\[])|(?<=[a-z]\.)(?=[A-Z])|\n+")
OPACITY_CHILDREN = ("Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis")
PATHOLOGIES = tuple(lab for lab in LABELS if lab not in ("No Finding", "Support Devices"))


@dataclass
class Mention:
    label: str
    sentence: int
    start: int
    end: int
    text: str
    status: int  # 1, 0, -1


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.split(text or "") if s and s.strip()]


def _clause_start(sent: str, pos: int) -> int:
    start = 0
    for m in P.SCOPE_BREAK.finditer(sent, 0, pos):
        if m.end() <= pos:
            start = m.end()
    return start


def _status(sent: str, start: int, end: int) -> int:
    after = sent[end:]
    if P.POST_UNC.match(after):
        return -1
    scope = sent[_clause_start(sent, start) : end]
    if P.PRE_NEG.search(scope):
        return 0
    if P.POST_NEG.match(after):
        return 0
    if P.PRE_UNC.search(scope):
        return -1
    return 1


def extract_mentions(text: str) -> list[Mention]:
    out: list[Mention] = []
    for si, raw in enumerate(split_sentences(text)):
        sent = raw.lower()
        for lab, rxs in _MENTION_RX.items():
            spans: list[tuple[int, int]] = []
            for rx in rxs:
                for m in rx.finditer(sent):
                    if any(m.start() < e and s < m.end() for s, e in spans):
                        continue
                    ex = P.EXCLUDE_BEFORE.get(lab)
                    if ex is not None and ex.search(sent[max(0, m.start() - 25) : m.start()]):
                        continue
                    spans.append((m.start(), m.end()))
            for s, e in sorted(spans):
                out.append(Mention(lab, si, s, e, sent[s:e], _status(sent, s, e)))
    return out


def label_report(text: str, uncertain: str = "keep", propagate: bool = False) -> dict:
    if uncertain not in ("keep", "positive", "negative"):
        raise ValueError("uncertain must be keep, positive or negative")
    res: dict = {lab: None for lab in LABELS}
    for m in extract_mentions(text):
        cur = res[m.label]
        rank = {1: 3, -1: 2, 0: 1}
        if cur is None or rank[m.status] > rank[cur]:
            res[m.label] = m.status
    for raw in split_sentences(text):
        sent = raw.lower()
        for rx, labs in _NORMAL_RX:
            if rx.search(sent):
                for lab in labs:
                    if res[lab] is None:
                        res[lab] = 0
    if uncertain != "keep":
        for lab, v in res.items():
            if v == -1:
                res[lab] = 1 if uncertain == "positive" else 0
    if propagate and any(res[c] == 1 for c in OPACITY_CHILDREN):
        res["Lung Opacity"] = 1
    res["No Finding"] = int(not any(res[lab] in (1, -1) for lab in PATHOLOGIES))
    return res


def positives(labels: dict) -> set:
    """Labels equal to 1 (No Finding included)."""
    return {k for k, v in labels.items() if v == 1}
