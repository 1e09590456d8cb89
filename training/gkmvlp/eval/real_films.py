"""The honest real-film evaluation of a shipped bundle (npm run model:real-eval).

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

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..data.readers.nih14 import read_nih_labels
from ..metrics.localization import box_iou
from ..model.anatomy_boxes import refine_region_boxes
from ..model.preprocess import decode_gray, preprocess_array
from ..reliability.calibration import ece, final_probabilities
from ..text.labeller import label_report
from ..text.presence import presence_answer, presence_label
from ..tokenizer import WordPieceTokenizer
from ..train.real_batches import mask_box, read_corpus
from .pixel_baselines import pixel_baselines
from .real import _run, classifier_parts, combine_members, load_bundle, parse_xywh
from .stats import auc, auc_ci, auc_permutation_p, macro_auc_ci, mean_ci

MIN_POSITIVES = 5


def scorable(y: np.ndarray) -> bool:
    """Whether a label's AUC is reported on these films: at least MIN_POSITIVES positives and as many negatives."""
    return len(y) > 0 and MIN_POSITIVES <= int(y.sum()) <= len(y) - MIN_POSITIVES


class FilmRunner:
    """One bundle, every graph the evaluation needs; results cached per image path."""

    def __init__(self, bundle_dir: Path, threads: int = 1):
        self.b = load_bundle(bundle_dir, threads)
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = max(1, threads), 1
        for name in ("vqa_head", "report_decoder_step", "input_check", "anatomy_head"):
            spec = self.b.manifest["graphs"].get(name)
            if spec:
                self.b.sessions[name] = ort.InferenceSession(
                    str(bundle_dir / spec["file"]), sess_options=so, providers=["CPUExecutionProvider"]
                )
        self.m = self.b.manifest
        self.tok = WordPieceTokenizer.load(bundle_dir / self.m["tokenizer"]["vocab_file"])
        self.cache: dict[str, dict] = {}

    def gray(self, gray: np.ndarray, key: str) -> dict[str, Any]:
        if key in self.cache:
            return self.cache[key]
        pre = self.m["preprocessing"]
        x, lb = preprocess_array(gray, int(pre["image_size"]), float(pre["mean"]), float(pre["std"]))
        enc = _run(self.b, "image_encoder", {"pixel_values": x})
        head, members = classifier_parts(self.b, enc, x)
        raw = combine_members(head, members)
        # the parts too: the ensemble builder reports each member's own validation AUC beside the combined one
        out = {
            "x": x,
            "lb": lb,
            "enc": enc,
            "raw": raw[0],
            "head": head[0],
            "member_logits": None if members is None else members[0],
        }
        if "anatomy_head" in self.b.sessions:
            out["anatomy"] = _run(self.b, "anatomy_head", {"patch_tokens": enc["patch_tokens"]})["anatomy_masks"][0]
        # the boxes the worker reports: the anatomy masks' extents where the manifest says so (anatomy_boxes)
        boxes = refine_region_boxes(enc["region_boxes"], out["anatomy"][None] if "anatomy" in out else None, self.m)
        out["boxes"] = boxes[0]
        out["probs"] = final_probabilities(raw, boxes, self.m)[0]
        if "input_check" in self.b.sessions:
            ic = _run(self.b, "input_check", {"pixel_values": x, "global_embedding": enc["global_embedding"]})
            out["frontal"] = float(ic["frontal_cxr_probability"][0])
            out["ood"] = float(ic["ood_distance"][0])
        self.cache[key] = out
        return out

    def image(self, path: Path) -> dict[str, Any]:
        return self.gray(decode_gray(path), str(path))

    def anatomy_masks(self, r: dict, shape: tuple[int, int]) -> dict[str, np.ndarray] | None:
        """The anatomy graph's masks at the film's stored size (bilinear over the letterboxed square,
        padding cropped, threshold 0.5); None when the bundle has no anatomy graph."""
        if "anatomy_head" not in self.b.sessions:
            return None
        if "anatomy" not in r:
            r["anatomy"] = _run(self.b, "anatomy_head", {"patch_tokens": r["enc"]["patch_tokens"]})["anatomy_masks"][0]
        lb, out = r["lb"], {}
        for j, reg in enumerate(self.m["anatomy"]["regions"]):
            sq = Image.fromarray(r["anatomy"][j].astype(np.float32)).resize((lb.side, lb.side), Image.BILINEAR)
            a = np.asarray(sq)[lb.pad_y : lb.pad_y + shape[0], lb.pad_x : lb.pad_x + shape[1]]
            out[reg] = a >= 0.5
        return out

    def answer(self, r: dict, question: str) -> str:
        """As the worker answers: a presence question the bundle's vqa_presence covers from the reported
        finding, anything else from the VQA head."""
        found = presence_answer(question, r["probs"], self.m)
        if found is not None:
            return found[0]
        t = int(self.m["tokenizer"]["question_max_length"])
        ids, mask = self.tok.encode(question, t)
        logits = _run(
            self.b,
            "vqa_head",
            {"question_ids": np.array([ids], np.int64), "question_mask": np.array([mask], np.int64), **r["enc"]},
        )["answer_logits"][0]
        closed = [self.m["answers"].index(a) for a in self.m["closed_answers"]]
        return self.m["answers"][max(closed, key=lambda i: logits[i])]

    def report(self, r: dict, max_new: int = 60) -> str:
        from ..export.bundle import _greedy_ort
        from ..model.config import ModelConfig

        c = self.m["config"]
        cfg = ModelConfig(
            decoder_layers=c["decoder_layers"], heads=c["heads"], dim=c["dim"], max_length=c["max_length"]
        )
        memory = np.concatenate([r["enc"]["region_tokens"], r["enc"]["knowledge_tokens"]], axis=1)
        spec = {
            "inputs": self.m["graphs"]["report_decoder_step"]["inputs"],
            "outputs": self.m["graphs"]["report_decoder_step"]["outputs"],
        }
        return self.tok.decode(_greedy_ort(self.b.sessions["report_decoder_step"], spec, memory, cfg, max_new))


def auc_figure(y, s, seed: int = 0) -> dict[str, Any]:
    y, s = np.asarray(y, bool), np.asarray(s, float)
    lo, hi = auc_ci(y, s, seed=seed)
    p, null = auc_permutation_p(y, s, seed=seed)
    return {
        "auc": auc(y, s),
        "ci_low": lo,
        "ci_high": hi,
        "perm_p": p,
        "shuffled_labels_auc": null,
        "n_pos": int(y.sum()),
        "n_neg": int((~y).sum()),
    }


def label_auc(
    rows: list[dict], score: Callable[[dict], float], label: str, keep: Callable[[dict], bool]
) -> dict[str, Any]:
    """AUC of one label over the films `keep` selects whose label is known (unknown labels are masked, never
    negative); a note instead when only one class is left."""
    sel = [r for r in rows if keep(r) and r["labels"].get(label) is not None]
    y = np.array([int(r["labels"][label]) for r in sel])
    if len(set(y.tolist())) < 2:
        return {"n": len(sel), "note": "one class only"}
    return auc_figure(y, np.array([score(r) for r in sel]))


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


__all__ = [
    "FilmRunner",
    "nih_dev",
    "corpus_tasks",
    "label_auc",
    "pooled_label_auc",
    "anatomy",
    "covid_lung_boxes",
    "vqa",
    "report_agreement",
    "ood_fixtures",
]
