"""Matplotlib PNGs: training curves and ROC curves (Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

TERMS = ("total", "itc", "itm", "lm", "ecls", "ground", "mask", "box", "vqa")


def plot_history(history: list[dict], path: str | Path, title: str = "training") -> None:
    joint = [h for h in history if h.get("phase") != "decoder"]
    phase = [h for h in history if h.get("phase") == "decoder"]
    fig, ax = plt.subplots(figsize=(8, 5))
    for k in TERMS:  # a term is drawn only where it was trained (log axis: no zeros)
        pts = [(h["step"], h[k]) for h in joint if h.get(k, 0.0) > 0]
        if pts:
            ax.plot(*zip(*pts), label=k, lw=2 if k == "total" else 1)
    if phase:
        ax.plot([h["step"] for h in phase], [h["lm"] for h in phase], label="lm (decoder phase)", lw=2, color="k")
        ax.axvline(phase[0]["step"], color="grey", ls="--", lw=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], path: str | Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 7))
    for name, (fpr, tpr, auc) in curves.items():
        ax.plot(fpr, tpr, lw=1, label=f"{name} ({auc:.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.5)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
