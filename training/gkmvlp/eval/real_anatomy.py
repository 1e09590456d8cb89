"""Real-film anatomy figures of a bundle: lung and heart masks against the corpus's JSRT / OpenIST test masks, and
lung boxes against shared/data's COVID boxes, each beside a template from the corpus's TRAINING masks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..metrics.localization import box_iou
from ..model.preprocess import decode_gray, preprocess_array
from ..train.real_batches import mask_box, read_corpus
from .film_runner import FilmRunner
from .real import parse_xywh
from .stats import mean_ci


def anatomy(run: FilmRunner, corpus: Path) -> dict[str, Any]:
    """Lung and heart extents of the test masks: the predicted region box as a mask (Dice) and box
    IoU, beside a template box (mean box of the TRAINING masks in model coordinates)."""
    regions = run.m["regions"]
    groups = {"lung": ("right lung", "left lung"), "heart": ("cardiac silhouette",)}
    size = int(run.m["preprocessing"]["image_size"])

    def boxes_of(rows):
        out = []
        for r in rows:
            g = decode_gray(corpus / r["image"])
            _, lb = preprocess_array(
                g, size, float(run.m["preprocessing"]["mean"]), float(run.m["preprocessing"]["std"])
            )
            masks = {reg: np.asarray(Image.open(corpus / p).convert("L")) > 127 for reg, p in r["masks"].items()}
            out.append((r, g, lb, masks))
        return out

    train = boxes_of([r for r in read_corpus(corpus, "train") if r.get("masks")][:200])
    test = boxes_of([r for r in read_corpus(corpus, "test") if r.get("masks")])
    res: dict[str, Any] = {"n_test": len(test)}
    for name, regs in groups.items():
        tmpl = {
            reg: np.mean([lb.box_to_model(mask_box(m[reg])) for _, _, lb, m in train if reg in m], 0) for reg in regs
        }
        dice, dice_t, iou, iou_t = [], [], [], []
        for r, g, lb, m in test:
            if not all(reg in m for reg in regs):
                continue
            pred = run.gray(g, str(corpus / r["image"]))["boxes"]  # as reported (anatomy_boxes applied)
            truth = np.zeros(g.shape, bool)
            for reg in regs:
                truth |= m[reg]
            for store_d, store_i, boxes in (
                (dice, iou, {reg: pred[regions.index(reg)] for reg in regs}),
                (dice_t, iou_t, tmpl),
            ):
                pm = np.zeros(g.shape, bool)
                for reg in regs:
                    x1, y1, x2, y2 = (
                        (np.asarray(boxes[reg]) * lb.side - [lb.pad_x, lb.pad_y, lb.pad_x, lb.pad_y])
                        .round()
                        .astype(int)
                    )
                    pm[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)] = True
                store_d.append(2 * (pm & truth).sum() / max(1, pm.sum() + truth.sum()))
                store_i.append(np.mean([box_iou(list(boxes[reg]), lb.box_to_model(mask_box(m[reg]))) for reg in regs]))
        res[name] = {
            "dice_box_as_mask": mean_ci(dice),
            "dice_template": mean_ci(dice_t),
            "box_iou": mean_ci(iou),
            "box_iou_template": mean_ci(iou_t),
            "n": len(dice),
        }
        seg = []
        for r, g, _lb, m in test:
            if not all(reg in m for reg in regs):
                continue
            pm = run.anatomy_masks(run.gray(g, str(corpus / r["image"])), g.shape)
            if pm is None:
                break
            truth = np.zeros(g.shape, bool)
            pred = np.zeros(g.shape, bool)
            for reg in regs:
                truth |= m[reg]
                pred |= pm[reg]
            seg.append(2 * (pred & truth).sum() / max(1, pred.sum() + truth.sum()))
        if seg:
            res[name]["dice_mask"] = mean_ci(seg)
    return res


def covid_lung_boxes(run: FilmRunner, folder: Path, corpus: Path | None) -> dict[str, Any]:
    import csv

    regions = run.m["regions"]
    rows = [
        r
        for r in csv.DictReader(open(folder / "manifest.csv"))
        if r["lung_bbox_size_ok"].strip() == "1"
        and all(parse_xywh(r[c], "covid") for c in ("right_lung_bbox_xywh", "left_lung_bbox_xywh"))
    ]
    train_tmpl = None
    if corpus is not None:
        an = [r for r in read_corpus(corpus, "train") if {"right lung", "left lung"} <= set(r.get("masks", {}))][:200]
        boxes = []
        for r in an:
            g = decode_gray(corpus / r["image"])
            _, lb = preprocess_array(g, 16, 0.5, 0.25)
            boxes.append(
                [
                    lb.box_to_model(mask_box(np.asarray(Image.open(corpus / r["masks"][reg]).convert("L")) > 127))
                    for reg in ("right lung", "left lung")
                ]
            )
        train_tmpl = np.mean(boxes, 0) if boxes else None
    model_iou, head_iou, tmpl_iou, oracle_iou, gts = [], [], [], [], []
    for r in rows:
        res = run.image(folder / r["image_path"])
        gt = [
            res["lb"].box_to_model(parse_xywh(r[c], "covid")) for c in ("right_lung_bbox_xywh", "left_lung_bbox_xywh")
        ]
        gts.append(gt)
        pred = [res["boxes"][regions.index(reg)] for reg in ("right lung", "left lung")]
        model_iou.append(np.mean([box_iou(list(p), g) for p, g in zip(pred, gt)]))
        head = [res["enc"]["region_boxes"][0][regions.index(reg)] for reg in ("right lung", "left lung")]
        head_iou.append(np.mean([box_iou(list(p), g) for p, g in zip(head, gt)]))
        if train_tmpl is not None:
            tmpl_iou.append(np.mean([box_iou(list(t), g) for t, g in zip(train_tmpl, gt)]))
    dice = []
    for r in rows:
        if r["mask_size_matches_image"].strip() != "1":
            continue
        res = run.image(folder / r["image_path"])
        truth = np.asarray(Image.open(folder / r["lung_mask_path"]).convert("L")) > 127
        pm = run.anatomy_masks(res, truth.shape)
        if pm is None:
            break
        pred = pm["right lung"] | pm["left lung"]
        dice.append(2 * (pred & truth).sum() / max(1, pred.sum() + truth.sum()))
    oracle = np.mean(gts, 0)  # the mean of the evaluation boxes themselves: the template
    oracle_iou = [np.mean([box_iou(list(t), g) for t, g in zip(oracle, gt)]) for gt in gts]
    m, lo, hi = mean_ci(model_iou)
    out = {
        "n": len(rows),
        "model_iou": m,
        "model_iou_ci": [lo, hi],
        "box_source": "anatomy masks" if run.m.get("anatomy_boxes") else "region head",
        "region_head_iou": float(np.mean(head_iou)) if head_iou else None,
        "template_train_iou": mean_ci(tmpl_iou)[0],
        "template_oracle_iou": float(np.mean(oracle_iou)),
    }
    diffs = np.array(model_iou) - np.array(oracle_iou)
    out["minus_oracle_template"] = mean_ci(diffs)
    if dice:
        out["lung_mask_dice"] = mean_ci(dice)
    return out
