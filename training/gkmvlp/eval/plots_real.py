"""Reliability diagram of calibrated probabilities (raw head beside calibrated) on real test films."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..reliability.calibration import ece, reliability_curve


def reliability_diagram(p_raw: np.ndarray, p_cal: np.ndarray, y: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.plot([0, 1], [0, 1], color="#999", lw=1, ls="--", label="perfect calibration")
    for p, name, colour in ((p_raw, "head", "#d62728"), (p_cal, "calibrated", "#1f77b4")):
        if len(p) == 0:
            continue
        c = reliability_curve(p, y)
        ax.plot(
            [b["mean_p"] for b in c],
            [b["frac_pos"] for b in c],
            "o-",
            color=colour,
            label=f"{name} (ECE {ece(p, y):.3f})",
        )
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"{title}\nreal test films, {len(y)} (film, label) pairs", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
