"""Evaluation of an exported GK-MVLP bundle on the small real chest X-ray samples (shared/data).

The bundles so far were trained on synthetic images only: these figures measure the synthetic-to-real
gap on a few dozen public images with noisy labels, not diagnostic accuracy. The ONNX graphs run in
onnxruntime after the reference numpy preprocessing, as the worker runs them: what is measured is
the shipped artefact, not a PyTorch checkpoint.

Parts (one per data folder; a part whose folder is absent is skipped with a note):
  classification_nih14      per-label ROC AUC after mapping NIH labels to the bundle's labels
  localization_nih_bbox     pointing game and heatmap-box IoU against radiologist boxes
  localization_covid_lungs  IoU of the predicted right/left lung region boxes with human lung boxes
  report_iu_xray_text_only  language of real reports vs the bundle's tokenizer (text only)
All boxes are compared in normalized xyxy of the letterboxed model input square.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.readers.common import ReaderError, check_file, read_csv_rows, read_json
from ..data.readers.iu_xray import read_iu_text_jsonl
from ..data.readers.nih14 import read_nih_boxes, read_nih_labels
from ..metrics.localization import box_iou, heatmap_box, pointing_hit
from ..metrics.text_metrics import tokenize as words_of
from ..model.preprocess import Letterbox, decode_gray, preprocess_array
from ..reliability.calibration import logit, sigmoid
from ..text.labeller import label_report
from ..tokenizer import WordPieceTokenizer, basic_split

CAVEAT = (
    "This model was trained on synthetic images only. These figures come from a few dozen real public "
    "chest X-rays with noisy (text-mined) labels; they measure how far synthetic training transfers to "
    "real images and say nothing about diagnostic accuracy. Not for clinical use."
)
# Box part first, so that the example figure starts with images that have a ground-truth box.
PARTS = ("localization_nih_bbox", "classification_nih14", "localization_covid_lungs", "report_iu_xray_text_only")
N_EXAMPLES, N_BOXED_EXAMPLES = 6, 3


@dataclass
class Bundle:
    path: Path
    manifest: dict
    sessions: dict  # graph name -> onnxruntime.InferenceSession


@dataclass
class ImageResult:
    probs: np.ndarray  # [labels] raw classifier probabilities (the ensemble's combined value when the bundle has one)
    heatmaps: np.ndarray  # [labels, G, G] localization_head, over the model square
    region_boxes: np.ndarray  # [regions, 4] normalized xyxy of the model square, manifest order
    lb: Letterbox
    thumb: np.ndarray  # the grayscale image, downsampled to <= ~256 px, for the figure


def load_bundle(path: str | Path, threads: int = 1) -> Bundle:
    """Manifest + onnxruntime sessions of the three image graphs. Refuses preprocessing other than
    the contract's letterbox + area resize, because preprocess_array implements only that."""
    import onnxruntime as ort

    path = Path(path)
    mf = path / "manifest.json"
    if not mf.is_file():
        raise FileNotFoundError(f"bundle manifest not found: {mf}")
    man = read_json(mf)  # ReaderError naming the file when malformed
    pre = man.get("preprocessing") or {}
    if (pre.get("resize"), pre.get("letterbox"), pre.get("channels"), pre.get("pad_value", 0.0)) != (
        "area",
        True,
        1,
        0.0,
    ):
        raise ValueError(f"{mf}: preprocessing {pre} is not the letterbox + area resize this evaluation implements")
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = max(1, threads), 1
    sessions = {}
    for name in ("image_encoder", "classification_head", "localization_head") + (
        (man["ensemble"]["graph"],) if man.get("ensemble") else ()
    ):
        f = path / man["graphs"][name]["file"]
        if not f.is_file():
            raise FileNotFoundError(f"bundle graph not found: {f}")
        sessions[name] = ort.InferenceSession(str(f), sess_options=so, providers=["CPUExecutionProvider"])
    return Bundle(path, man, sessions)


