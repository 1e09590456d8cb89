"""The held-out corpus figures (gkmvlp.eval.real_splits) on a hand-made manifest, with a stand-in for the bundle
runner that scores films from their file names: which films are counted, which labels enter the macro, and which
lateral views are held out from the input check's fit."""

from __future__ import annotations

import json

import numpy as np

from gkmvlp.eval.real_splits import labelled_films, real_laterals
from gkmvlp.ontology import LABELS


class NameScorer:
    """Scores a film from what its name says (the selection logic is under test, not a model)."""

    def __init__(self, scores: dict[str, dict]):
        self.scores = scores
        self.m = {
            "labels": list(LABELS),
            "reliability": {"frontal_threshold": 0.5, "ood_thresholds": {"caution": 2.0, "abstain": 3.0}},
        }

    def image(self, path):
        return self.scores[path.stem]


def row(i: int, key: str, split: str, labels: dict, frontal: bool = True) -> dict:
    return {
        "id": f"{key}:f{i}",
        "source": "t",
        "source_commit": None,
        "source_path": "x",
        "source_sha256": "0" * 64,
        "image": f"images/f{i}.png",
        "width": 8,
        "height": 8,
        "orig_width": 8,
        "orig_height": 8,
        "patient": f"p{i}",
        "patient_known": True,
        "split": split,
        "view": "PA" if frontal else "lateral",
        "frontal": frontal,
        "labels": labels,
        "masks": {},
        "licence": "t",
        "dhash": "0" * 64,
    }


def write(tmp_path, rows):
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_nih_test_films_give_per_label_auc_and_a_macro_over_labels_each_on_the_films_that_know_it(tmp_path):
    rows, scores = [], {}
    rng = np.random.default_rng(0)
    for i in range(40):
        effusion = i % 2
        labels = {"Pleural Effusion": effusion, "Cardiomegaly": int(i % 4 == 0)}
        if i < 20:
            labels["Edema"] = int(i % 3 == 0)  # known on half the films: scored, not in the macro
        rows.append(row(i, "nih128" if i % 3 else "nih", "test", labels))
        p = np.full(len(LABELS), 0.5)
        p[LABELS.index("Pleural Effusion")] = 0.2 + 0.6 * effusion + 0.01 * rng.random()
        p[LABELS.index("Cardiomegaly")] = rng.random()
        p[LABELS.index("Edema")] = rng.random()
        scores[f"f{i}"] = {"probs": p}
    rows.append(row(99, "nih128", "train", {"Pleural Effusion": 1}))  # a training film: not counted
    rows.append(row(98, "jsrt", "test", {"Lung Lesion": 1}))  # another source: not counted
    out = labelled_films(NameScorer(scores), write(tmp_path, rows), ("nih", "nih128"), ("test",))
    assert out["n"] == 40
    assert out["per_label"]["Pleural Effusion"]["auc"] == 1.0
    assert set(out["per_label"]) == {"Pleural Effusion", "Cardiomegaly", "Edema"}
    assert out["macro_labels"] == ["Cardiomegaly", "Edema", "Pleural Effusion"]
    per = out["per_label"]
    assert abs(out["macro_auc"] - np.mean([per[k]["auc"] for k in out["macro_labels"]])) < 1e-12
    assert out["macro_ci_low"] <= out["macro_auc"] <= out["macro_ci_high"]
    assert labelled_films(NameScorer(scores), tmp_path, ("chexpert",), ("test",))["n"] == 0


def test_only_laterals_outside_the_training_split_count_against_the_input_check(tmp_path):
    rows = [
        row(0, "chexpert", "train", {}, frontal=False),
        row(1, "chexpert", "val", {}, frontal=False),
        row(2, "chexpert", "test", {}, frontal=False),
        row(3, "chexpert", "test", {}, frontal=True),
    ]
    scores = {
        "f0": {"frontal": 0.9, "ood": 0.1},
        "f1": {"frontal": 0.1, "ood": 0.1},
        "f2": {"frontal": 0.9, "ood": 2.5},
        "f3": {"frontal": 0.9, "ood": 0.1},
    }
    out = real_laterals(NameScorer(scores), write(tmp_path, rows))
    assert out["n"] == 2 and [i["id"] for i in out["items"]] == ["chexpert:f1", "chexpert:f2"]
    assert out["flagged"][0] == 0.5 and out["flagged_or_caution"] == 1.0
