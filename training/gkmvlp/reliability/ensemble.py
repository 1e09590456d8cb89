"""An ensemble bundle from exported format-2 bundles (docs/contracts/model-bundle.md, "an ensemble of classifiers").

The primary bundle is copied as it is (every output but the classification comes from it); the other bundles'
image encoders and classification heads become one `classification_members` graph. The worker then reports
sigmoid(mean of the members' logits), so what was fitted on the primary's own probabilities (Platt calibration,
F1 thresholds, the derived Cardiomegaly) is fitted again here, on the real validation films, from the new bundle's
own ONNX graphs, with the same rules as fit.py. The input check stays the primary's (its distance is measured on the
primary's embedding, which has not changed). The golden file gains the members' logits and its calibrated entries
are recomputed on the combined value, so both languages' golden tests hold the new arithmetic.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..export.files import seal
from ..export.golden import array_of, floats
from ..export.members_graph import io_spec, members_graph
from ..model.preprocess import decode_gray, preprocess_array
from .calibration import cardiothoracic_ratio, final_probabilities, sigmoid
from .fit import calibrate_labels, fit_cardiomegaly, label_matrix

GRAPH, FILE = "classification_members", "classification_members.onnx"


def _check_compatible(primary: dict, other: dict, where: Path) -> None:
    for key in ("labels", "preprocessing"):
        if other.get(key) != primary.get(key):
            raise ValueError(f"{where}: its {key} differ from the primary bundle's; members must read and say the same")
    if other.get("ensemble"):
        raise ValueError(f"{where}: is itself an ensemble; give its members instead")


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else None


def build(
    primary: Path, others: Sequence[Path], corpus: Path, out: Path, version: str, threads: int = 1, seed: int = 0
) -> dict[str, Any]:
    from ..eval.film_runner import FilmRunner
    from ..eval.real import combine_members
    from ..train.real_batches import read_corpus

    if out.exists():
        raise FileExistsError(f"{out} exists")
    man = json.loads((primary / "manifest.json").read_text())
    if man.get("format_version") != 2 or "classification" not in man["tasks"] or man.get("ensemble"):
        raise ValueError(f"{primary}: needs a format-2 bundle with the classification task that is not an ensemble")
    member_mans = [json.loads((o / "manifest.json").read_text()) for o in others]
    for o, m in zip(others, member_mans):
        _check_compatible(man, m, o)
    size, labels = int(man["preprocessing"]["image_size"]), man["labels"]

    tmp = out.with_name(out.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(primary, tmp)
    import onnx

    onnx.save(members_graph(list(others), size, len(labels)), str(tmp / FILE))
    members = len(others) + 1
    new = {
        **man,
        "version": version,
        "graphs": {**man["graphs"], GRAPH: {"file": FILE, **io_spec(len(others), size, len(labels))}},
        "ensemble": {
            "graph": GRAPH,
            "members": members,
            "combine": "mean_logit",
            "from": [f"{man['name']} {man['version']} (primary)"]
            + [f"{m['name']} {m['version']}" for m in member_mans],
        },
    }
    (tmp / "manifest.json").write_text(json.dumps(new, indent=1))  # files are hashed at the end

    # refit on the real validation films, from the new bundle's own graphs
    run = FilmRunner(tmp, threads)
    rows = read_corpus(corpus, "val")
    res = [run.image(corpus / r["image"]) for r in rows]
    raw = np.stack([x["raw"] for x in res]).astype(np.float64)
    member_raw = np.stack([np.concatenate([x["head"][None], sigmoid(x["member_logits"])]) for x in res])
    y, known = label_matrix(rows)
    calibration, thresholds, cal_report = calibrate_labels(raw, y, known)
    k = labels.index("Cardiomegaly")
    mc = known[:, k] > 0
    d = man["derived"]["Cardiomegaly"]
    ctr = cardiothoracic_ratio(
        np.stack([x["boxes"] for x in res]), man["regions"], d["heart_region"], d["thorax_regions"]
    )
    derived, ctr_threshold, ctr_fit = fit_cardiomegaly(ctr[mc], raw[mc, k], y[mc, k], seed=seed)
    fitted_on = f"{len(rows)} real validation films of the assembled corpus (patient split), on the combined output"
    new["calibration"] = {"method": "platt", "labels": calibration, "fitted_on": fitted_on}
    new["derived"] = {**man.get("derived", {}), "Cardiomegaly": derived}
    new["thresholds"] = {**man["thresholds"], **thresholds, "Cardiomegaly": ctr_threshold}
    new["ensemble"]["fitted_on"] = fitted_on
    new.get("reliability", {}).pop("real_metrics", None)  # measured on the primary alone: real_eval --stamp rewrites

    # what combining changed on those validation films (each member's own AUC beside the ensemble's)
    val_auc = {}
    for j, lab in enumerate(labels):
        m = known[:, j] > 0
        if not m.any():
            continue
        row = {
            "ensemble": _auc(y[m, j], raw[m, j]),
            "members": [_auc(y[m, j], member_raw[m, i, j]) for i in range(members)],
        }
        if row["ensemble"] is not None:
            val_auc[lab] = row

    # golden: the members' logits of each case, and the calibrated entries on the combined value
    golden = json.loads((tmp / "golden" / "golden.json").read_text())
    sess = run.b.sessions[GRAPH]
    pre = new["preprocessing"]
    golden["graphs"][GRAPH] = []
    boxes_of = {e["case"]: e["region_boxes"] for e in golden.get("anatomy_boxes", [])}
    enc_of = {e["case"]: e["outputs"] for e in golden["graphs"]["image_encoder"]}
    head_of = {e["case"]: e["outputs"] for e in golden["graphs"]["classification_head"]}
    combined = {}
    for c, rec in enumerate(golden["preprocess"]):
        x, _ = preprocess_array(decode_gray(tmp / "golden" / rec["image"]), size, float(pre["mean"]), float(pre["std"]))
        ml = sess.run(["member_logits"], {"pixel_values": x})[0]
        golden["graphs"][GRAPH].append({"case": c, "outputs": {"member_logits": floats(ml)}})
        combined[c] = combine_members(array_of(head_of[c]["probabilities"], np.float64).reshape(1, -1), ml)
    for e in golden.get("calibrated", []):
        c = e["case"]
        b = boxes_of.get(c) or enc_of[c]["region_boxes"]
        boxes = array_of(b)
        e["raw"] = floats(combined[c])
        e["probabilities"] = floats(final_probabilities(combined[c], boxes, new))
    (tmp / "golden" / "golden.json").write_text(json.dumps(golden))
    seal(tmp, out, new)
    return {
        "bundle": str(out),
        "members": new["ensemble"]["from"],
        "val_films": len(rows),
        "val_auc": val_auc,
        "calibration_val": cal_report,
        "cardiomegaly_fit": ctr_fit,
    }
