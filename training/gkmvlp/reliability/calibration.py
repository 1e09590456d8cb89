"""Platt calibration per label, the cardiothoracic-ratio finding, and calibration error.

The arithmetic here is the contract's (docs/contracts/model-bundle.md, "Format version 2"); the
TypeScript worker implements the same formulas and both check the bundle's golden `calibrated`
entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(z, np.float64), -500, 500)))


def fit_platt(p: np.ndarray, y: np.ndarray, c: float = 10.0) -> tuple[float, float]:
    """(a, b) minimising the log loss of sigmoid(a * logit(p) + b) on (p, y).

    A logistic regression on the one feature logit(p), with an L2 penalty (strength 1/c) so that a
    small or separable validation set cannot drive the slope to infinity.
    """
    from sklearn.linear_model import LogisticRegression

    x = logit(p)[:, None]
    y = np.asarray(y, np.float64)
    if y.min() == y.max():
        raise ValueError("Platt calibration needs both classes")
    lr = LogisticRegression(C=c, max_iter=1000).fit(x, y.astype(int))
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def apply_platt(p: np.ndarray, a: float, b: float) -> np.ndarray:
    return sigmoid(a * logit(p) + b)


def cardiothoracic_ratio(
    region_boxes: np.ndarray, regions: Sequence[str], heart: str, thorax: Sequence[str]
) -> np.ndarray:
    """[B] heart box width / width of the union of the thorax boxes (normalized xyxy boxes); nan where
    the thorax has no width (the worker then keeps the head's calibrated probability, as here)."""
    rb = np.asarray(region_boxes, np.float64)
    h = rb[:, regions.index(heart)]
    t = np.stack([rb[:, regions.index(r)] for r in thorax], axis=1)
    width_t = t[..., 2].max(1) - t[..., 0].min(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(width_t > 0, np.maximum(0.0, h[:, 2] - h[:, 0]) / width_t, np.nan)


def final_probabilities(raw: np.ndarray, region_boxes: np.ndarray, manifest: dict[str, Any]) -> np.ndarray:
    """The probabilities a reader sees: derived findings replace the head, others are calibrated."""
    labels, regions = manifest["labels"], manifest["regions"]
    out = np.array(raw, np.float64, copy=True)
    cal = (manifest.get("calibration") or {}).get("labels") or {}
    for lab, c in cal.items():
        k = labels.index(lab)
        out[:, k] = apply_platt(out[:, k], c["a"], c["b"])
    for lab, d in (manifest.get("derived") or {}).items():
        if d["kind"] != "cardiothoracic_ratio":
            raise ValueError(f"unknown derived kind {d['kind']!r}")
        ctr = cardiothoracic_ratio(region_boxes, regions, d["heart_region"], d["thorax_regions"])
        k = labels.index(lab)
        # head_weight: the measured ratio together with the head's own (uncalibrated) evidence, when fitted on real
        # films that know the label; 0 (absent) is the ratio alone
        z = d["a"] * np.nan_to_num(ctr) + d["b"] + float(d.get("head_weight", 0.0)) * logit(np.asarray(raw)[:, k])
        out[:, k] = np.where(np.isnan(ctr), out[:, k], sigmoid(z))
    return out


def fit_ctr_with_head(ctr: np.ndarray, raw: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, Any] | None:
    """Fits p = sigmoid(a * CTR + head_weight * logit(raw) + b) on real films that know the label, and keeps it only if
    its out-of-fold AUC (5-fold, stratified) beats the fixed clinical rule's AUC on the same films; else None."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    ok = ~np.isnan(ctr)
    x = np.stack([ctr[ok], logit(raw[ok])], axis=1)
    y = np.asarray(y, np.int64)[ok]
    if min(int(y.sum()), int((1 - y).sum())) < 5:
        return None
    oof = np.zeros(len(y))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
        lr = LogisticRegression(C=1.0, max_iter=1000).fit(x[tr], y[tr])
        oof[te] = lr.decision_function(x[te])
    rule_auc, oof_auc = float(roc_auc_score(y, ctr[ok])), float(roc_auc_score(y, oof))
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    return {
        "a": float(lr.coef_[0, 0]),
        "head_weight": float(lr.coef_[0, 1]),
        "b": float(lr.intercept_[0]),
        "rule_auc": rule_auc,
        "cv_auc": oof_auc,
        "n_pos": int(y.sum()),
        "n_neg": int((1 - y).sum()),
        "kept": oof_auc > rule_auc,
    }


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error with equal-width bins (weighted by bin size)."""
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    if len(p) == 0:
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return float(total / len(p))


def reliability_curve(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return [
        {
            "bin": b,
            "n": int((idx == b).sum()),
            "mean_p": float(p[idx == b].mean()),
            "frac_pos": float(y[idx == b].mean()),
        }
        for b in range(bins)
        if (idx == b).any()
    ]


__all__ = [
    "fit_platt",
    "apply_platt",
    "cardiothoracic_ratio",
    "final_probabilities",
    "ece",
    "reliability_curve",
    "logit",
    "sigmoid",
]
