"""Localization metrics from per-finding heatmaps on the patch grid.

Box rule (shared with the TypeScript worker, recorded in the manifest): cells whose value is at
least `threshold * max(heatmap)` form the finding's region; its bounding box in patch units,
divided by the grid size, is the normalized xyxy box.
"""

from __future__ import annotations

import numpy as np


def heatmap_box(heat: np.ndarray, threshold: float) -> list[float]:
    g = heat.shape[-1]
    ys, xs = np.nonzero(heat >= threshold * heat.max())
    return [xs.min() / g, ys.min() / g, (xs.max() + 1) / g, (ys.max() + 1) / g]


def box_iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def pointing_hit(heat: np.ndarray, box) -> bool:
    g = heat.shape[-1]
    y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
    cx, cy = (x + 0.5) / g, (y + 0.5) / g
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def localization_metrics(
    heat: np.ndarray, boxes: np.ndarray, has_box: np.ndarray, labels: np.ndarray, threshold: float
) -> dict[str, float]:
    """Over every (image, present finding with a ground-truth box): mean IoU, acc@0.3/0.5, pointing."""
    ious, hits = [], []
    for i, k in zip(*np.nonzero((has_box > 0.5) & (labels > 0.5))):
        ious.append(box_iou(heatmap_box(heat[i, k], threshold), boxes[i, k]))
        hits.append(pointing_hit(heat[i, k], boxes[i, k]))
    if not ious:
        return {
            "mean_iou": float("nan"),
            "acc_iou_0.3": float("nan"),
            "acc_iou_0.5": float("nan"),
            "pointing_game": float("nan"),
            "n": 0,
        }
    a = np.asarray(ious)
    return {
        "mean_iou": float(a.mean()),
        "acc_iou_0.3": float((a >= 0.3).mean()),
        "acc_iou_0.5": float((a >= 0.5).mean()),
        "pointing_game": float(np.mean(hits)),
        "n": int(len(a)),
    }


def best_threshold(heat, boxes, has_box, labels, grid=(0.3, 0.4, 0.5, 0.6, 0.7)) -> float:
    """Relative heatmap threshold with the best mean IoU (chosen on validation)."""
    scores = {t: localization_metrics(heat, boxes, has_box, labels, t)["mean_iou"] for t in grid}
    scores = {t: s for t, s in scores.items() if s == s}
    return max(scores, key=scores.get) if scores else 0.5
