"""Region boxes measured from the anatomy head's masks (docs/contracts/model-bundle.md, "anatomy_boxes").

The region head regresses one box per region from pooled features; on real films its lung boxes are no
better than one fixed box, while the anatomy head's masks reach a Dice of about 0.93 on held-out JSRT and
OpenIST films. A listed region's box becomes the extent of its mask: thresholded, its largest
4-connected component (stray cells elsewhere in the film do not widen it), in cell units over the
model square. The TypeScript worker implements the same rule (workers/analysis/src/inference/anatomy-boxes.ts);
golden vectors hold both to it.
"""

from __future__ import annotations

from collections import deque

import numpy as np

METHOD = "largest_component_4"
# lungs and heart: the regions the cardiothoracic ratio and the lung findings are measured on. On the real
# validation films (0.4.0 bundle) their mask boxes matched the masks' own extents better than the region
# head's boxes: IoU 0.851 / 0.836 / 0.727 against 0.754 / 0.747 / 0.642 (right lung, left lung, heart).
REGIONS = ("right lung", "left lung", "cardiac silhouette")
THRESHOLD = 0.5


def spec(regions: tuple[str, ...] = REGIONS, threshold: float = THRESHOLD) -> dict:
    """The manifest's `anatomy_boxes` section."""
    return {
        "regions": list(regions),
        "threshold": threshold,
        "method": METHOD,
        "note": "these regions' boxes are the extent of the largest 4-connected component of the anatomy mask "
        "(>= threshold, in anatomy-grid cells over the model square); the region head's box where the mask is empty",
    }


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a boolean grid; on a tie in size the one whose first cell
    comes first in row-major order. All False when the mask is empty."""
    h, w = mask.shape
    label = np.zeros((h, w), np.int32)
    best, best_size, n = 0, 0, 0
    for y0 in range(h):
        for x0 in range(w):
            if not mask[y0, x0] or label[y0, x0]:
                continue
            n += 1
            label[y0, x0] = n
            size, todo = 0, deque([(y0, x0)])
            while todo:
                y, x = todo.popleft()
                size += 1
                for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not label[yy, xx]:
                        label[yy, xx] = n
                        todo.append((yy, xx))
            if size > best_size:
                best, best_size = n, size
    return label == best if best else np.zeros_like(mask, bool)


def mask_grid_box(prob: np.ndarray, threshold: float) -> list[float] | None:
    """Normalized xyxy box of the largest component of `prob >= threshold` on its square grid; None when empty."""
    comp = largest_component(np.asarray(prob) >= threshold)
    ys, xs = np.nonzero(comp)
    if len(xs) == 0:
        return None
    g_h, g_w = comp.shape
    return [xs.min() / g_w, ys.min() / g_h, (xs.max() + 1) / g_w, (ys.max() + 1) / g_h]


def refine_region_boxes(region_boxes: np.ndarray, masks: np.ndarray | None, manifest: dict) -> np.ndarray:
    """region_boxes [B, R, 4] with the manifest's `anatomy_boxes` regions replaced by their mask boxes
    (masks [B, A, G, G] in `anatomy.regions` order); a region whose mask is empty keeps the head's box.
    Without an `anatomy_boxes` section the boxes come back unchanged."""
    sec = manifest.get("anatomy_boxes")
    out = np.array(region_boxes, np.float32, copy=True)
    if not sec or masks is None:
        return out
    if sec.get("method", METHOD) != METHOD:
        raise ValueError(f"unknown anatomy_boxes method {sec.get('method')!r}")
    a_regions, regions = manifest["anatomy"]["regions"], manifest["regions"]
    for reg in sec["regions"]:
        a, r = a_regions.index(reg), regions.index(reg)
        for b in range(out.shape[0]):
            box = mask_grid_box(masks[b, a], float(sec["threshold"]))
            if box is not None:
                out[b, r] = box
    return out