def _run(bundle: Bundle, name: str, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run one graph, feeding and naming tensors by the manifest's input/output names."""
    spec = bundle.manifest["graphs"][name]
    outs = bundle.sessions[name].run(
        [o["name"] for o in spec["outputs"]], {i["name"]: feed[i["name"]] for i in spec["inputs"]}
    )
    return dict(zip((o["name"] for o in spec["outputs"]), outs))


def classifier_probabilities(bundle: Bundle, enc: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """[batch, labels] raw probabilities as the worker computes them: the classification head's, or with an
    `ensemble` the mean of the members' logits (docs/contracts/model-bundle.md, "an ensemble of classifiers")."""
    return combine_members(*classifier_parts(bundle, enc, x))


def combine_members(p0: np.ndarray, member_logits: np.ndarray | None) -> np.ndarray:
    """The contract's combination: sigmoid((logit(p0) + sum of the other members' logits) / M); p0 itself without
    members."""
    if member_logits is None:
        return p0
    return sigmoid((logit(p0) + member_logits.astype(np.float64).sum(axis=1)) / (member_logits.shape[1] + 1))


def classifier_parts(bundle: Bundle, enc: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The classification head's probabilities [batch, labels] and, with an `ensemble`, the other members' logits
    [batch, members - 1, labels] (else None)."""
    p0 = _run(bundle, "classification_head", enc)["probabilities"]
    ens = bundle.manifest.get("ensemble")
    if not ens:
        return p0, None
    members = _run(bundle, ens["graph"], {"pixel_values": x})["member_logits"]
    if members.shape[1] != int(ens["members"]) - 1:
        raise ValueError(
            f"{bundle.path}: member_logits has {members.shape[1]} members, manifest says {ens['members']} - 1"
        )
    return p0, members


def run_image(bundle: Bundle, path: str | Path) -> ImageResult:
    """One image through encoder, classification and localization heads (decode errors name the file)."""
    pre = bundle.manifest["preprocessing"]
    gray = decode_gray(path)
    x, lb = preprocess_array(gray, int(pre["image_size"]), float(pre["mean"]), float(pre["std"]))
    enc = _run(bundle, "image_encoder", {"pixel_values": x})
    probs = classifier_probabilities(bundle, enc, x)[0]
    heat = _run(bundle, "localization_head", enc)["heatmaps"][0]
    grid = int(bundle.manifest["localization"]["grid"])
    if heat.shape[-2:] != (grid, grid):
        raise ValueError(f"{bundle.path}: heatmaps are {heat.shape[-2:]} but manifest localization.grid is {grid}")
    step = max(1, max(gray.shape) // 256)
    return ImageResult(probs, heat, enc["region_boxes"][0], lb, gray[::step, ::step].astype(np.float32))


def parse_xywh(text: str, where: str) -> list[float] | None:
    """JSON "[x, y, w, h]" (pixels) -> xyxy; None for "[null, null, null, null]" (the source has
    images whose boxes are all null); ReaderError naming the row when malformed."""
    try:
        vals = json.loads(text)
        if isinstance(vals, list) and len(vals) == 4 and all(v is None for v in vals):
            return None
        x, y, w, h = (float(v) for v in vals)
    except (ValueError, TypeError):
        raise ReaderError(f"{where}: expected a JSON [x, y, w, h] box, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise ReaderError(f"{where}: box has non-positive size: {text}")
    return [x, y, x + w, y + h]


def union_box(a: Sequence[float], b: Sequence[float]) -> list[float]:
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def pointing_chance(box: Sequence[float], grid: int) -> float:
    """Share of heatmap cell centres inside the box: the hit rate of a uniformly random argmax."""
    c = (np.arange(grid) + 0.5) / grid
    return float(np.mean((c >= box[0]) & (c <= box[2]))) * float(np.mean((c >= box[1]) & (c <= box[3])))


def score_box(heat: np.ndarray, gt: Sequence[float], threshold: float) -> dict[str, Any]:
    """Pointing hit and IoU of the heatmap box (gkmvlp.metrics.localization rules) for one box."""
    pred = heatmap_box(heat, threshold)
    return {
        "pointing_hit": bool(pointing_hit(heat, gt)),
        "iou": float(box_iou(pred, gt)),
        "pred_box": [float(v) for v in pred],
        "pointing_chance": pointing_chance(gt, heat.shape[-1]),
    }


def label_aucs(probs: np.ndarray, targets: Sequence[dict], labels: Sequence[str]) -> dict[str, Any]:
    """Per-label ROC AUC over images whose label is known (0/1; None = not annotated). AUC is only
    defined with both classes present; other labels are listed under `skipped_labels` with the reason."""
    from sklearn.metrics import roc_auc_score

    per, positives, skipped = {}, {}, {}
    for k, lab in enumerate(labels):
        known = [(float(p[k]), int(t[lab])) for p, t in zip(probs, targets) if t.get(lab) is not None]
        if not known:
            skipped[lab] = "not annotated in this data set"
            continue
        s, y = np.array([a for a, _ in known]), np.array([b for _, b in known])
        positives[lab] = int(y.sum())
        if y.min() == y.max():
            skipped[lab] = f"one class only ({positives[lab]} positives of {len(y)})"
            continue
        per[lab] = float(roc_auc_score(y, s))
    return {
        "auc_per_label": per,
        "auc_macro": float(np.mean(list(per.values()))) if per else None,
        "n_labels_scored": len(per),
        "positives": positives,
        "skipped_labels": skipped,
    }


def _example(
    bundle: Bundle,
    r: ImageResult,
    image_id: str,
    gt_text: str,
    box: list[float] | None = None,
    box_label: str | None = None,
) -> dict[str, Any]:
    """What the figure needs; the heatmap is the box's label where there is a box, else the top finding."""
    labels = bundle.manifest["labels"]
    order = [int(i) for i in np.argsort(-r.probs)]
    top = box_label or next(labels[i] for i in order if labels[i] != "No Finding")
    return {
        "thumb": r.thumb,
        "lb": r.lb,
        "heat": r.heatmaps[labels.index(top)],
        "heat_label": top,
        "box": box,
        "heat_threshold": float(bundle.manifest["localization"]["heatmap_threshold"]),
        "image_id": image_id,
        "gt": gt_text,
        "top3": [(labels[i], float(r.probs[i])) for i in order[:3]],
    }


def nih_classification_part(bundle: Bundle, folder: Path, examples: list) -> dict[str, Any]:
    labels = bundle.manifest["labels"]
    recs = read_nih_labels(folder / "manifest.csv", image_root=folder)
    probs, items = [], []
    for rec in recs:
        r = run_image(bundle, rec["image"])
        probs.append(r.probs)
        items.append(
            {
                "image_id": rec["image_id"],
                "nih_labels": rec["nih_labels"],
                "probabilities": {lab: float(p) for lab, p in zip(labels, r.probs)},
            }
        )
        if len(examples) < N_EXAMPLES and rec["image_id"] not in {e["image_id"] for e in examples}:
            examples.append(_example(bundle, r, rec["image_id"], "|".join(rec["nih_labels"])))
    out = label_aucs(np.asarray(probs), [rec["labels"] for rec in recs], labels)
    out.update(n=len(recs), label_mapping="NIH -> CheXpert via gkmvlp.data.readers.nih14.to_chexpert", items=items)
    return out


def nih_box_part(bundle: Bundle, folder: Path, examples: list) -> dict[str, Any]:
    labels = bundle.manifest["labels"]
    thr = float(bundle.manifest["localization"]["heatmap_threshold"])
    items, unmapped, cache = [], [], {}
    for b in read_nih_boxes(folder / "manifest.csv", image_root=folder):
        if b["label"] not in labels:
            unmapped.append(f"{b['image_id']}: {b['nih_label']}")
            continue
        r = cache[b["image"]] = cache.get(b["image"]) or run_image(bundle, b["image"])
        gt = r.lb.box_to_model(b["box"])
        items.append(
            {
                "image_id": b["image_id"],
                "nih_label": b["nih_label"],
                "label": b["label"],
                "gt_box": gt,
                "probability": float(r.probs[labels.index(b["label"])]),
                **score_box(r.heatmaps[labels.index(b["label"])], gt, thr),
            }
        )
        if len(examples) < N_BOXED_EXAMPLES:
            examples.append(_example(bundle, r, b["image_id"], b["nih_label"], b["box"], b["label"]))
    ious = np.array([it["iou"] for it in items])
    out: dict[str, Any] = {"n": len(items), "heatmap_threshold": thr, "unmapped_boxes": unmapped, "items": items}
    if items:
        out.update(
            pointing_game=float(np.mean([it["pointing_hit"] for it in items])),
            pointing_chance=float(np.mean([it["pointing_chance"] for it in items])),
            mean_iou=float(ious.mean()),
            acc_iou_0_3=float((ious >= 0.3).mean()),
            acc_iou_0_5=float((ious >= 0.5).mean()),
        )
    return out


LUNG_COLUMNS = ("image_path", "right_lung_bbox_xywh", "left_lung_bbox_xywh", "lung_bbox_size_ok")


def covid_lungs_part(bundle: Bundle, folder: Path) -> dict[str, Any]:
    """Right/left follow the patient (radiological view: patient's right lung on the image's left),
    as the manifest's right_lung_bbox_xywh and the bundle's "right lung" region both do. The
    swapped IoU (predicted right vs true left) is reported to show a side mix-up if there is one."""
    mf = folder / "manifest.csv"
    regions = bundle.manifest["regions"]
    ir, il = regions.index("right lung"), regions.index("left lung")
    items, excluded = [], {}
    for i, row in read_csv_rows(mf, LUNG_COLUMNS):
        where = f"{mf}:{i}"
        gr, gl = parse_xywh(row["right_lung_bbox_xywh"], where), parse_xywh(row["left_lung_bbox_xywh"], where)
        if row["lung_bbox_size_ok"].strip() != "1" or gr is None or gl is None:
            excluded[row["image_path"]] = (
                "box image size differs from the file" if gr and gl else "no lung box in the source"
            )
            continue
        r = run_image(bundle, check_file(folder / row["image_path"], where))
        pr, pl = [float(v) for v in r.region_boxes[ir]], [float(v) for v in r.region_boxes[il]]
        gr, gl = r.lb.box_to_model(gr), r.lb.box_to_model(gl)
        items.append(
            {
                "image": row["image_path"],
                "pred_right": pr,
                "pred_left": pl,
                "gt_right": gr,
                "gt_left": gl,
                "iou_right": box_iou(pr, gr),
                "iou_left": box_iou(pl, gl),
                "iou_union": box_iou(union_box(pr, pl), union_box(gr, gl)),
                "iou_swapped": (box_iou(pr, gl) + box_iou(pl, gr)) / 2,
            }
        )
    out: dict[str, Any] = {"n": len(items), "excluded": excluded, "items": items}
    for k in ("iou_right", "iou_left", "iou_union", "iou_swapped"):
        out[f"mean_{k}"] = float(np.mean([it[k] for it in items])) if items else None
    out["acc_iou_0_5_right_and_left"] = (
        float(np.mean([min(it["iou_right"], it["iou_left"]) >= 0.5 for it in items])) if items else None
    )
    return out


def iu_reports_part(bundle: Bundle, folder: Path) -> dict[str, Any]:
    """Real report language vs what the model was trained on: lengths, normal share and finding
    mentions from the rule-based labeller, and how well the bundle's WordPiece vocabulary covers it."""
    recs = read_iu_text_jsonl(folder / "reports_sample100.jsonl")
    tk = bundle.manifest["tokenizer"]
    tok = WordPieceTokenizer.load(bundle.path / tk["vocab_file"])
    labels = [lab for lab in bundle.manifest["labels"] if lab != "No Finding"]
    n_words, mentioned, positive, oov = [], Counter(), Counter(), Counter()  # mentioned: labeller says 1, 0 or -1
    normal = mesh_normal = n_tok = n_unk = n_w = 0
    for r in recs:
        text = " ".join(s.strip() for s in (r["findings"], r["impression"]) if s.strip())
        n_words.append(len(words_of(text)))
        lab = label_report(text)
        normal += lab["No Finding"] == 1
        mesh_normal += [m.strip().lower() for m in r["mesh_major"]] == ["normal"]
        for k in labels:
            mentioned[k] += lab.get(k) is not None
            positive[k] += lab.get(k) == 1
        ids = tok.tokenize(text)
        n_tok, n_unk = n_tok + len(ids), n_unk + ids.count(int(tk["unk_id"]))
        ws = basic_split(text)
        n_w += len(ws)
        oov.update(w for w in ws if w not in tok.ids)
    n = max(1, len(recs))
    return {
        "n": len(recs),
        "mean_words": float(np.mean(n_words)) if recs else None,
        "share_normal_labeller": normal / n,
        "share_normal_mesh": mesh_normal / n,
        "mention_share": {k: mentioned[k] / n for k in labels},
        "positive_share": {k: positive[k] / n for k in labels},
        "unk_token_rate": n_unk / n_tok if n_tok else None,
        "word_not_in_vocab_rate": sum(oov.values()) / n_w if n_w else None,
        "tokens_per_word": n_tok / n_w if n_w else None,
        "vocab_size": tok.vocab_size,
        "top_words_not_in_vocab": [w for w, _ in oov.most_common(10)],
    }


def evaluate_real(bundle_dir: str | Path, data_dir: str | Path, threads: int = 1) -> tuple[dict, list]:
    """All parts -> (metrics, examples for the figure). A part whose folder is absent gets a note."""
    data, b, examples = Path(data_dir), load_bundle(bundle_dir, threads), []
    if not data.is_dir():
        raise FileNotFoundError(f"data folder not found: {data}")
    m = b.manifest
    runners: dict[str, Callable[[Path], dict]] = {
        "localization_nih_bbox": lambda f: nih_box_part(b, f, examples),
        "classification_nih14": lambda f: nih_classification_part(b, f, examples),
        "localization_covid_lungs": lambda f: covid_lungs_part(b, f),
        "report_iu_xray_text_only": lambda f: iu_reports_part(b, f),
    }
    parts = {}
    for name in PARTS:
        folder = data / name
        parts[name] = (
            runners[name](folder)
            if folder.is_dir()
            else {"n": 0, "skipped": True, "note": f"folder not found: {folder}"}
        )
    syn = m.get("metrics") or {}
    metrics = {
        "bundle": {
            "name": m.get("name"),
            "version": m.get("version"),
            "trained_on": m.get("trained_on"),
            "path": str(b.path),
        },
        "caveat": CAVEAT,
        "data": str(data),
        "n": {k: v["n"] for k, v in parts.items()},
        "parts": parts,
        "synthetic_reference": {k: syn.get(k) for k in ("auc_macro", "pointing_game", "localization_mean_iou")},
        "report_generation": "not run: IU X-Ray has no images here and report_covid_casenotes holds case "
        "notes, not radiology reports",
    }
    return metrics, examples


def without_items(obj: Any) -> Any:
    """The metrics without per-item lists: what the CLI prints on its last line."""
    if isinstance(obj, dict):
        return {k: without_items(v) for k, v in obj.items() if k != "items"}
    return obj


def examples_figure(examples: Sequence[dict], path: str | Path, title: str) -> None:
    """Grid of real images: heatmap cells at or above the box threshold over the original pixels
    (mapped back through the letterbox), ground-truth box in green, top-3 predicted labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    cols, rows = 3, max(1, math.ceil(len(examples) / 3))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4.8 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, ex in zip(axes.flat, examples):
        lb: Letterbox = ex["lb"]
        ax.imshow(ex["thumb"], cmap="gray", extent=(0, lb.width, lb.height, 0))
        heat = np.ma.masked_less(ex["heat"], ex["heat_threshold"] * float(ex["heat"].max()))
        ax.imshow(
            heat,
            cmap="autumn",
            alpha=0.4,
            interpolation="nearest",
            extent=(-lb.pad_x, lb.side - lb.pad_x, lb.side - lb.pad_y, -lb.pad_y),
        )
        ax.set_xlim(0, lb.width), ax.set_ylim(lb.height, 0)
        if ex["box"]:
            x1, y1, x2, y2 = ex["box"]
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="lime", lw=2))
        top = "\n".join(f"{lab} {p:.2f}" for lab, p in ex["top3"])
        ax.set_title(f"{ex['image_id']}  GT: {ex['gt']}\nheatmap: {ex['heat_label']}\n{top}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=80)
    plt.close(fig)
