"""PNG plots of one bench run (matplotlib), from the results JSON that bench/main.ts writes.

    python bench/plots.py .local/bench/results.json docs/bench

Writes latency.png, throughput.png, ratios.png and, when measured, torch_vs_ort.png and pipeline.png.
Files of plots that this run has no data for are removed, so the folder matches the document.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TASKS = ["classification", "localization", "report", "vqa"]


def save(fig, out: Path, name: str, written: list[str]) -> None:
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    written.append(name)


def latency(inf: dict, out: Path, written: list[str]) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = range(len(TASKS))
    w = 0.38
    for i, (key, label, color) in enumerate([("latency_ms", "worker path", "#3367d6"), ("bare_latency_ms", "bare ORT", "#999999")]):
        p50 = [inf["tasks"][t][key]["p50"] for t in TASKS]
        p95 = [inf["tasks"][t][key]["p95"] for t in TASKS]
        pos = [j + (i - 0.5) * w for j in x]
        ax.bar(pos, p50, w, label=f"{label} p50", color=color)
        ax.scatter(pos, p95, marker="_", s=300, color="black", zorder=3, label="p95" if i == 0 else None)
    ax.set_xticks(list(x), TASKS)
    ax.set_ylabel("ms (batch 1, encoder included)")
    ax.set_yscale("log")
    ax.set_title("Latency per task: worker code path vs bare onnxruntime-node")
    ax.legend(fontsize=8)
    save(fig, out, "latency.png", written)


def throughput(inf: dict, batches: list[int], out: Path, written: list[str]) -> None:
    fig, axes = plt.subplots(1, len(TASKS), figsize=(11, 3.2), sharex=True)
    for ax, t in zip(axes, TASKS):
        thr = inf["tasks"][t]["throughput"]
        bs = [b for b in batches if str(b) in thr]
        ax.plot(bs, [thr[str(b)]["worker"] for b in bs], "o-", label="worker", color="#3367d6")
        ax.plot(bs, [thr[str(b)]["bare"] for b in bs], "s--", label="bare ORT", color="#999999")
        ax.set_title(t)
        ax.set_xscale("log", base=2)
        ax.set_xticks(bs, [str(b) for b in bs])
        ax.set_xlabel("batch")
    axes[0].set_ylabel("images / s")
    axes[0].legend(fontsize=8)
    fig.suptitle("Throughput by batch size")
    save(fig, out, "throughput.png", written)


def ratios(r: dict, out: Path, written: list[str]) -> None:
    series = []
    if r.get("inference"):
        series.append(("worker / bare ORT\n(target ≤ 1.10)", r["inference"]["worker_vs_ort"]["values"], 1.10))
    if r.get("torch"):
        series.append(("torch / ORT\n(target ≥ 2)", r["torch"]["ort_vs_torch"]["values"], 2.0))
    if r.get("pipeline"):
        series.append(("platform / bare\nstudies/s (≥ 0.6)", r["pipeline"]["pipeline_efficiency"]["values"], 0.6))
    if not series:
        return
    fig, axes = plt.subplots(1, len(series), figsize=(3.3 * len(series), 3.4))
    axes = axes if len(series) > 1 else [axes]
    for ax, (label, values, target) in zip(axes, series):
        ax.scatter([0] * len(values), values, color="#3367d6", zorder=3, label="rounds")
        med = sorted(values)[(len(values) - 1) // 2]
        ax.hlines(med, -0.3, 0.3, color="#3367d6", label=f"median {med:.3g}")
        ax.axhline(target, color="#d93025", linestyle="--", label=f"target {target}")
        ax.set_xticks([])
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle("Ratios, one point per interleaved round")
    save(fig, out, "ratios.png", written)


def torch_vs_ort(t: dict, out: Path, written: list[str]) -> None:
    g = t["per_graph_ms"]
    names = list(g)
    fig, ax = plt.subplots(figsize=(8, 3.4))
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], [g[n]["torch"] for n in names], 0.4, label=f"PyTorch eager {t['torch_version']}", color="#e8710a")
    ax.bar([i + 0.2 for i in x], [g[n]["ort"] for n in names], 0.4, label=f"ONNX Runtime {t['onnxruntime_version']}", color="#3367d6")
    ax.set_xticks(list(x), [n.replace("_", "\n", 1) for n in names], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("ms per call")
    ax.set_title(f"Per graph, same weights ({t['weights']['source']}), {t['threads']} thread(s)")
    ax.legend(fontsize=8)
    save(fig, out, "torch_vs_ort.png", written)


def pipeline(p: dict, out: Path, written: list[str]) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    plat, bare = p["platform_studies_per_s"]["values"], p["bare_studies_per_s"]["values"]
    axes[0].plot(range(1, len(plat) + 1), plat, "o-", label="platform", color="#3367d6")
    axes[0].plot(range(1, len(bare) + 1), bare, "s--", label="bare model", color="#999999")
    axes[0].set_xlabel("round")
    axes[0].set_ylabel("studies / s")
    axes[0].set_ylim(bottom=0)
    axes[0].legend(fontsize=8)
    axes[0].set_title("Studies per second (4 tasks each)")
    e = p["e2e_ms"]
    u = p["e2e_unloaded_ms"]
    axes[1].bar(["loaded p50", "loaded p95", "alone p50"], [e["p50"], e["p95"], u["p50"]], color=["#3367d6", "#1a3d8f", "#999999"])
    axes[1].set_ylabel("ms, request → 4th completion message")
    axes[1].set_title("End-to-end latency")
    save(fig, out, "pipeline.png", written)


def main(argv: list[str]) -> None:
    results_file, out_dir = Path(argv[0]), Path(argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    r = json.loads(results_file.read_text())
    written: list[str] = []
    if r.get("inference"):
        latency(r["inference"], out_dir, written)
        throughput(r["inference"], r["settings"]["batchSizes"], out_dir, written)
    ratios(r, out_dir, written)
    if r.get("torch"):
        torch_vs_ort(r["torch"], out_dir, written)
    if r.get("pipeline"):
        pipeline(r["pipeline"], out_dir, written)
    for old in out_dir.glob("*.png"):
        if old.name not in written:
            old.unlink()
    print(f"[plots] wrote {', '.join(written)} to {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
