"""The honest real-film evaluation of a shipped bundle (npm run model:real-eval): classification, VQA, report and
input-check figures here, the anatomy figures in real_anatomy.py, the graph runner in film_runner.py.

Runs the bundle's ONNX graphs as the worker does (reference preprocessing, calibration and derived
findings from the manifest, the input_check graph) on:
- the assembled corpus's patient-split TEST films (NIH pneumonia vs normal, JSRT nodule vs none,
  lung and heart extents of JSRT / OpenIST masks);
- ../shared/data (NIH dev labels, COVID lung boxes and masks, NIH-derived VQA);
- test/fixtures/reliability (inputs that are not frontal chest films).
Every figure stands beside its trivial baseline: shuffled labels (permutation mean and p) for AUC,
a template box (mean of the corpus's TRAINING masks) for anatomy, the majority answer and a blank
image for VQA, a fixed normal report for report-label agreement. Small sets get bootstrap CIs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data.readers.nih14 import read_nih_labels
from ..reliability.calibration import ece
from ..text.labeller import label_report
from ..text.presence import presence_label
from ..train.real_batches import read_corpus
from .film_runner import FilmRunner, auc_figure, label_auc, scorable
from .pixel_baselines import pixel_baselines
from .stats import auc, macro_auc_ci, mean_ci


def nih_dev(run: FilmRunner, folder: Path) -> dict[str, Any]:
    recs = read_nih_labels(folder / "manifest.csv", image_root=folder)
    labels = run.m["labels"]
    probs = np.stack([run.image(Path(r["image"]))["probs"] for r in recs])
    per, ys, ss = {}, [], []
    for k, lab in enumerate(labels):
        y = np.array([r["labels"][lab] for r in recs if r["labels"].get(lab) is not None])
        s = np.array([p[k] for p, r in zip(probs, recs) if r["labels"].get(lab) is not None])
        if scorable(y):
            per[lab] = auc_figure(y, s)
            if len(y) == len(recs):
                ys.append(y)
                ss.append(s)
    macro, lo, hi = macro_auc_ci(ys, ss) if ys else (float("nan"),) * 3
    return {
        "n": len(recs),
        "per_label": per,
        "macro_auc": macro,
        "macro_ci_low": lo,
        "macro_ci_high": hi,
        "labels_scored": sorted(per),
        "prevalence_baseline_auc": 0.5,
    }


def corpus_tasks(run: FilmRunner, corpus: Path) -> dict[str, Any]:
    rows = read_corpus(corpus, "test")
    labels = run.m["labels"]
    res = {r["id"]: run.image(corpus / r["image"]) for r in rows}
    out: dict[str, Any] = {"n_test_films": len(rows)}

    def task(filter_fn, lab):
        k = labels.index(lab)
        return label_auc(rows, lambda r: res[r["id"]]["probs"][k], lab, filter_fn)

    out["pneumonia_vs_normal_nih"] = task(lambda r: r["id"].startswith("nih:"), "Pneumonia")
    pn_rows = [r for r in rows if r["id"].startswith("nih:") and "Pneumonia" in r["labels"]]
    out["pneumonia_vs_normal_nih"]["view_confound"] = view_confound(pn_rows, res, labels.index("Pneumonia"))
    out["pneumonia_vs_normal_nih"]["pixel_baselines"] = pixel_baselines(
        [corpus / r["image"] for r in pn_rows], np.array([r["labels"]["Pneumonia"] == 1 for r in pn_rows])
    )
    out["nodule_jsrt"] = task(lambda r: r["id"].startswith("jsrt:"), "Lung Lesion")
    out["pneumonia_all_sources"] = task(lambda r: True, "Pneumonia")
    # calibration on every known (label, film) pair of the calibrated labels
    cal = (run.m.get("calibration") or {}).get("labels") or {}
    p_raw, p_cal, yy = [], [], []
    for r in rows:
        for lab in cal:
            if lab in r["labels"]:
                k = labels.index(lab)
                p_raw.append(res[r["id"]]["raw"][k])
                p_cal.append(res[r["id"]]["probs"][k])
                yy.append(r["labels"][lab])
    out["calibration"] = {
        "labels": sorted(cal),
        "n_pairs": len(yy),
        "ece_raw": ece(np.array(p_raw), np.array(yy)),
        "ece": ece(np.array(p_cal), np.array(yy)),
    }
    out["_curve"] = (np.array(p_raw), np.array(p_cal), np.array(yy))
    out["cxr_accepted"] = (
        float(np.mean([res[r["id"]].get("frontal", 0) >= run.m["reliability"]["frontal_threshold"] for r in rows]))
        if "reliability" in run.m
        else None
    )
    return out


def view_confound(rows: list[dict], res: dict, k: int) -> dict[str, Any] | None:
    """How much of a pneumonia-vs-normal AUC the view position alone gives (in muhammedtalo's NIH selection the
    normal films are mostly AP, the pneumonia films mostly PA), and the model's AUC within each view."""
    known = [r for r in rows if r.get("view") in ("PA", "AP")]
    y = np.array([r["labels"]["Pneumonia"] for r in known])
    if len(set(y.tolist())) < 2:
        return None
    s = np.array([res[r["id"]]["probs"][k] for r in known])
    pa = np.array([r["view"] == "PA" for r in known], float)
    out: dict[str, Any] = {
        "n_view_known": len(known),
        "view_pa_auc": auc(y, pa),  # the trivial baseline: "PA film" as the score
        "model_auc_same_films": auc(y, s),
        "pa_share": {"pneumonia": float(pa[y == 1].mean()), "normal": float(pa[y == 0].mean())},
    }
    for view, sel in (("PA", pa == 1), ("AP", pa == 0)):
        n_pos, n_neg = int(y[sel].sum()), int((1 - y[sel]).sum())
        out[f"model_auc_within_{view}"] = (
            {"auc": auc(y[sel], s[sel]), "n_pos": n_pos, "n_neg": n_neg} if min(n_pos, n_neg) >= 5 else None
        )
    return out


