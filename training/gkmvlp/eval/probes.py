"""Where a checkpoint's presence signal lives (the model card's "why" of the GK ablation).

For each checkpoint, test-split macro AUC of: the classifier; the evidence head's pooled logit alone
(when the model has one); and logistic-regression probes on frozen features, fitted per label on
training images: the global token, the finding's knowledge token before the evidence presence is
added, the mean region token, the mean patch token, and global ⊕ knowledge. A probe that beats the
classifier says the head reads its features badly; probes that agree across variants say a module
re-arranges what the trunk sees rather than adding to it.

    python -m gkmvlp.eval.probes --data <dataset> --checkpoint <run>/finetune [...] [--out probes.json]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from ..metrics.classification import auc_per_label, macro_auc
from ..ontology import LABELS
from ..train.batches import TensorSet, build_tensors, read_split
from ..train.checkpoint import load_model

PROBES = ("global", "knowledge", "regions", "patches", "global+knowledge")


@torch.no_grad()
def features(model, ts: TensorSet, batch_size: int = 64) -> dict[str, np.ndarray]:
    out: dict[str, list[torch.Tensor]] = {
        k: [] for k in ("global", "knowledge", "regions", "patches", "evidence", "classifier")
    }
    model.eval()
    for s in range(0, len(ts), batch_size):
        o = model.encode_image(ts.arrays["pixel_values"][s : s + batch_size])
        out["global"].append(o["global_embedding"])
        out["knowledge"].append(o.get("knowledge_base", o["knowledge_tokens"]))
        out["regions"].append(o["region_tokens"].mean(1))
        out["patches"].append(o["patch_tokens"].mean(1))
        out["classifier"].append(model.classify_logits(o["global_embedding"], o["knowledge_tokens"]))
        if "evidence_logits" in o:
            out["evidence"].append(o["evidence_logits"])
    return {k: torch.cat(v).numpy() for k, v in out.items() if v}


def probe_input(f: dict[str, np.ndarray], name: str, k: int) -> np.ndarray:
    if name == "knowledge":
        return f["knowledge"][:, k]
    if name == "global+knowledge":
        return np.concatenate([f["global"], f["knowledge"][:, k]], axis=1)
    return f[name]


def probe_auc(
    train: dict[str, np.ndarray],
    y_train: np.ndarray,
    test: dict[str, np.ndarray],
    y_test: np.ndarray,
    name: str,
    c: float = 0.1,
) -> float:
    probs = np.zeros_like(y_test, dtype=np.float64)
    for k in range(y_test.shape[1]):
        if len(np.unique(y_train[:, k])) < 2:
            probs[:, k] = y_train[:, k].mean()  # one class in training: no ranking to learn
            continue
        x_tr, x_te = probe_input(train, name, k), probe_input(test, name, k)
        scale = StandardScaler().fit(x_tr)
        clf = LogisticRegression(C=c, max_iter=1000).fit(scale.transform(x_tr), y_train[:, k])
        probs[:, k] = clf.predict_proba(scale.transform(x_te))[:, 1]
    return macro_auc(auc_per_label(probs, y_test, list(LABELS)))


def probe_checkpoint(checkpoint: str | Path, data: str | Path, train_images: int = 3000) -> dict[str, float]:
    model, tok, answers, _ = load_model(checkpoint)
    sets = {
        split: build_tensors(data, read_split(data, split)[:n], model.cfg, tok, answers, split)
        for split, n in (("train", train_images), ("test", None))
    }
    f_tr, f_te = features(model, sets["train"]), features(model, sets["test"])
    y_tr, y_te = sets["train"].arrays["labels"].numpy(), sets["test"].arrays["labels"].numpy()
    out = {"classifier": macro_auc(auc_per_label(f_te["classifier"], y_te, list(LABELS)))}
    if "evidence" in f_te:
        out["evidence_logit"] = macro_auc(auc_per_label(f_te["evidence"], y_te, list(LABELS)))
    for name in PROBES:
        if name in ("knowledge", "global+knowledge") and np.ptp(f_te["knowledge"], axis=0).max() < 1e-6:
            continue  # knowledge tokens that do not depend on the image (GK module and evidence head off)
        out[f"probe_{name}"] = probe_auc(f_tr, y_tr, f_te, y_te, name)
    return out


def main(argv=None) -> None:
    import argparse

    p = argparse.ArgumentParser(
        description="test AUC of the classifier, the evidence logit and linear probes of frozen features"
    )
    p.add_argument("--data", required=True, help="dataset folder (its train and test splits)")
    p.add_argument("--checkpoint", nargs="+", required=True, help="checkpoint files or run folders")
    p.add_argument("--train-images", type=int, default=3000, help="training images the probes are fitted on")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", help="also write the results here as JSON")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    res = {
        str(c): {k: round(v, 4) for k, v in probe_checkpoint(c, args.data, args.train_images).items()}
        for c in args.checkpoint
    }
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
