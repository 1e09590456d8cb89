"""Quick figures of a training checkpoint on the corpus's validation films, for choosing among candidate runs
without touching the test split: the NIH macro AUC (as real_splits.labelled_films defines it, on val), NIH
pneumonia vs normal, and Cardiomegaly from the classification head. Raw head probabilities (no calibration:
Platt scaling does not change an AUC), straight from the PyTorch checkpoint, on the CPU or a GPU; the corpus
may be a packed one (gkmvlp/train/real_pack.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..ontology import LABELS
from ..train.checkpoint import load_model
from ..train.real_batches import read_corpus, real_pixels
from .film_runner import scorable
from .real_splits import NIH_KEYS, _key
from .stats import auc


@torch.no_grad()
def head_probs(checkpoint: str | Path, corpus: str | Path, rows: list[dict], device: str = "cpu", batch: int = 256):
    """[N, L] raw classification probabilities of the corpus films `rows`, and the label names."""
    model, _tok, _answers, _blob = load_model(checkpoint)
    cfg, corpus = model.cfg, Path(corpus)
    model.to(device).eval()
    pixels = real_pixels(corpus, rows, cfg, desc="val films")
    out = []
    for s in range(0, len(rows), batch):
        o = model.encode_image(pixels[s : s + batch].to(device))
        out.append(torch.sigmoid(model.classify_logits(o["global_embedding"], o["knowledge_tokens"])).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(LABELS))), list(LABELS)


def val_scores(checkpoint: str | Path, corpus: str | Path, device: str = "cpu", split: str = "val") -> dict[str, Any]:
    rows = [r for r in read_corpus(corpus, split) if _key(r) in NIH_KEYS]
    probs, labels = head_probs(checkpoint, corpus, rows, device)
    per = {}
    for k, lab in enumerate(labels):
        sel = [i for i, r in enumerate(rows) if lab in r["labels"]]
        y = np.array([rows[i]["labels"][lab] == 1 for i in sel], bool)
        if scorable(y):
            per[lab] = round(auc(y, probs[sel, k]), 4)
    pn = [i for i, r in enumerate(rows) if _key(r) == "nih" and "Pneumonia" in r["labels"]]
    y = np.array([rows[i]["labels"]["Pneumonia"] == 1 for i in pn], bool)
    pneumonia = auc(y, probs[pn, labels.index("Pneumonia")]) if 0 < y.sum() < len(y) else None
    return {
        "split": split,
        "nih_films": len(rows),
        "nih_macro_auc": round(float(np.mean(list(per.values()))), 4) if per else None,
        "per_label": per,
        "pneumonia_vs_normal_nih": None if pneumonia is None else round(pneumonia, 4),
        "cardiomegaly_head": per.get("Cardiomegaly"),
    }


__all__ = ["val_scores", "head_probs"]
