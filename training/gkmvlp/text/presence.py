"""Closed presence questions ("Is there cardiomegaly in this chest X-ray?") answered from the calibrated
finding probabilities (docs/contracts/model-bundle.md, "vqa_presence").

On real films the VQA head gave the same answer for a blank image in 96 % of closed questions: it learned
which answer each question usually gets. A presence question about a finding the model classifies is a
question its calibrated classifier already answers, so the bundle says which phrases name which label and
the answer is "yes" exactly when that finding is reported positive (probability >= its threshold), the
same call the classification shows. Anything else (negations, laterality, severity, unknown findings)
is left to the VQA head. The worker parses questions with the same rule
(workers/analysis/src/inference/presence.ts); docs/contracts/vqa-presence-cases.json holds both to it.
"""

from __future__ import annotations

import re

from ..ontology import LABELS

METHOD = "finding_threshold"

# clinical names (CheXpert's, NIH ChestX-ray14's and common synonyms) -> the model's label
PHRASES: dict[str, str] = {
    "cardiomegaly": "Cardiomegaly",
    "enlarged heart": "Cardiomegaly",
    "enlarged cardiomediastinum": "Enlarged Cardiomediastinum",
    "effusion": "Pleural Effusion",
    "pleural effusion": "Pleural Effusion",
    "pleural effusions": "Pleural Effusion",
    "pneumothorax": "Pneumothorax",
    "atelectasis": "Atelectasis",
    "consolidation": "Consolidation",
    "pneumonia": "Pneumonia",
    "edema": "Edema",
    "pulmonary edema": "Edema",
    "oedema": "Edema",
    "nodule": "Lung Lesion",
    "mass": "Lung Lesion",
    "lung lesion": "Lung Lesion",
    "lung nodule": "Lung Lesion",
    "infiltration": "Lung Opacity",
    "infiltrate": "Lung Opacity",
    "lung opacity": "Lung Opacity",
    "opacity": "Lung Opacity",
    "pleural thickening": "Pleural Other",
    "fracture": "Fracture",
    "support devices": "Support Devices",
    "support device": "Support Devices",
}
NORMAL = "No Finding"

_PRESENCE = re.compile(
    r"^(?:is|are) there (?:any )?(?:(?:evidence|signs?) of )?(?:an? |any )?(?P<finding>[a-z][a-z ]*?)"
    r"(?: (?:in|on) (?:this|the) (?:chest )?(?:x-ray|xray|film|radiograph|image|study))?$"
)
_NORMAL = re.compile(r"^is (?:this|the) (?:chest )?(?:x-ray|xray|film|radiograph|image|study) normal$")
_HEART = re.compile(r"^is the heart (?:size )?enlarged$")


def normalise(question: str) -> str:
    """Lower case, runs of whitespace as one space, trailing question marks and spaces dropped."""
    return re.sub(r"\s+", " ", question.lower()).strip().rstrip("?").strip()


def presence_label(question: str, phrases: dict[str, str]) -> str | None:
    """The label a closed presence question asks about, or None when it is not one this rule answers."""
    q = normalise(question)
    if _NORMAL.match(q):
        return NORMAL
    if _HEART.match(q):
        return "Cardiomegaly"
    m = _PRESENCE.match(q)
    if not m:
        return None
    return phrases.get(m.group("finding"))


def spec() -> dict:
    """The manifest's `vqa_presence` section."""
    assert set(PHRASES.values()) <= set(LABELS)
    return {
        "method": METHOD,
        "phrases": dict(PHRASES),
        "note": "a closed question 'is/are there [any] [evidence of|signs of] [a|an|any] <phrase> [in this chest x-ray]?', "
        "'is this chest x-ray normal?' or 'is the heart enlarged?' is answered yes exactly when the phrase's label is "
        "reported positive (calibrated probability >= its threshold; 'normal' is No Finding); other questions go to "
        "the VQA head",
    }


def presence_answer(question: str, probs, manifest: dict) -> tuple[str, float, str] | None:
    """(answer, confidence, label) from the reported probabilities (manifest label order), or None when the
    bundle has no vqa_presence section or the question is not a presence question it covers."""
    sec = manifest.get("vqa_presence")
    if not sec:
        return None
    if sec.get("method") != METHOD:
        raise ValueError(f"unknown vqa_presence method {sec.get('method')!r}")
    label = presence_label(question, sec["phrases"])
    if label is None:
        return None
    p = float(probs[manifest["labels"].index(label)])
    yes = p >= float(manifest["thresholds"][label])
    return ("yes" if yes else "no"), (p if yes else 1.0 - p), label
