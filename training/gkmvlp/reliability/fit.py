"""Fit what a v2 bundle needs to say how far to trust it, from a trained checkpoint and the real corpus.

- Platt calibration on the real validation films, for every label with both classes known there;
- decision thresholds on the calibrated scale (best F1 on the same films);
- the input check: a logistic frontal-chest-film classifier (real frontal training films and
  synthetic films against generated non-CXR inputs, inverted and rotated films, and lateral views),
  and the Mahalanobis distance of the embedding from the real training films, with thresholds from
  the real validation films;
- the cardiothoracic-ratio rule for cardiomegaly (a fixed clinical rule, CTR > 0.5, not fitted:
  no training film here is labelled for cardiomegaly).
Everything is written to one folder (reliability.json + input_check.pt) that the exporter reads.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..metrics.classification import f1_thresholds
from ..model.anatomy_boxes import refine_region_boxes
from ..model.anatomy_boxes import spec as anatomy_boxes_spec
from ..model.gkmvlp import GKMVLP
from ..model.preprocess import decode_gray, preprocess_array
from ..ontology import LABELS, REGIONS
from .calibration import apply_platt, cardiothoracic_ratio, ece, fit_ctr_with_head, fit_platt, logit, sigmoid
from .input_check import InputCheck, image_features, joined_features
from .negatives import KINDS, lateral_variants, make, transformed_film

CTR_RULE = {
    "kind": "cardiothoracic_ratio",
    "heart_region": "cardiac silhouette",
    "thorax_regions": ["right lung", "left lung"],
    "a": 25.0,
    "b": -12.5,
}  # p = 0.5 at CTR 0.5


@torch.no_grad()
def encode_arrays(model: GKMVLP, grays: list[np.ndarray], batch: int = 32) -> dict[str, np.ndarray]:
    """Input-check image features, embeddings, raw probabilities and region boxes of grey images (in [0, 1]).
    Not the pixels themselves: at 256 px those of every real film exhausted the memory of a 24 GB machine."""
    c = model.cfg
    model.eval()
    out: dict[str, list] = {"img_feats": [], "emb": [], "probs": [], "boxes": []}
    for s in tqdm(range(0, len(grays), batch), desc="encode", leave=False, mininterval=5):
        x = torch.from_numpy(
            np.concatenate([preprocess_array(g, c.image_size, c.mean, c.std)[0] for g in grays[s : s + batch]])
        )
        o = model.encode_image(x)
        out["img_feats"].append(image_features(x, c.mean, c.std))
        out["emb"].append(o["global_embedding"])
        out["probs"].append(torch.sigmoid(model.classify_logits(o["global_embedding"], o["knowledge_tokens"])))
        boxes = o["region_boxes"]
        if model.anatomy is not None:  # the boxes the bundle reports (anatomy_boxes), not the region head's own
            masks = torch.sigmoid(model.anatomy(o["patch_tokens"])).numpy()
            boxes = torch.from_numpy(refine_region_boxes(boxes.numpy(), masks, anatomy_boxes_context()))
        out["boxes"].append(boxes)
    return {k: torch.cat(v).numpy() if v else np.zeros((0,)) for k, v in out.items()}


def fit_cardiomegaly(ctr: np.ndarray, raw: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[dict, float, dict | None]:
    """(derived section, threshold, fit report) of Cardiomegaly from real films that know it: the measured ratio (the
    clinical rule, threshold 0.5) unless the ratio together with the head's evidence ranks better out of fold, then
    that fit with its F1 threshold on the same films."""
    derived, threshold = dict(CTR_RULE), 0.5
    fit = fit_ctr_with_head(ctr, raw, y, seed=seed) if len(y) else None
    if fit and fit["kept"]:
        derived.update(a=fit["a"], b=fit["b"], head_weight=fit["head_weight"])
        ok = ~np.isnan(ctr)
        z = fit["a"] * ctr[ok] + fit["b"] + fit["head_weight"] * logit(raw[ok])
        threshold = float(f1_thresholds(sigmoid(z)[:, None], y[ok][:, None], ["Cardiomegaly"])["Cardiomegaly"])
    return derived, threshold, fit


def anatomy_boxes_context() -> dict:
    """What refine_region_boxes needs of a manifest, for a model with the anatomy head."""
    from ..model.heads import ANATOMY

    return {"anatomy_boxes": anatomy_boxes_spec(), "anatomy": {"regions": list(ANATOMY)}, "regions": list(REGIONS)}


def load_grays(root: Path, rows: list[dict]) -> list[np.ndarray]:
    return [decode_gray(root / r["image"]) for r in rows]


def label_matrix(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    y = np.zeros((len(rows), len(LABELS)))
    known = np.zeros_like(y)
    for i, r in enumerate(rows):
        for lab, v in r["labels"].items():
            y[i, LABELS.index(lab)] = float(v == 1)
            known[i, LABELS.index(lab)] = 1
    return y, known


# each real lateral enters the input check's fit with this many views of it (itself and variants)
LATERAL_VIEWS = 8


def negatives(real_grays: list[np.ndarray], seed: int, per_kind: int) -> list[np.ndarray]:
    """Generated non-CXR inputs and inverted / rotated real films (real laterals are added by fit_reliability,
    per lateral, so that a fold can leave one out)."""
    rng = np.random.default_rng(seed)
    out = [make(k, seed * 100_000 + i * 17 + j) for j, k in enumerate(KINDS) for i in range(per_kind)]
    pick = rng.choice(len(real_grays), min(len(real_grays), per_kind * 2), replace=False) if real_grays else []
    for n, i in enumerate(pick):
        out.append(transformed_film(real_grays[int(i)], "inverted" if n % 2 == 0 else "rotated"))
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    mu, sd = x.mean(0), x.std(0) + 1e-6
    clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    clf.fit((x - mu) / sd, y)
    return mu, sd, clf.coef_[0], float(clf.intercept_[0])


def fit_mahalanobis(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and whitening matrix W (d^2 = |W (e - mu)|^2) with Ledoit-Wolf shrinkage."""
    from sklearn.covariance import LedoitWolf

    lw = LedoitWolf().fit(emb)
    prec = np.linalg.inv(lw.covariance_)
    w = np.linalg.cholesky(prec).T  # prec = L L^T  ->  |L^T x|^2 = x^T prec x
    return lw.location_, w