def vqa(run: FilmRunner, folder: Path) -> dict[str, Any]:
    import json

    qa = [json.loads(line) for line in open(folder / "qa.jsonl") if line.strip()]
    # the README: about half of the images are kept outside the project; their questions are skipped
    qa = [
        q
        for q in qa
        if q["answer_type"] == "CLOSED" and q["answer"] in ("yes", "no") and (folder / q["image_path"]).is_file()
    ]
    blank_key = "__blank__"
    blank = run.gray(np.zeros((512, 512)), blank_key)
    right, blank_right, same = [], [], []
    for q in qa:
        img = (folder / q["image_path"]).resolve()
        a = run.answer(run.image(img), q["question"])
        b = run.answer(blank, q["question"])
        right.append(a == q["answer"])
        blank_right.append(b == q["answer"])
        same.append(a == b)
    answers = [q["answer"] for q in qa]
    majority = max(set(answers), key=answers.count) if answers else None
    sec = run.m.get("vqa_presence")
    from_findings = sum(1 for q in qa if sec and presence_label(q["question"], sec["phrases"]) is not None)
    maj = [a == majority for a in answers]
    acc = mean_ci(right)
    return {
        "n": len(qa),
        "closed_accuracy": acc,
        "majority_answer": majority,
        "majority_accuracy": float(np.mean(maj)),
        "blank_image_accuracy": float(np.mean(blank_right)),
        "same_as_blank_share": float(np.mean(same)),
        "answered_from_findings": from_findings,
        "minus_majority": mean_ci(np.array(right, float) - np.array(maj, float)),
    }


def report_agreement(run: FilmRunner, corpus: Path, limit: int = 1000) -> dict[str, Any]:
    """Does the generated report's labeller output agree with the film's real pneumonia label?"""
    rows = [r for r in read_corpus(corpus, "test") if "Pneumonia" in r["labels"]][:limit]
    agree, normal_agree = [], []
    for r in rows:
        text = run.report(run.image(corpus / r["image"]))
        said = label_report(text).get("Pneumonia") == 1
        agree.append(said == (r["labels"]["Pneumonia"] == 1))
        normal_agree.append(r["labels"]["Pneumonia"] == 0)  # a fixed "no acute findings" report
    share_normal = float(np.mean(normal_agree)) if rows else float("nan")
    # the trivial baseline: one fixed report for every film, the better of "normal" and "pneumonia"
    return {
        "n": len(rows),
        "pneumonia_agreement": mean_ci(agree),
        "fixed_normal_report_agreement": share_normal,
        "fixed_majority_report_agreement": max(share_normal, 1 - share_normal),
    }


def ood_fixtures(run: FilmRunner, folder: Path) -> dict[str, Any]:
    rel = run.m.get("reliability")
    files = sorted(p for p in folder.glob("*.png"))
    if rel is None or not files:
        return {"n": len(files), "note": "bundle has no input check" if rel is None else "no fixtures"}
    items = []
    for p in files:
        r = run.image(p)
        pre = run.m["preprocessing"]
        blank = float(np.std(r["x"] * float(pre["std"]) + float(pre["mean"]))) < rel["blank_std"]
        flagged = blank or r["frontal"] < rel["frontal_threshold"] or r["ood"] >= rel["ood_thresholds"]["abstain"]
        items.append(
            {"file": p.name, "frontal": r["frontal"], "ood": r["ood"], "blank": blank, "flagged": bool(flagged)}
        )
    return {"n": len(items), "flagged": float(np.mean([i["flagged"] for i in items])), "items": items}


def pooled_label_auc(run: FilmRunner, corpus: Path, splits: list[str], source: str, label: str) -> dict[str, Any]:
    """One label on one source's films (ids `source:...`) over several splits, e.g. JSRT nodules on validation and
    test together: the 37 test films alone give an interval about 0.4 wide."""
    rows = [r for sp in splits for r in read_corpus(corpus, sp)]
    k = run.m["labels"].index(label)
    out = label_auc(
        rows, lambda r: run.image(corpus / r["image"])["probs"][k], label, lambda r: r["id"].startswith(f"{source}:")
    )
    return {"splits": splits, "source": source, "label": label, **out}


__all__ = ["nih_dev", "corpus_tasks", "view_confound", "pooled_label_auc", "vqa", "report_agreement", "ood_fixtures"]
