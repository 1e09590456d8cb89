"""Export of a tiny random-init model: contract layout, onnxruntime parity, refusal on mismatch."""

import hashlib
import json

import numpy as np
import pytest
import torch
from manifest_schema import SCHEMA_PATH, manifest_errors
from micro_model import micro_model

from gkmvlp.export import graphs as G
from gkmvlp.export.bundle import ParityError, write_bundle
from gkmvlp.export.onnx_io import ort_session, run_ort
from gkmvlp.model.preprocess import preprocess_file

torch.set_num_threads(2)
try:  # under /usr/bin/python3, use onnxruntime from the project venv (same interpreter, scripts/setup-python.sh)
    import onnxruntime  # noqa: F401
except ImportError:
    import sys
    from pathlib import Path

    v = sys.version_info
    site = Path(__file__).resolve().parents[2] / ".venv" / "lib" / f"python{v.major}.{v.minor}" / "site-packages"
    if site.is_dir():
        sys.path.append(str(site))
ort = pytest.importorskip("onnxruntime", reason="run scripts/setup-python.sh (venv with onnxruntime)")


@pytest.fixture(scope="module")
def model_tok():
    reports = ["mild cardiomegaly. no pneumothorax.", "is there a pleural effusion? left"]
    return micro_model(anatomy=False, reports=reports, dim=48, decoder_layers=2, max_length=24)


@pytest.fixture(scope="module")
def bundle(model_tok, tmp_path_factory):
    m, tok = model_tok
    out = tmp_path_factory.mktemp("b") / "gkmvlp-test-0.0.1"
    path, parity = write_bundle(
        m,
        tok,
        ["yes", "no", "left", "right"],
        out,
        name="gkmvlp-test",
        version="0.0.1",
        config={"size": "tiny"},
        metrics={"auc_macro": 0.5, "thresholds": None},
        max_new_tokens=6,
    )
    return path, parity


def test_bundle_has_every_contract_file_with_hashes(bundle):
    path, parity = bundle
    man = json.loads((path / "manifest.json").read_text())
    assert parity <= 1e-3 and man["parity"]["max_abs_diff"] == parity
    for name in ("image_encoder", "classification_head", "localization_head", "report_decoder_step", "vqa_head"):
        assert (path / man["graphs"][name]["file"]).is_file()
    for rel, digest in man["files"].items():
        assert hashlib.sha256((path / rel).read_bytes()).hexdigest() == digest
    assert {"vocab.txt", "golden/golden.json", "image_encoder.onnx"} <= set(man["files"])
    assert man["trained_on"] == "synthetic" and len(man["labels"]) == 14 and len(man["regions"]) == 29
    assert man["graphs"]["image_encoder"]["outputs"][5] == {
        "name": "grounding_weights",
        "dtype": "float32",
        "shape": ["batch", 14, 29],
    }
    assert not list(path.parent.glob(".*tmp*"))


def test_exported_manifest_validates_against_the_checked_in_json_schema(bundle):
    path, _ = bundle
    man = json.loads((path / "manifest.json").read_text())
    assert manifest_errors(man) == []
    broken = dict(man, format_version=3, preprocessing=dict(man["preprocessing"], channels=3))
    del broken["files"]
    errors = manifest_errors(broken)
    assert any(e.startswith("format_version") for e in errors) and any(
        e.startswith("preprocessing/channels") for e in errors
    )
    assert any("'files' is a required property" in e for e in errors)


def test_shipped_bundles_validate_against_the_checked_in_json_schema():
    shipped = sorted((SCHEMA_PATH.parents[2] / "models").glob("*/manifest.json"))
    assert shipped, "no shipped bundle under models/"
    for manifest in shipped:
        assert manifest_errors(json.loads(manifest.read_text())) == [], manifest


def test_golden_vectors_reproduce_with_onnxruntime(bundle, model_tok):
    path, _ = bundle
    m, tok = model_tok
    man = json.loads((path / "manifest.json").read_text())
    gold = json.loads((path / "golden" / "golden.json").read_text())
    sizes = {(p["width"], p["height"]) for p in gold["preprocess"]}
    assert any(w != h for w, h in sizes) and any(w != 64 for w, _ in sizes)
    spec = G.specs(m)["image_encoder"]
    sess = ort_session(path / "image_encoder.onnx")
    for case, pre in zip(gold["graphs"]["image_encoder"], gold["preprocess"]):
        x, lb = preprocess_file(path / "golden" / pre["image"], 64, 0.5, 0.25)
        assert hashlib.sha256(x.astype("<f4").tobytes()).hexdigest() == pre["tensor_sha256"]
        assert (lb.pad_x, lb.pad_y) == (pre["pad_x"], pre["pad_y"])
        outs = run_ort(sess, spec, [torch.from_numpy(x)])
        for o, t in zip(outs, spec["outputs"]):
            ref = np.asarray(case["outputs"][t["name"]]["values"]).reshape(o.shape)
            assert np.max(np.abs(ref - o)) < 1e-4
    for case in gold["tokenizer"]:
        assert tok.encode(case["text"], case["max_length"])[0] == case["ids"]
    steps = gold["graphs"]["report_decoder_step"]
    assert steps[0]["inputs"]["past_keys"]["shape"][3] == 0 and steps[1]["inputs"]["past_keys"]["shape"][3] == 1
    assert man["decoding"]["num_layers"] == 2 and len(gold["report"]) == 3


