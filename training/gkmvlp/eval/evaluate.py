"""Evaluation on a held-out split: classification (fine-tuned and zero-shot), localization,
grounding, report generation and VQA. Thresholds are chosen on validation, metrics on test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..metrics.classification import auc_per_label, f1_thresholds, macro_auc, roc_curves
from ..metrics.localization import best_threshold, localization_metrics
from ..model.decoding import greedy
from ..model.gkmvlp import GKMVLP
from ..model.knowledge import zero_shot_prompts
from ..ontology import LABELS
from ..tokenizer import WordPieceTokenizer
from ..train.batches import TensorSet
from ..train.plots import plot_roc
from .report_metrics import report_metrics


@torch.no_grad()
def predict(
    model: GKMVLP, ts: TensorSet, batch_size: int = 32, reports: bool = True, max_new_tokens: int = 80
) -> dict[str, Any]:
    model.eval()
    n = len(ts)
    probs, heat, ground, boxes, gen, patches, knowledge = [], [], [], [], [], [], []
    for s in tqdm(range(0, n, batch_size), desc="predict", leave=False, mininterval=5):
        idx = list(range(s, min(n, s + batch_size)))
        b = ts.batch(idx)
        o = model.encode_image(b["pixel_values"])
        patches.append(o["patch_tokens"])
        knowledge.append(o["knowledge_tokens"])
        probs.append(torch.sigmoid(model.classify_logits(o["global_embedding"], o["knowledge_tokens"])))
        heat.append(torch.sigmoid(model.heatmap_logits(o["patch_tokens"], o["knowledge_tokens"])))
        ground.append(o["grounding_weights"])
        boxes.append(o["region_boxes"])
        if reports:
            gen += greedy(model.decoder, model.memory(o["region_tokens"], o["knowledge_tokens"]), max_new_tokens)
    # VQA: every question of the split, on the image features computed above (about 9 questions an image)
    patch_all, know_all = torch.cat(patches), torch.cat(knowledge)
    vqa_pred = []
    m = len(ts.qa_record)
    for s in range(0, m, batch_size):
        sl = slice(s, min(m, s + batch_size))
        recs = ts.qa_record[sl]
        logits = model.vqa_logits(ts.qa_ids[sl], ts.qa_mask[sl], patch_all[recs], know_all[recs])
        vqa_pred.append(logits.argmax(-1))
    return {
        "probs": torch.cat(probs).numpy(),
        "heat": torch.cat(heat).numpy(),
        "grounding": torch.cat(ground).numpy(),
        "region_boxes": torch.cat(boxes).numpy(),
        "report_ids": gen,
        "vqa_pred": torch.cat(vqa_pred).numpy() if vqa_pred else np.zeros(0, np.int64),
    }


@torch.no_grad()
def zero_shot_probs(model: GKMVLP, tok: WordPieceTokenizer, ts: TensorSet, batch_size: int = 64) -> np.ndarray:
    """P(label) = softmax over (positive, negative) knowledge-prompt similarities (no label training)."""
    model.eval()
    prompts = [p for lab in LABELS for p in zero_shot_prompts(lab)]
    ids, mask = tok.encode_batch(prompts, model.cfg.max_length)
    txt, _ = model.text_embed(torch.from_numpy(ids), torch.from_numpy(mask))
    txt = txt.reshape(len(LABELS), 2, -1)
    out = []
    for s in range(0, len(ts), batch_size):
        g, _ = model.vision(ts.arrays["pixel_values"][s : s + batch_size])
        img = model.image_embed(g)
        sim = torch.einsum("bd,kpd->bkp", img, txt) * model.logit_scale.exp().clamp(max=100.0)
        out.append(torch.softmax(sim, -1)[..., 0])
    return torch.cat(out).numpy()


def grounding_hit_rate(ground: np.ndarray, labels: np.ndarray, regions: np.ndarray) -> float:
    """Share of present findings whose top-attended region is one of their ground-truth regions."""
    hits = []
    for i, k in zip(*np.nonzero((labels > 0.5) & (regions.sum(-1) > 0))):
        hits.append(regions[i, k, int(ground[i, k].argmax())] > 0.5)
    return float(np.mean(hits)) if hits else float("nan")


def calibrate(model: GKMVLP, val: TensorSet) -> dict[str, Any]:
    p = predict(model, val, reports=False)
    a = val.arrays
    labels = a["labels"].numpy()
    return {
        "thresholds": f1_thresholds(p["probs"], labels, list(LABELS)),
        "heatmap_threshold": best_threshold(
            p["heat"], a["finding_boxes"].numpy(), a["finding_has_box"].numpy(), labels
        ),
    }


def evaluate(
    model: GKMVLP,
    tok: WordPieceTokenizer,
    answers: list[str],
    test: TensorSet,
    calib: dict[str, Any],
    out_dir: str | Path | None = None,
    split_name: str = "test",
    beam_size: int = 0,
) -> dict[str, Any]:
    p = predict(model, test)
    a = test.arrays
    labels = a["labels"].numpy()
    per = auc_per_label(p["probs"], labels, list(LABELS))
    zs = zero_shot_probs(model, tok, test)
    zs_per = auc_per_label(zs, labels, list(LABELS))
    loc = localization_metrics(
        p["heat"], a["finding_boxes"].numpy(), a["finding_has_box"].numpy(), labels, calib["heatmap_threshold"]
    )
    gen_text = [tok.decode(ids) for ids in p["report_ids"]]
    rep = report_metrics(gen_text, test.reports)
    closed = test.qa_closed.numpy()
    correct = p["vqa_pred"] == test.qa_answer.numpy()
    metrics = {
        "split": f"synthetic held-out {split_name}",
        "n_images": len(test),
        "n_questions": int(len(correct)),
        "auc_macro": macro_auc(per),
        "auc_per_label": per,
        "zero_shot_auc_macro": macro_auc(zs_per),
        "zero_shot_auc_per_label": zs_per,
        "localization_mean_iou": loc["mean_iou"],
        "localization_acc_iou_0.3": loc["acc_iou_0.3"],
        "localization_acc_iou_0.5": loc["acc_iou_0.5"],
        "pointing_game": loc["pointing_game"],
        "localization_n": loc["n"],
        "grounding_top1_hit": grounding_hit_rate(p["grounding"], labels, a["finding_regions"].numpy()),
        **rep,
        "vqa_closed_acc": float(correct[closed].mean()) if closed.any() else float("nan"),
        "vqa_open_acc": float(correct[~closed].mean()) if (~closed).any() else float("nan"),
        "thresholds": calib["thresholds"],
        "heatmap_threshold": calib["heatmap_threshold"],
    }
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        plot_roc(
            roc_curves(p["probs"], labels, list(LABELS), per),
            out / "roc.png",
            f"ROC, fine-tuned ({split_name}, macro AUC {metrics['auc_macro']:.3f})",
        )
        plot_roc(
            roc_curves(zs, labels, list(LABELS), zs_per),
            out / "roc_zero_shot.png",
            f"ROC, zero-shot knowledge prompts (macro AUC {metrics['zero_shot_auc_macro']:.3f})",
        )
        samples = [
            {"id": test.ids[i], "generated": gen_text[i], "reference": test.reports[i]}
            for i in range(min(5, len(test)))
        ]
        (out / "report_samples.json").write_text(json.dumps(samples, indent=1))
    return metrics
