"""Evaluation on the real samples (gkmvlp.eval.real): box mapping, box scores, AUC bookkeeping,
report statistics, skipping absent parts, clear errors, and the CLI end to end on shared/data."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gkmvlp.eval.real as real
from gkmvlp.data.readers.common import ReaderError
from gkmvlp.eval.real import (
    Bundle,
    ImageResult,
    covid_lungs_part,
    evaluate_real,
    iu_reports_part,
    label_aucs,
    parse_xywh,
    pointing_chance,
    score_box,
)
from gkmvlp.model.preprocess import preprocess_array
from gkmvlp.ontology import LABELS, REGIONS

TRAINING = Path(__file__).resolve().parents[1]
REPO = TRAINING.parent
DATA = REPO.parent / "shared" / "data"
_default = REPO / "models" / "DEFAULT"
SHIPPED = REPO / "models" / _default.read_text().strip() if _default.is_file() else REPO / "models" / "missing"
need_shipped = pytest.mark.skipif(not (SHIPPED / "manifest.json").is_file(), reason="no shipped bundle")
need_data = pytest.mark.skipif(not (DATA / "localization_nih_bbox").is_dir(), reason="no shared/data")


@pytest.mark.parametrize("transpose", [False, True])
def test_box_on_padded_image_maps_to_where_the_model_sees_it(transpose):
    # 300 x 200 (landscape: 50 px padding top and bottom) or its portrait transpose (padding left/right)
    gray = np.zeros((200, 300))
    gray[40:100, 60:120] = 1.0  # box x=60, y=40, w=60, h=60
    xywh = "[60, 40, 60, 60]"
    if transpose:
        gray, xywh = gray.T.copy(), "[40, 60, 60, 60]"
    x, lb = preprocess_array(gray, 60, 0.0, 1.0)  # 5 source px per model px, grid-aligned
    ys, xs = np.nonzero(x[0, 0] > 0.5)
    seen = [xs.min() / 60, ys.min() / 60, (xs.max() + 1) / 60, (ys.max() + 1) / 60]
    mapped = lb.box_to_model(parse_xywh(xywh, "test"))
    assert np.allclose(mapped, seen, atol=1e-9)
    assert np.allclose(mapped, [0.3, 0.2, 0.5, 0.4] if transpose else [0.2, 0.3, 0.4, 0.5])


def test_parse_xywh_null_box_and_malformed():
    assert parse_xywh("[10, 20, 30, 40]", "f.csv:2") == [10.0, 20.0, 40.0, 60.0]
    assert parse_xywh("[null, null, null, null]", "f.csv:2") is None
    with pytest.raises(ReaderError, match="f.csv:3"):
        parse_xywh("[1, 2, 3]", "f.csv:3")
    with pytest.raises(ReaderError, match="non-positive"):
        parse_xywh("[1, 2, 0, 4]", "f.csv:4")


def test_lung_part_compares_boxes_in_the_letterboxed_square(tmp_path, monkeypatch):
    # a 300 x 200 image (50 px padding top and bottom); a model that predicts the true lungs exactly
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "manifest.csv").write_text(
        "image_path,right_lung_bbox_xywh,left_lung_bbox_xywh,lung_bbox_size_ok\n"
        'a.png,"[30, 20, 100, 150]","[170, 20, 100, 150]",1\n'
        'b.png,"[null, null, null, null]","[null, null, null, null]",1\n'
    )
    _, lb = preprocess_array(np.zeros((200, 300)), 60, 0.5, 0.25)
    boxes = np.zeros((len(REGIONS), 4), dtype=np.float32)
    boxes[REGIONS.index("right lung")] = [30 / 300, 70 / 300, 130 / 300, 220 / 300]
    boxes[REGIONS.index("left lung")] = [170 / 300, 70 / 300, 270 / 300, 220 / 300]
    fake = ImageResult(np.zeros(14), np.zeros((14, 8, 8)), boxes, lb, np.zeros((2, 3)))
    monkeypatch.setattr(real, "run_image", lambda bundle, path: fake)
    out = covid_lungs_part(Bundle(tmp_path, {"regions": list(REGIONS)}, {}), tmp_path)
    assert out["n"] == 1 and out["excluded"] == {"b.png": "no lung box in the source"}
    assert out["mean_iou_right"] == pytest.approx(1.0, abs=1e-6) and out["mean_iou_left"] == pytest.approx(
        1.0, abs=1e-6
    )
    assert out["mean_iou_union"] == pytest.approx(1.0, abs=1e-6) and out["mean_iou_swapped"] == 0.0


def test_pointing_and_iou_on_handmade_heatmap():
    heat = np.zeros((8, 8))
    heat[2:4, 5:7] = 0.6
    heat[2, 5] = 1.0  # argmax cell centre (5.5/8, 2.5/8)
    exact = [5 / 8, 2 / 8, 7 / 8, 4 / 8]
    s = score_box(heat, exact, 0.5)
    assert s["pointing_hit"] and s["iou"] == pytest.approx(1.0) and s["pred_box"] == pytest.approx(exact)
    s = score_box(heat, [0.5, 0.25, 0.875, 0.5], 0.5)  # predicted box covers 2/3 of it
    assert s["pointing_hit"] and s["iou"] == pytest.approx(2 / 3)
    s = score_box(heat, exact, 0.7)  # only the peak cell passes 0.7 * max
    assert s["iou"] == pytest.approx(0.25)
    s = score_box(heat, [0.0, 0.0, 0.5, 0.5], 0.5)
    assert not s["pointing_hit"] and s["iou"] == 0.0
    assert s["pointing_chance"] == pytest.approx(0.25) == pointing_chance([0.0, 0.0, 0.5, 0.5], 8)


def test_auc_only_for_labels_with_both_classes():
    labels = ["A", "B", "C", "D"]
    p = np.linspace(0.1, 0.9, 6)
    probs = np.stack([p, p, p, p], axis=1)
    targets = [{"A": a, "B": 0, "C": None, "D": d} for a, d in zip([0, 0, 0, 1, 1, 1], [1, None, 1, 0, 0, 0])]
    out = label_aucs(probs, targets, labels)
    assert out["auc_per_label"] == {"A": pytest.approx(1.0), "D": pytest.approx(0.0)}
    assert out["auc_macro"] == pytest.approx(0.5) and out["n_labels_scored"] == 2
    assert out["positives"] == {"A": 3, "B": 0, "D": 2}
    assert set(out["skipped_labels"]) == {"B", "C"}
    assert "one class" in out["skipped_labels"]["B"] and "not annotated" in out["skipped_labels"]["C"]


def test_iu_report_statistics_and_tokenizer_coverage(tmp_path):
    words = "the lungs are clear . no pneumothorax heart size is normal large right pleural effusion".split()
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words) + "\n")
    rows = [
        {
            "report_id": 1,
            "findings": "The lungs are clear. No pneumothorax.",
            "impression": "Heart size is normal.",
            "mesh_major": ["normal"],
        },
        {
            "report_id": 2,
            "findings": "Large right pleural effusion.",
            "impression": "Caf\u00e9 sign.",
            "mesh_major": ["Pleural Effusion/right/large"],
        },
    ]
    (tmp_path / "reports_sample100.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    b = Bundle(tmp_path, {"labels": list(LABELS), "tokenizer": {"vocab_file": "vocab.txt", "unk_id": 1}}, {})
    out = iu_reports_part(b, tmp_path)
    assert out["n"] == 2 and out["mean_words"] == pytest.approx(8.0)
    assert out["share_normal_labeller"] == 0.5 and out["share_normal_mesh"] == 0.5
    assert out["positive_share"]["Pleural Effusion"] == 0.5 and out["positive_share"]["Pneumothorax"] == 0.0
    assert out["mention_share"]["Pneumothorax"] == 0.5 and "No Finding" not in out["mention_share"]
    # 22 tokens; "caf", "\u00e9" and "sign" are not in the vocabulary and have no pieces: [UNK]
    assert out["unk_token_rate"] == pytest.approx(3 / 22) and out["word_not_in_vocab_rate"] == pytest.approx(3 / 22)
    assert set(out["top_words_not_in_vocab"]) == {"caf", "\u00e9", "sign"}


@need_shipped
@need_data
def test_absent_folders_are_skipped_with_a_note(tmp_path):
    (tmp_path / "localization_nih_bbox").symlink_to(DATA / "localization_nih_bbox")
    metrics, examples = evaluate_real(SHIPPED, tmp_path)
    parts = metrics["parts"]
    for name in ("classification_nih14", "localization_covid_lungs", "report_iu_xray_text_only"):
        assert parts[name]["n"] == 0 and parts[name]["skipped"] is True
        assert name in parts[name]["note"] and "not found" in parts[name]["note"]
    box = parts["localization_nih_bbox"]
    assert box["n"] == len(box["items"]) > 0 and metrics["n"]["localization_nih_bbox"] == box["n"]
    assert 0.0 <= box["pointing_game"] <= 1.0 and 0.0 <= box["mean_iou"] <= 1.0
    assert examples and all(e["box"] is not None for e in examples)


@need_shipped
def test_unreadable_image_and_missing_manifest_name_the_file(tmp_path):
    folder = tmp_path / "localization_nih_bbox"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "bad.png").write_bytes(b"not a png at all")
    (folder / "manifest.csv").write_text(
        "image_path,image_id,finding_label,x,y,w,h\nimages/bad.png,bad.png,Nodule,10,10,20,20\n"
    )
    with pytest.raises(ValueError, match="bad.png"):
        evaluate_real(SHIPPED, tmp_path)
    (folder / "manifest.csv").unlink()
    with pytest.raises(ReaderError, match="manifest.csv"):
        evaluate_real(SHIPPED, tmp_path)


def _cli(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(TRAINING))
    return subprocess.run(
        [sys.executable, "-m", "gkmvlp.cli.evaluate_real", *args],
        cwd=TRAINING,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_missing_bundle_exits_with_one_clear_line(tmp_path):
    r = _cli("--bundle", str(tmp_path / "nope"), "--data", str(tmp_path), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "manifest.json" in r.stderr and "Traceback" not in r.stderr


def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


@need_shipped
@need_data
def test_cli_end_to_end_on_real_data(tmp_path):
    r = _cli("--bundle", str(SHIPPED), "--data", str(DATA), "--out", str(tmp_path), "--threads", "1")
    assert r.returncode == 0, r.stderr
    printed = json.loads(r.stdout.strip().splitlines()[-1])
    saved = json.loads((tmp_path / "real_metrics.json").read_text())
    man = json.loads((SHIPPED / "manifest.json").read_text())
    assert "items" not in json.dumps(printed) and "items" in saved["parts"]["classification_nih14"]
    assert printed["bundle"]["name"] == man["name"] and printed["bundle"]["trained_on"] == man["trained_on"]
    assert "synthetic" in printed["caveat"] and "diagnostic" in printed["caveat"]
    parts = printed["parts"]
    assert set(parts) == {
        "classification_nih14",
        "localization_nih_bbox",
        "localization_covid_lungs",
        "report_iu_xray_text_only",
    }
    assert all(printed["n"][k] > 0 and not parts[k].get("skipped") for k in parts)
    cls = parts["classification_nih14"]
    assert cls["n"] == len(saved["parts"]["classification_nih14"]["items"])
    assert set(cls["auc_per_label"]) | set(cls["skipped_labels"]) == set(man["labels"]) and 0 <= cls["auc_macro"] <= 1
    assert {"pointing_game", "pointing_chance", "mean_iou"} <= set(parts["localization_nih_bbox"])
    lungs = parts["localization_covid_lungs"]
    assert all(0 <= lungs[k] <= 1 for k in ("mean_iou_right", "mean_iou_left", "mean_iou_union"))
    # both sides follow the patient (right lung on the image's left): a mix-up shows as swapped > right
    assert lungs["mean_iou_right"] > lungs["mean_iou_swapped"]
    assert 0 <= parts["report_iu_xray_text_only"]["unk_token_rate"] <= 1
    nums = list(_numbers(saved))
    assert nums and all(math.isfinite(v) for v in nums)
    from PIL import Image

    with Image.open(tmp_path / "real_examples.png") as im:
        assert im.size[0] > 400 and im.size[1] > 300


def test_view_confound_scores_the_view_alone_and_the_model_within_each_view():
    from gkmvlp.eval.real_films import view_confound

    rows, res = [], {}
    # pneumonia films mostly PA, normals mostly AP; the score ranks perfectly within PA and inversely within AP
    for i in range(40):
        pos, view = i % 2, ("PA" if (i % 2 == 1) == (i % 8 != 1 and i % 8 != 2) else "AP")
        rows.append({"id": f"nih:{i}", "labels": {"Pneumonia": pos}, "view": view})
        score = (0.6 + 0.01 * i if pos else 0.2) if view == "PA" else (0.1 if pos else 0.5)
        res[f"nih:{i}"] = {"probs": [score]}
    rows.append({"id": "nih:x", "labels": {"Pneumonia": 1}, "view": "unknown"})
    out = view_confound(rows, res, 0)
    assert out["n_view_known"] == 40
    assert out["pa_share"]["pneumonia"] > 0.5 > out["pa_share"]["normal"]
    assert out["view_pa_auc"] > 0.5
    assert out["model_auc_within_PA"]["auc"] == 1.0 and out["model_auc_within_AP"]["auc"] == 0.0
    assert view_confound([r for r in rows if r["labels"]["Pneumonia"] == 1], res, 0) is None


def test_a_label_auc_over_pooled_splits_keeps_one_source_and_only_known_labels():
    from gkmvlp.eval.film_runner import label_auc

    def jsrt(r):
        return r["id"].startswith("jsrt:")

    rows = [
        {"id": "jsrt:a", "labels": {"Lung Lesion": 1}, "s": 0.9},
        {"id": "jsrt:b", "labels": {"Lung Lesion": 0}, "s": 0.2},
        {"id": "jsrt:c", "labels": {"Lung Lesion": 1}, "s": 0.1},
        {"id": "jsrt:d", "labels": {"Lung Lesion": None}, "s": 0.99},  # unknown: masked, not a negative
        {"id": "jsrt:e", "labels": {}, "s": 0.98},
        {"id": "nih:f", "labels": {"Lung Lesion": 0}, "s": 0.95},  # another source
    ]
    out = label_auc(rows, lambda r: r["s"], "Lung Lesion", jsrt)
    assert (out["n_pos"], out["n_neg"]) == (2, 1)
    assert out["auc"] == 0.5  # 0.9 > 0.2 > 0.1: one pair of two ranked right
    assert label_auc(rows[:1], lambda r: r["s"], "Lung Lesion", jsrt) == {"n": 1, "note": "one class only"}
