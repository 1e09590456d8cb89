"""Classification metrics: per-label and macro ROC AUC (sklearn), F1-optimal thresholds."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def auc_per_label(probs: np.ndarray, labels: np.ndarray, names: list[str]) -> dict[str, float | None]:
    """AUC per label; None where the split has only one class for that label (AUC undefined)."""
    out: dict[str, float | None] = {}
    for k, name in enumerate(names):
        y = labels[:, k]
        out[name] = float(roc_auc_score(y, probs[:, k])) if 0 < y.sum() < len(y) else None
    return out


def macro_auc(per_label: dict[str, float | None]) -> float:
    vals = [v for v in per_label.values() if v is not None]
    return float(np.mean(vals)) if vals else float("nan")


def roc_curves(probs: np.ndarray, labels: np.ndarray, names: list[str], per_label: dict[str, float | None]):
    curves = {}
    for k, name in enumerate(names):
        if per_label.get(name) is not None:
            fpr, tpr, _ = roc_curve(labels[:, k], probs[:, k])
            curves[name] = (fpr, tpr, per_label[name])
    return curves


def f1_thresholds(probs: np.ndarray, labels: np.ndarray, names: list[str], default: float = 0.5) -> dict[str, float]:
    """Per-label decision threshold maximizing F1 on (validation) data; `default` if no positives."""
    out = {}
    grid = np.linspace(0.05, 0.95, 19)
    for k, name in enumerate(names):
        y = labels[:, k] > 0.5
        if y.sum() == 0:
            out[name] = default
            continue
        best, best_t = -1.0, default
        for t in grid:
            p = probs[:, k] >= t
            tp = float((p & y).sum())
            f1 = 2 * tp / max(1.0, float(p.sum() + y.sum()))
            if f1 > best + 1e-9:
                best, best_t = f1, float(t)
        out[name] = round(best_t, 3)
    return out
