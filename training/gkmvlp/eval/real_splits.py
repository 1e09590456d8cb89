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

from ..data.real.sources import NIH_COPY_KEYS as NIH_KEYS
from ..train.real_batches import read_corpus
from .film_runner import FilmRunner, auc_figure, scorable
from .stats import auc, mean_ci


def _key(row: dict) -> str:
    return row["id"].split(":", 1)[0]


def macro_auc_known_ci(
    y: np.ndarray, known: np.ndarray, s: np.ndarray, n_boot: int = 300, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Macro AUC over labels [L] where each label is scored on the films that know it ([N, L] masks), with a
    bootstrap over films (a film's labels are resampled together); resamples leaving a label one class are redrawn."""
    y, known = np.asarray(y, bool), np.asarray(known, bool)

    def macro(idx):
        vals = []
        for k in range(y.shape[1]):
            sel = idx[known[idx, k]]
            yy = y[sel, k]
            if yy.all() or not yy.any():
                return None
            vals.append(auc(yy, s[sel, k]))
        return float(np.mean(vals))

    point = macro(np.arange(len(y)))
    rng, boots, tries = np.random.default_rng(seed), [], 0
    while len(boots) < n_boot and tries < 20 * n_boot:
        tries += 1
        v = macro(rng.integers(0, len(y), len(y)))
        if v is not None:
            boots.append(v)
    a = (1 - level) / 2
    return point, float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))


def labelled_films(run: FilmRunner, corpus: Path, keys: tuple[str, ...], splits: tuple[str, ...]) -> dict[str, Any]:
    """Per-label AUC on the frontal films of these sources and splits, for labels with at least MIN_POSITIVES
    positives and negatives among the films that know them; the macro over those labels, each on its own films
    (NIH's Pneumonia-folder films, for one, know only three labels)."""
    rows = [r for s in splits for r in read_corpus(corpus, s) if _key(r) in keys]
    if not rows:
        return {"n": 0, "note": f"no films of {list(keys)} in the {'/'.join(splits)} split"}
    labels = run.m["labels"]
    probs = np.stack([run.image(corpus / r["image"])["probs"] for r in rows])
    y = np.array([[r["labels"].get(lab) == 1 for lab in labels] for r in rows])
    known = np.array([[lab in r["labels"] for lab in labels] for r in rows])
    per, scored = {}, []
    for k, lab in enumerate(labels):
        yk = y[known[:, k], k]
        if not scorable(yk):
            continue
        per[lab] = auc_figure(yk, probs[known[:, k], k])
        scored.append(k)
    macro, lo, hi = (
        macro_auc_known_ci(y[:, scored], known[:, scored], probs[:, scored]) if scored else (float("nan"),) * 3
    )
    return {
        "n": len(rows),
        "splits": list(splits),
        "per_label": per,
        "macro_auc": macro,
        "macro_ci_low": lo,
        "macro_ci_high": hi,
        "macro_labels": sorted(per),
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
