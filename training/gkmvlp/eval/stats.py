"""Small-sample statistics for real-film figures: bootstrap confidence intervals and permutation
p-values of ROC AUC, and a bootstrap CI of a mean. Seeded, so a figure is reproducible."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC by the rank formula (ties get half credit); nan with one class."""
    y, s = np.asarray(y, bool), np.asarray(s, np.float64)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _stratified_resamples(y: np.ndarray, n_boot: int, seed: int):
    """Bootstrap index sets that resample positives and negatives separately (both stay present); nothing when the
    films hold one class only."""
    pos, neg = np.nonzero(y)[0], np.nonzero(~y)[0]
    if len(pos) == 0 or len(neg) == 0:
        return
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])


def auc_ci(y, s, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI, resampling positives and negatives separately (both stay present)."""
    y, s = np.asarray(y, bool), np.asarray(s, np.float64)
    vals = [auc(y[idx], s[idx]) for idx in _stratified_resamples(y, n_boot, seed)]
    if not vals:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def auc_difference_ci(
    y, s_a, s_b, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """AUC(s_a) - AUC(s_b) on the same films, with a paired percentile bootstrap CI (the same resampled films score
    both, positives and negatives resampled separately): two models compared on one small set."""
    y, s_a, s_b = np.asarray(y, bool), np.asarray(s_a, np.float64), np.asarray(s_b, np.float64)
    vals = [auc(y[idx], s_a[idx]) - auc(y[idx], s_b[idx]) for idx in _stratified_resamples(y, n_boot, seed)]
    if not vals:
        return float("nan"), float("nan"), float("nan")
    a = (1 - level) / 2
    return auc(y, s_a) - auc(y, s_b), float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def auc_permutation_p(y, s, n_perm: int = 1000, seed: int = 0) -> tuple[float, float]:
    """(one-sided p that shuffled labels reach the observed AUC, mean AUC under shuffled labels)."""
    y, s = np.asarray(y, bool), np.asarray(s, np.float64)
    obs = auc(y, s)
    rng = np.random.default_rng(seed)
    null = np.array([auc(rng.permutation(y), s) for _ in range(n_perm)])
    return float((1 + (null >= obs).sum()) / (n_perm + 1)), float(null.mean())


def macro_auc_ci(
    ys: Sequence[np.ndarray], ss: Sequence[np.ndarray], n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Macro AUC over labels scored on the same images, with a bootstrap over images (labels
    resampled together, so their correlation is kept). Resamples missing a class are redrawn."""
    Y, S = np.stack([np.asarray(y, bool) for y in ys], 1), np.stack([np.asarray(s, float) for s in ss], 1)
    point = float(np.mean([auc(Y[:, k], S[:, k]) for k in range(Y.shape[1])]))
    rng = np.random.default_rng(seed)
    vals = []
    while len(vals) < n_boot:
        idx = rng.integers(0, len(Y), len(Y))
        y = Y[idx]
        if (y.sum(0) == 0).any() or (y.sum(0) == len(y)).any():
            continue
        vals.append(np.mean([auc(y[:, k], S[idx, k]) for k in range(Y.shape[1])]))
    a = (1 - level) / 2
    return point, float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def mean_ci(x, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    x = np.asarray(x, np.float64)
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    vals = [x[rng.integers(0, len(x), len(x))].mean() for _ in range(n_boot)]
    a = (1 - level) / 2
    return float(x.mean()), float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


__all__ = ["auc", "auc_ci", "auc_permutation_p", "macro_auc_ci", "mean_ci"]
