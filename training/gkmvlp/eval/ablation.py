"""Summaries of repeated runs: per variant, the mean and sample standard deviation of each metric over
seeds, and the difference of the means with a plain reading of whether it exceeds the spread."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable

HEADLINE = ("auc_macro", "localization_mean_iou", "pointing_game", "grounding_top1_hit", "bleu4", "rougeL",
            "ce_f1", "vqa_closed_acc", "vqa_open_acc")


def mean_sd(values: Iterable[float]) -> tuple[float, float]:
    v = [float(x) for x in values]
    if not v:
        return float("nan"), float("nan")
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else float("nan")
    return m, sd


def summarize(runs: dict[str, list[dict]], keys: Iterable[str] = HEADLINE) -> dict:
    """runs: variant -> list of metrics.json dicts (one per seed)."""
    out: dict = {"n_seeds": {v: len(r) for v, r in runs.items()}, "metrics": {}}
    for k in keys:
        row = {}
        for variant, ms in runs.items():
            m, sd = mean_sd(x[k] for x in ms if k in x and x[k] == x[k])
            row[variant] = {"mean": m, "sd": sd, "values": [x.get(k) for x in ms]}
        out["metrics"][k] = row
    return out


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
        lines.append(f"| {k} | {ra['mean']:.3f} ± {ra['sd']:.3f} | {rb['mean']:.3f} ± {rb['sd']:.3f} | "
                     f"{ra['mean'] - rb['mean']:+.3f} | {a} {verdict(ra, rb)} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="summarize metrics.json files of repeated runs")
    p.add_argument("--variant", action="append", nargs="+", metavar=("NAME", "METRICS_JSON"), required=True,
                   help="a variant name followed by its runs' metrics.json files")
    p.add_argument("--out", required=True, help="folder for ablation.json and ablation.md")
    args = p.parse_args(argv)
    runs = {v[0]: [json.loads(Path(f).read_text()) for f in v[1:]] for v in args.variant}
    s = summarize(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.json").write_text(json.dumps(s, indent=1))
    names = list(runs)
    (out / "ablation.md").write_text(markdown(s, *names[:2]) + "\n")
    print(json.dumps({k: {v: round(r["mean"], 4) for v, r in row.items()} for k, row in s["metrics"].items()}))


if __name__ == "__main__":
    main()
