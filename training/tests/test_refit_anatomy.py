"""refit_anatomy: an exported format-2 bundle gains anatomy boxes and presence answers, its derived Cardiomegaly is
fitted again on the measured boxes, and its golden file holds the new arithmetic."""

import hashlib
import json

import numpy as np
import pytest
from micro_model import ANSWERS, micro_model
from PIL import Image

from gkmvlp.export.bundle import write_bundle
from gkmvlp.model.anatomy_boxes import refine_region_boxes
from gkmvlp.reliability.calibration import final_probabilities
from gkmvlp.reliability.fit import CTR_RULE
from gkmvlp.reliability.input_check import InputCheck
from gkmvlp.reliability.refit_anatomy import refit

REL = {
    "calibration": {"method": "platt", "labels": {}, "fitted_on": "test"},
    "derived": {"Cardiomegaly": dict(CTR_RULE)},
    "thresholds": {},
    "reliability": {
        "graph": "input_check",
        "frontal_threshold": 0.5,
        "ood_thresholds": {"caution": 1, "abstain": 2},
        "blank_std": 0.02,
        "validated_on_real": [],
        "fitted_on": "test",
    },
}


def _bundle(tmp_path, anatomy: bool):
    m, tok = micro_model(anatomy)
    path, _ = write_bundle(
        m,
        tok,
        ANSWERS,
        tmp_path / f"b{int(anatomy)}",
        name="t",
        version="0.0.1",
        config={"size": "tiny"},
        max_new_tokens=3,
        reliability=(InputCheck(m.cfg.dim, m.cfg.mean, m.cfg.std), REL),
    )
    return path


def _corpus(root, n=12):
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(n):
        rng = np.random.default_rng(i)
        img = (rng.random((80, 70)) * 255).astype(np.uint8)
        Image.fromarray(img).save(root / "images" / f"f{i}.png")
        rows.append(
            {
                "id": f"nih:{i}",
                "source": "t",
                "source_commit": None,
                "source_path": f"{i}.png",
                "source_sha256": "0" * 64,
                "image": f"images/f{i}.png",
                "width": 70,
                "height": 80,
                "orig_width": 70,
                "orig_height": 80,
                "patient": str(i),
                "patient_known": True,
                "split": "val",
                "view": "PA",
                "frontal": True,
                "labels": {"Cardiomegaly": i % 2},
                "masks": {},
                "licence": "t",
                "dhash": "0" * 64,
            }
        )
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_refit_adds_the_sections_refits_cardiomegaly_and_rewrites_the_golden_arithmetic(tmp_path):
    src = _bundle(tmp_path, anatomy=True)
    out = tmp_path / "refitted"
    res = refit(src, _corpus(tmp_path / "corpus"), out, "0.0.2")
    assert res["val_films"] == 12 and res["cardiomegaly_fit"]["n_pos"] == 6
    man = json.loads((out / "manifest.json").read_text())
    assert man["version"] == "0.0.2" and man["anatomy_boxes"]["method"] == "largest_component_4"
    assert man["vqa_presence"]["phrases"]["cardiomegaly"] == "Cardiomegaly"
    assert man["refit"]["cardiomegaly_ctr_with_head"] == res["cardiomegaly_fit"]
    assert man["thresholds"]["Cardiomegaly"] == res["threshold"]
    for rel, sha in man["files"].items():  # the rewritten golden file is listed with its new hash
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == sha
    golden = json.loads((out / "golden" / "golden.json").read_text())

    def arr(t):
        return np.array(t["values"], np.float32).reshape(t["shape"])

    enc = {e["case"]: e["outputs"] for e in golden["graphs"]["image_encoder"]}
    masks = {e["case"]: e["outputs"]["anatomy_masks"] for e in golden["graphs"]["anatomy_head"]}
    for ab, cal in zip(golden["anatomy_boxes"], golden["calibrated"]):
        want = refine_region_boxes(arr(enc[ab["case"]]["region_boxes"]), arr(masks[ab["case"]]), man)
        np.testing.assert_allclose(arr(ab["region_boxes"]), want, atol=1e-7)
        np.testing.assert_allclose(
            arr(cal["probabilities"]), final_probabilities(arr(cal["raw"]), want, man), atol=1e-6
        )
    assert not (tmp_path / "refitted.part").exists()
    with pytest.raises(FileExistsError):
        refit(src, tmp_path / "corpus", out, "0.0.3")
    assert not (tmp_path / "refitted.part").exists()


def test_a_bundle_without_the_anatomy_graph_is_refused(tmp_path):
    with pytest.raises(ValueError, match="anatomy graph"):
        refit(_bundle(tmp_path, anatomy=False), tmp_path, tmp_path / "x", "0.0.2")