def laterals_out_of_fold(lat_rows: list[dict], lat_x: list[np.ndarray], fit_without, folds: int = 4) -> dict:
    """How often a check fitted without a patient's laterals calls them frontal: the real laterals are split into
    folds by patient, each fold measured by a fit on the other folds (its variants left out too). Only the
    frontal classifier is refitted; the distance part does not depend on the laterals."""
    if len(lat_rows) < folds:
        return {"n": len(lat_rows), "note": f"fewer than {folds} real laterals"}
    fold = [int(hashlib.sha256(r["patient"].encode()).hexdigest()[:8], 16) % folds for r in lat_rows]
    frontal = np.zeros(len(lat_rows))
    for k in range(folds):
        held = {i for i, f in enumerate(fold) if f == k}
        if not held:
            continue
        mu, sd, w, b = fit_without(held)
        for i in held:
            z = ((lat_x[i][:1] - mu) / sd) @ w + b  # the first row is the film itself, not a variant
            frontal[i] = float(sigmoid(z)[0])
    refused = frontal < 0.5
    return {
        "n": len(lat_rows),
        "folds": folds,
        "refused_as_not_frontal": float(refused.mean()),
        "frontal_probability": [round(float(p), 4) for p in frontal],
    }


def learned_labels(rows: list[dict], min_each: int = 5) -> list[str]:
    """Labels the model learned from real films: at least min_each known positives and negatives among them."""
    pos, neg = dict.fromkeys(LABELS, 0), dict.fromkeys(LABELS, 0)
    for r in rows:
        for lab, v in r["labels"].items():
            if v == 1:
                pos[lab] += 1
            else:
                neg[lab] += 1
    return [lab for lab in LABELS if pos[lab] >= min_each and neg[lab] >= min_each]


