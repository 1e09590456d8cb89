"""Give an exported format-2 bundle the anatomy boxes and presence answers without retraining.

`anatomy_boxes` changes the lung and heart boxes the worker reports, and with them the cardiothoracic ratio the
derived Cardiomegaly probability is computed from, so its coefficients and threshold are fitted again, on the
real validation films, from the bundle's own ONNX graphs (the same rule as fit.py: the ratio together with the
head's evidence when that ranks better out of fold, else the fixed clinical rule). The graphs are copied as they
are; the golden file gains the measured boxes and its calibrated entries are recomputed on them, so both
languages' golden tests hold the new arithmetic.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..export.files import seal
from ..export.golden import array_of, floats
from ..model.anatomy_boxes import refine_region_boxes
from ..model.anatomy_boxes import spec as anatomy_boxes_spec
from ..text.presence import spec as presence_spec
from .calibration import cardiothoracic_ratio, final_probabilities
from .fit import fit_cardiomegaly


def refit(src: Path, corpus: Path, out: Path, version: str, threads: int = 1, seed: int = 0) -> dict[str, Any]:
    from ..eval.film_runner import FilmRunner
    from ..train.real_batches import read_corpus

    if out.exists():
        raise FileExistsError(f"{out} exists")
    man = json.loads((src / "manifest.json").read_text())
    if man.get("format_version") != 2 or "anatomy" not in man or "derived" not in man:
        raise ValueError(f"{src}: needs a format-2 bundle with the anatomy graph and a derived Cardiomegaly")
    new = {**man, "version": version, "anatomy_boxes": anatomy_boxes_spec(), "vqa_presence": presence_spec()}
    run = FilmRunner(src, threads)
    run.m = new  # reported boxes measured from the masks (FilmRunner.gray applies anatomy_boxes)
    d = man["derived"]["Cardiomegaly"]
    rows = [r for r in read_corpus(corpus, "val") if "Cardiomegaly" in r["labels"]]
    res = [run.image(corpus / r["image"]) for r in rows]
    k = man["labels"].index("Cardiomegaly")
    y = np.array([r["labels"]["Cardiomegaly"] for r in rows])
    raw = np.array([x["raw"][k] for x in res])
    ctr = cardiothoracic_ratio(
        np.stack([x["boxes"] for x in res]), man["regions"], d["heart_region"], d["thorax_regions"]
    )
    derived, threshold, fit = fit_cardiomegaly(ctr, raw, y, seed=seed)
    new["derived"] = {**man["derived"], "Cardiomegaly": derived}
    new["thresholds"] = {**man["thresholds"], "Cardiomegaly": threshold}
    new["refit"] = {
        "from": f"{man['name']} {man['version']} (graphs unchanged)",
        "what": "anatomy_boxes, the derived Cardiomegaly and its threshold refitted on the measured boxes, vqa_presence",
        "fitted_on": f"{len(rows)} real validation films that know Cardiomegaly ({int(y.sum())} positive)",
        "cardiomegaly_ctr_with_head": fit,
    }
    new.get("reliability", {}).pop(
        "real_metrics", None
    )  # measured on the old boxes: real_eval --stamp writes them again

    tmp = out.with_name(out.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    golden = json.loads((tmp / "golden" / "golden.json").read_text())
    enc = {e["case"]: e["outputs"] for e in golden["graphs"]["image_encoder"]}
    masks = {e["case"]: e["outputs"]["anatomy_masks"] for e in golden["graphs"]["anatomy_head"]}
    golden["anatomy_boxes"] = []
    for e in golden["calibrated"]:
        c = e["case"]
        boxes = refine_region_boxes(array_of(enc[c]["region_boxes"]), array_of(masks[c]), new)
        golden["anatomy_boxes"].append({"case": c, "region_boxes": floats(boxes)})
        e["probabilities"] = floats(final_probabilities(array_of(e["raw"]).reshape(1, -1), boxes, new))
    (tmp / "golden" / "golden.json").write_text(json.dumps(golden))
    seal(tmp, out, new)
    return {"bundle": str(out), "cardiomegaly_fit": fit, "threshold": threshold, "val_films": len(rows)}
