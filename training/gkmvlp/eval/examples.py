"""Example grid for the model card: a few synthetic held-out images with the heatmap of one finding,
the predicted box (heatmap box rule, red) and the ground-truth box (green), the top-3 predicted labels,
the true labels, and the generated vs reference report.

Only the chosen images go through the model (the image side of `evaluate.predict` plus greedy
decoding), so the figure is cheap next to the evaluation itself.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..metrics.localization import box_iou, heatmap_box
from ..model.decoding import greedy
from ..model.gkmvlp import GKMVLP
from ..ontology import LABEL_INDEX, LABELS
from ..tokenizer import WordPieceTokenizer
from ..train.batches import TensorSet

NO_FINDING = LABEL_INDEX["No Finding"]


def choose_examples(ts: TensorSet, n: int = 8, seed: int = 0) -> list[int]:
    """Deterministic pick of up to n image indices: images with a present finding that has a ground-truth
    box first, then one normal image (no positive finding), then any other image to fill up to n.
    `seed` only shuffles the order inside each group."""
    labels = ts.arrays["labels"].numpy() > 0.5
    has_box = ts.arrays["finding_has_box"].numpy() > 0.5
    findings = np.delete(labels, NO_FINDING, axis=1)
    boxed = np.flatnonzero((labels & has_box).any(1))
    normal = np.flatnonzero(~findings.any(1))
    rest = np.setdiff1d(np.arange(len(ts)), np.union1d(boxed, normal))
    rng = np.random.default_rng(seed)
    boxed, normal, rest = (rng.permutation(g).tolist() for g in (boxed, normal, rest))
    n = min(n, len(ts))
    n_normal = 1 if normal and (n > 1 or not boxed) else 0
    k = min(len(boxed), n - n_normal)
    fill = rest + boxed[k:] + normal[n_normal:]
    return boxed[:k] + fill[: n - k - n_normal] + normal[:n_normal]


@torch.no_grad()
def run_examples(
    model: GKMVLP, tok: WordPieceTokenizer, ts: TensorSet, idx: list[int], max_new_tokens: int = 80
) -> dict[str, Any]:
    """Probabilities [n,L], heatmaps [n,L,G,G] and generated report texts for the given images only."""
    model.eval()
    o = model.encode_image(ts.arrays["pixel_values"][torch.as_tensor(idx, dtype=torch.long)])
    probs = torch.sigmoid(model.classify_logits(o["global_embedding"], o["knowledge_tokens"])).numpy()
    heat = torch.sigmoid(model.heatmap_logits(o["patch_tokens"], o["knowledge_tokens"])).numpy()
    ids = greedy(model.decoder, model.memory(o["region_tokens"], o["knowledge_tokens"]), max_new_tokens)
    return {"probs": probs, "heat": heat, "reports": [tok.decode(r) for r in ids]}


def describe(ts: TensorSet, i: int, probs: np.ndarray, heat: np.ndarray, threshold: float) -> dict[str, Any]:
    """One panel's content. Heatmap finding: the most probable truly present finding that has a ground-truth
    box, else the most probable present finding, else (normal image) the top predicted finding."""
    labels = ts.arrays["labels"][i].numpy() > 0.5
    has_box = ts.arrays["finding_has_box"][i].numpy() > 0.5
    present = [k for k in range(len(LABELS)) if labels[k] and k != NO_FINDING]
    cand = [k for k in present if has_box[k]] or present
    pool = cand or [k for k in range(len(LABELS)) if k != NO_FINDING]
    k = max(pool, key=lambda j: probs[j])
    pred = [float(v) for v in heatmap_box(heat[k], threshold)]
    gt = [float(v) for v in ts.arrays["finding_boxes"][i, k].numpy()] if labels[k] and has_box[k] else None
    order = np.argsort(-probs)[:3]
    return {
        "index": i,
        "id": ts.ids[i],
        "label": LABELS[k],
        "k": k,
        "truly_present": bool(labels[k]),
        "pred_box": pred,
        "gt_box": gt,
        "iou": box_iou(pred, gt) if gt else None,
        "top3": [(LABELS[j], float(probs[j])) for j in order],
        "true": [LABELS[j] for j in range(len(LABELS)) if labels[j]],
    }


def _wrap(text: str, width: int, max_lines: int) -> str:
    lines = textwrap.wrap(text or "(empty)", width) or ["(empty)"]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 3] + "..."
    return "\n".join(lines)


def plot_examples(
    model: GKMVLP,
    tok: WordPieceTokenizer,
    ts: TensorSet,
    calib: dict[str, Any],
    out_path: str | Path,
    n: int = 8,
    seed: int = 0,
    split_name: str = "test",
    max_new_tokens: int = 80,
) -> list[dict[str, Any]]:
    """Write the example grid (PNG) and return what each panel shows (index, id, finding, boxes, IoU)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    idx = choose_examples(ts, n, seed)
    if not idx:
        raise ValueError("no images to draw examples from")
    thr = float(calib["heatmap_threshold"])
    res = run_examples(model, tok, ts, idx, max_new_tokens)
    cfg = model.cfg
    s = ts.arrays["pixel_values"].shape[-1]
    cols = min(4, len(idx))
    rows = math.ceil(len(idx) / cols)
    fig = plt.figure(figsize=(4.0 * cols, 6.6 * rows))
    outer = fig.add_gridspec(
        rows, cols, hspace=0.06, wspace=0.06, left=0.01, right=0.99, bottom=0.01, top=1 - 1.0 / (6.6 * rows)
    )  # room for the figure title and the first panel titles
    panels = []
    for j, i in enumerate(idx):
        r, c = divmod(j, cols)
        d = describe(ts, i, res["probs"][j], res["heat"][j], thr)
        d["generated"], d["reference"] = res["reports"][j], ts.reports[i]
        panels.append(d)
        cell = outer[r, c].subgridspec(2, 1, height_ratios=[1.0, 0.68], hspace=0.02)
        ax = fig.add_subplot(cell[0])
        img = ts.arrays["pixel_values"][i, 0].numpy() * cfg.std + cfg.mean  # undo normalization
        ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1, extent=(0, s, s, 0))
        h = res["heat"][j, d["k"]]
        # heatmap grid (heat.shape[-1], possibly finer than the patch grid) stretched over the model square,
        # scaled to its own max like the box rule
        ax.imshow(
            h / max(float(h.max()), 1e-8),
            cmap="jet",
            alpha=0.35,
            vmin=0,
            vmax=1,
            interpolation="nearest",
            extent=(0, s, s, 0),
        )
        for box, color in ((d["pred_box"], "red"), (d["gt_box"], "lime")):
            if box:
                x1, y1, x2, y2 = (v * s for v in box)
                ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color, lw=1.8))
        ax.set_xlim(0, s), ax.set_ylim(s, 0), ax.set_xticks([]), ax.set_yticks([])
        what = "" if d["truly_present"] else " (top predicted; normal image)"
        iou = f", IoU {d['iou']:.2f}" if d["iou"] is not None else ""
        ax.set_title(f"{d['id']}\nheatmap: {d['label']}{what}{iou}", fontsize=8)
        tx = fig.add_subplot(cell[1])
        tx.axis("off")
        top = ", ".join(f"{lab} {p:.2f}" for lab, p in d["top3"])
        text = "\n".join(
            [
                _wrap("Top-3: " + top, 58, 3),
                _wrap("True: " + (", ".join(d["true"]) or "-"), 58, 3),
                "Generated:",
                _wrap(d["generated"], 58, 10),
                "Reference:",
                _wrap(d["reference"], 58, 6),
            ]
        )
        tx.text(0.02, 1.0, text, va="top", ha="left", fontsize=7, transform=tx.transAxes)
    fig.suptitle(
        f"GK-MVLP examples: synthetic held-out {split_name} split ({len(idx)} of {len(ts)} images). "
        f"Trained on synthetic data only; not real X-rays, not for clinical use.\n"
        f"Heatmap of the named finding (scaled to its max); red: predicted box "
        f"(cells >= {thr:.2f} x max), green: ground-truth box",
        fontsize=9,
        y=0.995,
    )
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return panels
