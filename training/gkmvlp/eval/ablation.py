"""Summaries of repeated runs: per variant, the mean and sample standard deviation of each metric over
seeds, and the difference of the means with a plain reading of whether it exceeds the spread."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

HEADLINE = (
    "auc_macro",
    "localization_mean_iou",
    "pointing_game",
    "grounding_top1_hit",
    "bleu4",
    "rougeL",
    "ce_f1",
    "vqa_closed_acc",
    "vqa_open_acc",
)


def mean_sd(values: Iterable[float]) -> tuple[float, float]:
    v = [float(x) for x in values]
    if not v:
        return float("nan"), float("nan")
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else float("nan")
    return m, sd


def summarize(runs: dict[str, list[dict]], keys: Iterable[str] = HEADLINE) -> dict:
    """runs: variant -> list of metrics.json dicts (one per seed)."""
    out: dict = {"n_seeds": {v: len(r) for v, r in runs.items()}, "metrics": {}, "auc_per_label": {}}
    for k in keys:
        row = {}
        for variant, ms in runs.items():
            m, sd = mean_sd(x[k] for x in ms if k in x and x[k] == x[k])
            row[variant] = {"mean": m, "sd": sd, "values": [x.get(k) for x in ms]}
        out["metrics"][k] = row
    for variant, ms in runs.items():
        labels = [
            lab for lab in (ms[0].get("auc_per_label") or {}) if all(lab in (x.get("auc_per_label") or {}) for x in ms)
        ]
        out["auc_per_label"][variant] = {lab: mean_sd(x["auc_per_label"][lab] for x in ms) for lab in labels}
    return out


def plot_label_gaps(summary: dict, pairs: list[tuple[str, str]], path: str | Path) -> None:
    """Per-label AUC gap (mean over seeds) of each pair (a − b) as grouped bars, with the combined sd as whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per = summary["auc_per_label"]
    labels = [lab for lab in per[pairs[0][0]] if all(lab in per[v] for pr in pairs for v in pr)]
    fig, ax = plt.subplots(figsize=(10, 4.8))
    width = 0.8 / len(pairs)
    for i, (a, b) in enumerate(pairs):
        gaps = [per[a][lab][0] - per[b][lab][0] for lab in labels]
        err = [math.hypot(per[a][lab][1], per[b][lab][1]) for lab in labels]
        ax.bar(
            [j + (i - (len(pairs) - 1) / 2) * width for j in range(len(labels))],
            gaps,
            width,
            yerr=err,
            capsize=2,
            label=f"{a} − {b}",
        )
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("AUC gap (mean over seeds)")
    ax.set_title("Per-label test AUC: variant gaps (whiskers: sd of the two variants combined)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def verdict(a: dict, b: dict) -> str:
    """'a > b', 'a < b' or 'within spread': the gap must exceed the larger of the two SDs."""
    gap = a["mean"] - b["mean"]
    spread = max(a["sd"], b["sd"])
    if spread != spread or abs(gap) <= spread:
        return "within spread"
    return "higher" if gap > 0 else "lower"


def markdown(summary: dict, a: str = "gk", b: str = "no_gk") -> str:
    lines = [f"| metric | {a} (mean ± sd) | {b} (mean ± sd) | {a} − {b} | reading |", "| --- | --- | --- | --- | --- |"]
    for k, row in summary["metrics"].items():
        if a not in row or b not in row:
            continue
        ra, rb = row[a], row[b]
        lines.append(
            f"| {k} | {ra['mean']:.3f} ± {ra['sd']:.3f} | {rb['mean']:.3f} ± {rb['sd']:.3f} | "
            f"{ra['mean'] - rb['mean']:+.3f} | {a} {verdict(ra, rb)} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="summarize metrics.json files of repeated runs")
    p.add_argument(
        "--variant",
        action="append",
        nargs="+",
        metavar=("NAME", "METRICS_JSON"),
        required=True,
        help="a variant name followed by its runs' metrics.json files",
    )
    p.add_argument("--out", required=True, help="folder for ablation.json and ablation.md")
    p.add_argument(
        "--plot-pairs",
        nargs="+",
        metavar="A:B",
        help="also plot per-label AUC gaps A − B (ablation_labels.png), e.g. gk:no_gk",
    )
    args = p.parse_args(argv)
    names = [v[0] for v in args.variant]
    pairs = [tuple(pr.split(":")) for pr in args.plot_pairs or []]
    bad = [":".join(pr) for pr in pairs if len(pr) != 2 or any(v not in names for v in pr)]
    if bad:
        p.error(f"--plot-pairs takes A:B with both named by --variant; not usable: {bad}")
    runs = {v[0]: [json.loads(Path(f).read_text()) for f in v[1:]] for v in args.variant}
    s = summarize(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.json").write_text(json.dumps(s, indent=1))
    (out / "ablation.md").write_text(markdown(s, *list(runs)[:2]) + "\n")
    if pairs:
        plot_label_gaps(s, pairs, out / "ablation_labels.png")
    print(json.dumps({k: {v: round(r["mean"], 4) for v, r in row.items()} for k, row in s["metrics"].items()}))


if __name__ == "__main__":
    main()
