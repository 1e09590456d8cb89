"""Label-fraction curve: fine-tuned metrics against the share of labelled training images used.

`python -m gkmvlp.eval.label_fraction --run 0.01 A/metrics.json --run 0.1 B/metrics.json ... --out DIR`
writes label_fraction.json and label_fraction.png (macro AUC, fine-tuned and zero-shot, and the
other headline metrics on a log axis).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CURVE_KEYS = (
    "auc_macro",
    "zero_shot_auc_macro",
    "localization_mean_iou",
    "pointing_game",
    "ce_f1",
    "vqa_closed_acc",
    "vqa_open_acc",
)


def curve(runs: dict[float, dict]) -> dict:
    fracs = sorted(runs)
    return {"fractions": fracs, **{k: [runs[f].get(k) for f in fracs] for k in CURVE_KEYS}}


def plot(c: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    x = [100 * f for f in c["fractions"]]
    for k in CURVE_KEYS:
        ys = c[k]
        if all(isinstance(y, (int, float)) for y in ys):
            ax.plot(x, ys, marker="o", label=k, linestyle="--" if k.startswith("zero_shot") else "-")
    ax.set_xscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{v:g} %" for v in x])
    ax.set_xlabel("labelled training images used for fine-tuning")
    ax.set_ylabel("metric on the synthetic held-out test split")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", nargs=2, action="append", metavar=("FRACTION", "METRICS_JSON"), required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--title", default="Label-fraction curve (model trained on synthetic data only)")
    a = p.parse_args(argv)
    runs = {float(f): json.loads(Path(m).read_text()) for f, m in a.run}
    c = curve(runs)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "label_fraction.json").write_text(json.dumps(c, indent=1))
    plot(c, out / "label_fraction.png", a.title)
    print(json.dumps(c))


if __name__ == "__main__":
    main()