def calibrate_labels(p: np.ndarray, y: np.ndarray, known: np.ndarray) -> tuple[dict, dict, dict]:
    """Platt calibration and the F1 threshold on the calibrated scale, per label (LABELS order in the columns),
    for every label with at least 5 known positives and 5 known negatives among these films; unknown labels
    (known == 0) are left out, never counted as negative. Returns (calibration, thresholds, per-label report)."""
    calibration, thresholds, report = {}, {}, {}
    for k, lab in enumerate(LABELS):
        m = known[:, k] > 0
        pos, neg = int(y[m, k].sum()), int((1 - y[m, k]).sum())
        if pos < 5 or neg < 5:
            continue
        a, bb = fit_platt(p[m, k], y[m, k])
        cal = apply_platt(p[m, k], a, bb)
        calibration[lab] = {"a": a, "b": bb, "n": int(m.sum())}
        thresholds[lab] = float(f1_thresholds(cal[:, None], y[m, k][:, None], [lab])[lab])
        report[lab] = {
            "n_pos": pos,
            "n_neg": neg,
            "ece_before": ece(p[m, k], y[m, k]),
            "ece_after": ece(cal, y[m, k]),
        }
    return calibration, thresholds, report


def fit_reliability(
    model: GKMVLP,
    corpus: Path,
    synthetic_grays: list[np.ndarray],
    seed: int = 0,
    per_kind: int = 120,
    learned_rows: list[dict] | None = None,
) -> tuple[InputCheck, dict[str, Any], dict[str, Any]]:
    """`learned_rows`: the real training films the checkpoint learned from (default: this corpus's training split).
    A label is validated on real data only when the model learned it from real films AND real validation films
    calibrate it: a label the validation films happen to know (e.g. CheXpert's) but training never saw stays out."""
    from ..train.real_batches import read_corpus

    rows = {s: read_corpus(corpus, s) for s in ("train", "val")}
    learned = set(learned_labels(rows["train"] if learned_rows is None else learned_rows))
    lat_rows = [r for r in read_corpus(corpus, None, frontal_only=False) if r.get("frontal") is False]
    lat_train = [r for r in lat_rows if r["split"] == "train"]
    grays = {s: load_grays(corpus, rows[s]) for s in rows}
    enc = {s: encode_arrays(model, grays[s]) for s in rows}
    syn = encode_arrays(model, synthetic_grays)
    neg_base = encode_arrays(model, negatives(grays["train"], seed, per_kind))
    neg_va = encode_arrays(model, negatives(grays["val"], seed + 1, per_kind // 3))

    c = model.cfg
    ic = InputCheck(c.dim, c.mean, c.std)

    def feats(e):
        return joined_features(torch.from_numpy(e["img_feats"]), torch.from_numpy(e["emb"])).numpy()

    pos_x = np.concatenate([feats(enc["train"]), feats(syn)])
    base_x = feats(neg_base)
    lat_rng = np.random.default_rng(seed + 7)
    lat_x = [
        feats(encode_arrays(model, lateral_variants(g, lat_rng, LATERAL_VIEWS))) for g in load_grays(corpus, lat_rows)
    ]

    def fit_without(held: set[int]):
        neg = np.concatenate([base_x, *[v for i, v in enumerate(lat_x) if i not in held]])
        return fit_logistic(np.concatenate([pos_x, neg]), np.r_[np.ones(len(pos_x)), np.zeros(len(neg))])

    # the shipped check learns from the training split's laterals only (the others measure it in real_eval)
    not_train = {i for i, r in enumerate(lat_rows) if r["split"] != "train"}
    mu, sd, w, b = fit_without(not_train)
    lateral_oof = laterals_out_of_fold(lat_rows, lat_x, fit_without)
    e_mu, e_w = fit_mahalanobis(enc["train"]["emb"].astype(np.float64))
    for name, v in (
        ("feat_mu", mu),
        ("feat_sd", sd),
        ("w", w),
        ("b", np.array(b)),
        ("emb_mu", e_mu),
        ("emb_whiten", e_w),
    ):
        getattr(ic, name).copy_(torch.as_tensor(v, dtype=torch.float32))

    with torch.no_grad():
        f_val, d_val = (
            t.numpy() for t in ic.score(torch.from_numpy(enc["val"]["img_feats"]), torch.from_numpy(enc["val"]["emb"]))
        )
        f_neg, _ = (t.numpy() for t in ic.score(torch.from_numpy(neg_va["img_feats"]), torch.from_numpy(neg_va["emb"])))
    caution = float(np.quantile(d_val, 0.975))
    abstain = float(np.quantile(d_val, 0.995) * 1.5)

    # calibration and thresholds on the real validation films
    y_val, k_val = label_matrix(rows["val"])
    p_val = enc["val"]["probs"].astype(np.float64)
    calibration, thresholds, val_metrics = calibrate_labels(p_val, y_val, k_val)
    validated = [lab for lab in calibration if lab in learned]
    ctr_val = cardiothoracic_ratio(
        enc["val"]["boxes"], list(REGIONS), CTR_RULE["heart_region"], CTR_RULE["thorax_regions"]
    )
    # Cardiomegaly, on the real validation films that know the label
    kc = LABELS.index("Cardiomegaly")
    mc = k_val[:, kc] > 0
    derived, ctr_threshold, ctr_fit = fit_cardiomegaly(ctr_val[mc], p_val[mc, kc], y_val[mc, kc], seed=seed)
    if ctr_fit and ctr_fit["kept"] and "Cardiomegaly" not in validated:
        validated.append("Cardiomegaly")
    report = {
        "frontal_val_accept": float((f_val >= 0.5).mean()),
        "frontal_negatives_val_reject": float((f_neg < 0.5).mean()),
        "ood_val_quantiles": {q: float(np.quantile(d_val, q)) for q in (0.5, 0.9, 0.975, 0.995)},
        "ctr_val_quantiles": {q: float(np.nanquantile(ctr_val, q)) for q in (0.05, 0.5, 0.95)},
        "calibration_val": val_metrics,
        "cardiomegaly_ctr_with_head": ctr_fit,
        "learned_from_real": sorted(learned, key=LABELS.index),
        "n": {
            "train": len(rows["train"]),
            "val": len(rows["val"]),
            "synthetic": len(synthetic_grays),
            "negatives_train": len(base_x) + LATERAL_VIEWS * len(lat_train),
            "laterals_train": len(lat_train),
        },
        "real_laterals_out_of_fold": lateral_oof,
    }
    rel = {
        **({"anatomy_boxes": anatomy_boxes_spec()} if model.anatomy is not None else {}),
        "calibration": {
            "method": "platt",
            "labels": calibration,
            "fitted_on": f"{len(rows['val'])} real validation films of the assembled corpus (patient split)",
        },
        "derived": {"Cardiomegaly": derived},
        "thresholds": {**thresholds, "Cardiomegaly": ctr_threshold},
        "reliability": {
            "graph": "input_check",
            "frontal_threshold": 0.5,
            "ood_thresholds": {"caution": caution, "abstain": abstain},
            "blank_std": 0.02,
            "validated_on_real": validated,
            "fitted_on": (
                f"frontal check: {len(rows['train'])} real frontal training films and {len(synthetic_grays)} "
                f"synthetic films against {len(base_x)} generated non-CXR inputs, inverted/rotated "
                f"films and {len(lat_train)} real lateral views ({LATERAL_VIEWS} views each); distance thresholds: 97.5th percentile and 1.5 x "
                f"the 99.5th percentile of {len(rows['val'])} real validation films"
            ),
        },
    }
    return ic, rel, report


def save(out: Path, ic: InputCheck, rel: dict, report: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.save(ic.state_dict(), out / "input_check.pt")
    (out / "reliability.json").write_text(json.dumps(rel, indent=1))
    (out / "fit_report.json").write_text(json.dumps(report, indent=1))


def load(out: Path, dim: int, mean: float, std: float) -> tuple[InputCheck, dict]:
    ic = InputCheck(dim, mean, std)
    ic.load_state_dict(torch.load(out / "input_check.pt", weights_only=True))
    return ic.eval(), json.loads((out / "reliability.json").read_text())


__all__ = ["fit_reliability", "calibrate_labels", "save", "load", "encode_arrays", "CTR_RULE", "sigmoid"]
