"""Presence questions answered from the reported findings: the shared cases, and the answer is the
classification's own positive call."""

import json
from pathlib import Path

import pytest

from gkmvlp.ontology import LABELS
from gkmvlp.text.presence import PHRASES, presence_answer, presence_label, spec

CASES = json.loads((Path(__file__).resolve().parents[2] / "docs" / "contracts" / "vqa-presence-cases.json").read_text())


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["question"][:40] or "empty")
def test_the_contract_cases_read_the_same_label(case):
    assert presence_label(case["question"], PHRASES) == case["label"]


def test_yes_exactly_when_the_finding_is_reported_positive_and_other_questions_go_to_the_head():
    m = {"labels": list(LABELS), "thresholds": {lab: 0.3 for lab in LABELS}, "vqa_presence": spec()}
    probs = [0.0] * len(LABELS)
    probs[LABELS.index("Cardiomegaly")] = 0.35
    assert presence_answer("Is there cardiomegaly?", probs, m) == ("yes", 0.35, "Cardiomegaly")
    probs[LABELS.index("Cardiomegaly")] = 0.25
    assert presence_answer("Is there cardiomegaly?", probs, m) == ("no", 0.75, "Cardiomegaly")
    assert presence_answer("Is there emphysema?", probs, m) is None
    assert presence_answer("Is there cardiomegaly?", probs, {**m, "vqa_presence": None}) is None
    with pytest.raises(ValueError, match="unknown vqa_presence method"):
        presence_answer("Is there cardiomegaly?", probs, {**m, "vqa_presence": {"method": "x", "phrases": {}}})
