"""Figures on the corpus's own held-out films, beyond the issue's headline keys: the NIH films of the patient-split
test set (about 1,500 when pelagecha/Cancer-Detection's copies are assembled, against 50 in shared/data), CheXpert's
validation films (radiologist labels, a second hospital), and real lateral views against the input check.

Each AUC comes with its bootstrap CI, a label-permutation p and the shuffled-label baseline (auc_figure); the macro
figure resamples films with their labels together. Lateral views are counted only outside the training split,
because the input check is fitted on the training split's laterals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..train.real_batches import read_corpus
from .real_films import MIN_POSITIVES, FilmRunner, auc_figure
from .stats import macro_auc_ci, mean_ci

NIH_KEYS = ("nih", "nih128", "nih64", "nih14")


def _key(row: dict) -> str:
    return row["id"].split(":", 1)[0]


def labelled_films(run: FilmRunner, corpus: Path, keys: tuple[str, ...], splits: tuple[str, ...]) -> dict[str, Any]:
    """Per-label AUC on the frontal films of these sources and splits; the macro over the labels known on every
    one of them with at least MIN_POSITIVES positives and negatives."""
    rows = [r for s in splits for r in read_corpus(corpus, s) if _key(r) in keys]
    if not rows:
        return {"n": 0, "note": f"no films of {list(keys)} in the {'/'.join(splits)} split"}
    labels = run.m["labels"]
    probs = {r["id"]: run.image(corpus / r["image"])["probs"] for r in rows}
    per, ys, ss = {}, [], []
    for k, lab in enumerate(labels):
        sel = [r for r in rows if lab in r["labels"]]
        y = np.array([r["labels"][lab] for r in sel])
        if len(y) == 0 or not MIN_POSITIVES <= y.sum() <= len(y) - MIN_POSITIVES:
            continue
        s = np.array([probs[r["id"]][k] for r in sel])
        per[lab] = auc_figure(y, s)
        if len(sel) == len(rows):
            ys.append(y)
            ss.append(s)
    macro, lo, hi = macro_auc_ci(ys, ss, n_boot=300) if ys else (float("nan"),) * 3
    return {
        "n": len(rows),
        "splits": list(splits),
        "per_label": per,
        "macro_auc": macro,
        "macro_ci_low": lo,
        "macro_ci_high": hi,
        "macro_labels": sorted(lab for lab in per if all(lab in r["labels"] for r in rows)),
        "prevalence_baseline_auc": 0.5,
    }


def real_laterals(run: FilmRunner, corpus: Path) -> dict[str, Any]:
    """Share of the corpus's real lateral films outside the training split that the input check refuses."""
    rel = run.m.get("reliability")
    rows = [
        r for r in read_corpus(corpus, None, frontal_only=False) if r.get("frontal") is False and r["split"] != "train"
    ]
    if rel is None or not rows:
        return {"n": len(rows), "note": "bundle has no input check" if rel is None else "no lateral films held out"}
    items = []
    for r in rows:
        res = run.image(corpus / r["image"])
        flagged = res["frontal"] < rel["frontal_threshold"] or res["ood"] >= rel["ood_thresholds"]["abstain"]
        caution = res["ood"] >= rel["ood_thresholds"]["caution"]
        items.append(
            {
                "id": r["id"],
                "frontal": res["frontal"],
                "ood": res["ood"],
                "flagged": bool(flagged),
                "caution": bool(caution),
            }
        )
    flagged = mean_ci([i["flagged"] for i in items])
    return {
        "n": len(items),
        "flagged": flagged,
        "flagged_or_caution": float(np.mean([i["flagged"] or i["caution"] for i in items])),
        "items": items,
    }


def corpus_extra(run: FilmRunner, corpus: Path) -> dict[str, Any]:
    return {
        "nih_test": labelled_films(run, corpus, NIH_KEYS, ("test",)),
        "chexpert_heldout": labelled_films(run, corpus, ("chexpert",), ("val", "test")),
        "real_laterals": real_laterals(run, corpus),
    }
