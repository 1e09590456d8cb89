"""Pneumonia vs normal on the held-out NIH set (gkmvlp/data/real/holdout.py): the AUC with its bootstrap interval
and permutation p, how many films come from patients the training corpus never saw, and the view baseline on the
films whose view NIH records, and the pixel-statistic baselines (pixel_baselines.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..train.real_batches import read_corpus
from .film_runner import FilmRunner, auc_figure
from .pixel_baselines import pixel_baselines
from .real_films import view_confound
from .stats import auc, auc_difference_ci


def _scored(run: FilmRunner, holdout: Path) -> tuple[list[dict], dict[str, dict], np.ndarray, np.ndarray]:
    rows = [r for r in read_corpus(holdout, "test") if r["labels"].get("Pneumonia") is not None]
    k = run.m["labels"].index("Pneumonia")
    res = {r["id"]: run.image(holdout / r["image"]) for r in rows}
    y = np.array([int(r["labels"]["Pneumonia"]) for r in rows])
    s = np.array([res[r["id"]]["probs"][k] for r in rows])
    return rows, res, y, s


def holdout_pneumonia(run: FilmRunner, holdout: Path, seen_test_patients: set[str] | None = None) -> dict[str, Any]:
    """`seen_test_patients`: NIH patients of the training corpus's test split, to report the films that are new."""
    rows, res, y, s = _scored(run, holdout)
    k = run.m["labels"].index("Pneumonia")
    if len(set(y.tolist())) < 2:
        return {"n": len(rows), "note": "one class only"}
    out: dict[str, Any] = {"all": auc_figure(y, s), "n_patients": len({r["patient"] for r in rows})}
    if seen_test_patients is not None:
        new = np.array([r["patient"] not in seen_test_patients for r in rows])
        out["films_of_new_patients"] = {"pneumonia": int((new & (y == 1)).sum()), "normal": int((new & (y == 0)).sum())}
        if len(set(y[new].tolist())) == 2:
            out["new_patients_only"] = auc_figure(y[new], s[new])
    out["view_confound"] = view_confound(rows, res, k)
    out["pixel_baselines"] = pixel_baselines([holdout / r["image"] for r in rows], y == 1)
    return out


def paired_difference(run: FilmRunner, control: FilmRunner, holdout: Path) -> dict[str, Any]:
    """The bundle's AUC minus a control bundle's on the same held-out films, with a paired bootstrap CI: whether a
    change (one lever, same seed) moved the figure by more than the set's noise."""
    _, _, y, s = _scored(run, holdout)
    _, _, y_c, s_c = _scored(control, holdout)
    assert (y == y_c).all()
    diff, lo, hi = auc_difference_ci(y, s, s_c)
    return {
        "control": f"{control.m['name']} {control.m['version']}",
        "control_auc": auc(y, s_c),
        "difference": diff,
        "difference_ci": [lo, hi],
    }