def test_parity_failure_writes_nothing(model_tok, tmp_path):
    m, tok = model_tok
    out = tmp_path / "refused"
    with pytest.raises(ParityError):
        write_bundle(m, tok, ["yes", "no"] * 2, out, name="x", version="0", config={}, tolerance=-1.0, max_new_tokens=2)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_format_2_bundle_carries_input_check_calibration_and_golden_arithmetic(model_tok, tmp_path):
    from gkmvlp.reliability.calibration import final_probabilities
    from gkmvlp.reliability.fit import CTR_RULE
    from gkmvlp.reliability.input_check import InputCheck

    m, tok = model_tok
    ic = InputCheck(m.cfg.dim, m.cfg.mean, m.cfg.std)
    ic.w.copy_(torch.linspace(-0.1, 0.1, ic.w.shape[0]))
    rel = {
        "calibration": {
            "method": "platt",
            "labels": {"Pneumonia": {"a": 0.7, "b": -0.4, "n": 10}},
            "fitted_on": "test",
        },
        "derived": {"Cardiomegaly": dict(CTR_RULE)},
        "thresholds": {"Pneumonia": 0.3},
        "reliability": {
            "graph": "input_check",
            "frontal_threshold": 0.5,
            "ood_thresholds": {"caution": 1.5, "abstain": 3},
            "blank_std": 0.02,
            "validated_on_real": ["Pneumonia"],
            "fitted_on": "test",
        },
    }
    path, _ = write_bundle(
        m,
        tok,
        ["yes", "no", "left", "right"],
        tmp_path / "b2",
        name="gkmvlp-test",
        version="0.0.2",
        config={"size": "tiny"},
        metrics={"thresholds": None},
        max_new_tokens=4,
        reliability=(ic, rel),
    )
    man = json.loads((path / "manifest.json").read_text())
    assert man["format_version"] == 2 and man["thresholds"]["Pneumonia"] == 0.3
    assert man["mention_rules"]["pre_negation"]
    assert manifest_errors(man) == []
    assert man["calibration"]["labels"]["Pneumonia"]["a"] == 0.7 and man["reliability"]["validated_on_real"] == [
        "Pneumonia"
    ]
    assert [o["name"] for o in man["graphs"]["input_check"]["outputs"]] == ["frontal_cxr_probability", "ood_distance"]
    golden = json.loads((path / "golden" / "golden.json").read_text())
    assert len(golden["graphs"]["input_check"]) == len(golden["preprocess"]) == len(golden["calibrated"])
    c0 = golden["calibrated"][0]
    boxes = np.array(golden["graphs"]["image_encoder"][0]["outputs"]["region_boxes"]["values"], np.float64)
    boxes = boxes.reshape(golden["graphs"]["image_encoder"][0]["outputs"]["region_boxes"]["shape"])
    want = final_probabilities(np.array([c0["raw"]["values"]]).reshape(1, -1), boxes, man)
    np.testing.assert_allclose(np.array(c0["probabilities"]["values"]).reshape(1, -1), want, atol=1e-6)


def test_anatomy_head_is_exported_with_parity_when_the_model_has_one(tmp_path):
    m, tok = micro_model(anatomy=True)
    path, parity = write_bundle(
        m,
        tok,
        ["yes", "no", "left", "right"],
        tmp_path / "b",
        name="t",
        version="0.0.1",
        config={"size": "tiny"},
        max_new_tokens=3,
    )
    man = json.loads((path / "manifest.json").read_text())
    assert man["anatomy"]["grid"] == 16 and man["anatomy"]["regions"][0] == "right lung"
    assert man["graphs"]["anatomy_head"]["outputs"][0]["shape"] == ["batch", 5, 16, 16]
    assert man["parity"]["per_graph"]["anatomy_head"] <= 1e-3


def test_anatomy_boxes_travel_in_the_manifest_and_golden_vectors_hold_the_measured_boxes(tmp_path):
    from gkmvlp.model.anatomy_boxes import refine_region_boxes, spec
    from gkmvlp.reliability.calibration import final_probabilities
    from gkmvlp.reliability.fit import CTR_RULE
    from gkmvlp.reliability.input_check import InputCheck

    m, tok = micro_model(anatomy=True)
    rel = {
        "anatomy_boxes": spec(),
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
    args = dict(name="t", version="0.0.1", config={"size": "tiny"}, max_new_tokens=3)
    path, _ = write_bundle(
        m,
        tok,
        ["yes", "no", "left", "right"],
        tmp_path / "b",
        **args,
        reliability=(InputCheck(m.cfg.dim, m.cfg.mean, m.cfg.std), rel),
    )
    man = json.loads((path / "manifest.json").read_text())
    assert man["anatomy_boxes"]["regions"] == ["right lung", "left lung", "cardiac silhouette"]
    assert manifest_errors(man) == []
    golden = json.loads((path / "golden" / "golden.json").read_text())
    assert len(golden["anatomy_boxes"]) == len(golden["preprocess"])

    def arr(t):
        return np.array(t["values"], np.float32).reshape(t["shape"])

    for e, enc, an, cal in zip(
        golden["anatomy_boxes"],
        golden["graphs"]["image_encoder"],
        golden["graphs"]["anatomy_head"],
        golden["calibrated"],
    ):
        want = refine_region_boxes(arr(enc["outputs"]["region_boxes"]), arr(an["outputs"]["anatomy_masks"]), man)
        np.testing.assert_allclose(arr(e["region_boxes"]), want, atol=1e-7)
        # the derived Cardiomegaly is measured on those boxes
        np.testing.assert_allclose(
            arr(cal["probabilities"]).reshape(1, -1),
            final_probabilities(arr(cal["raw"]).reshape(1, -1), want, man),
            atol=1e-6,
        )

    plain, _ = micro_model(anatomy=False)
    with pytest.raises(ValueError, match="no anatomy head"):
        write_bundle(
            plain,
            tok,
            ["yes", "no", "left", "right"],
            tmp_path / "c",
            **args,
            reliability=(InputCheck(m.cfg.dim, m.cfg.mean, m.cfg.std), rel),
        )
