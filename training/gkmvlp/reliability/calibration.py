"""Platt calibration per label, the cardiothoracic-ratio finding, and calibration error.

The arithmetic here is the contract's (docs/contracts/model-bundle.md, "Format version 2"); the
TypeScript worker implements the same formulas and both check the bundle's golden `calibrated`
entries.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))


def fit_platt(p: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 200) -> tuple[float, float]:
    """(a, b) minimising the log loss of sigmoid(a * logit(p) + b) on (p, y), by Newton steps.

    A small ridge on (a - 1, b) keeps tiny validation sets from producing wild slopes.
    """
    x = logit(p)
    y = np.asarray(y, np.float64)
    a, b = 1.0, 0.0
    for _ in range(iters):
        q = sigmoid(a * x + b)
        r = q - y
        w = q * (1 - q)
        g = np.array([(r * x).sum() + l2 * (a - 1), r.sum() + l2 * b])
        h = np.array([[(w * x * x).sum() + l2, (w * x).sum()], [(w * x).sum(), w.sum() + l2]])
        step = np.linalg.solve(h + 1e-9 * np.eye(2), g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-8:
            break
    return float(a), float(b)


def apply_platt(p: np.ndarray, a: float, b: float) -> np.ndarray:
    return sigmoid(a * logit(p) + b)


def cardiothoracic_ratio(region_boxes: np.ndarray, regions: Sequence[str], heart: str,
                         thorax: Sequence[str]) -> np.ndarray:
    """[B] heart box width / width of the union of the thorax boxes (normalized xyxy boxes)."""
    rb = np.asarray(region_boxes, np.float64)
    h = rb[:, regions.index(heart)]
    t = np.stack([rb[:, regions.index(r)] for r in thorax], axis=1)
    width_t = t[..., 2].max(1) - t[..., 0].min(1)
    return (h[:, 2] - h[:, 0]) / np.maximum(width_t, 1e-6)


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
        out[:, labels.index(lab)] = sigmoid(d["a"] * ctr + d["b"])
    return out


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
    return [{"bin": b, "n": int((idx == b).sum()), "mean_p": float(p[idx == b].mean()),
             "frac_pos": float(y[idx == b].mean())} for b in range(bins) if (idx == b).any()]


__all__ = ["fit_platt", "apply_platt", "cardiothoracic_ratio", "final_probabilities", "ece", "reliability_curve",
           "logit", "sigmoid"]
