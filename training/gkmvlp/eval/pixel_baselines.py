"""Trivial baselines for a two-class film task: one statistic of the film's pixels as the score.

A model that beats the view position can still be reading how one collection stored its films. On the corpus's NIH
pneumonia selection (muhammedtalo/COVID-19), the pneumonia films are darker and carry more pixel-to-pixel grain than
the normal ones; neither is how a radiologist tells pneumonia. Reported beside the model's AUC, they show how much
of a figure such a statistic gives away on that set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..model.preprocess import decode_gray, preprocess_array
from .stats import auc

SIZE = 256  # the statistics are taken on the film letterboxed to this square, whatever the model's input size


def film_statistics(path: Path) -> tuple[float, float]:
    """(mean grey level, mean absolute difference of horizontal neighbours), both on [0, 1] grey at SIZE px."""
    x, _ = preprocess_array(decode_gray(path), SIZE, 0.0, 1.0)
    a = x[0, 0]
    return float(a.mean()), float(np.abs(np.diff(a, axis=1)).mean())


def pixel_baselines(paths: list[Path], y: np.ndarray) -> dict[str, Any] | None:
    """AUC of 'darker film' and of 'more grain' as scores for the positive class; None with one class only."""
    y = np.asarray(y, bool)
    if y.all() or not y.any():
        return None
    stats = np.array([film_statistics(p) for p in paths])
    return {"darker_film_auc": auc(y, -stats[:, 0]), "more_grain_auc": auc(y, stats[:, 1]), "n": int(len(y))}
