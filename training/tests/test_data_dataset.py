"""Writing the contract layout atomically and reading it back with validation."""

import json
import os
import shutil

import numpy as np
import pydicom
import pytest
from PIL import Image

from gkmvlp.cli.generate import main as generate_main
from gkmvlp.data.dataset import (
    ContractDataset,
    DatasetFormatError,
    label_vector,
    load_mask,
    read_dataset_json,
    read_split,
    region_array,
)
from gkmvlp.data.synthetic import GeneratorConfig, generate_dataset, generate_sample
from gkmvlp.data.synthetic.dicom import read_dicom_as_8bit
from gkmvlp.ontology import LABELS, REGIONS

CFG = GeneratorConfig(image_size=64)
COUNTS = {"train": 6, "val": 2, "test": 3}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "synth"
    generate_dataset(CFG, out, COUNTS, seed=4, dicom_subset=2, progress=False)
    return out


def _copy(root, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(root, dst)
    return dst


def test_layout_and_metadata(root):
    meta = read_dataset_json(root)
    assert meta["counts"] == COUNTS and meta["image_size"] == 64 and meta["seed"] == 4
    assert meta["labels"] == list(LABELS) and meta["regions"] == list(REGIONS)
    assert not os.path.exists(str(root) + ".tmp")
    assert len(list((root / "dicom").glob("*.dcm"))) == 2


def test_records_roundtrip_and_match_generate_sample(root):
    ds = ContractDataset(root, "train")
    assert len(ds) == 6
    item = ds[0]
    assert item["image"].dtype == np.float32 and item["image"].shape == (64, 64)
    assert 0.0 <= item["image"].min() and item["image"].max() <= 1.0
    s = generate_sample(CFG, 4, 0)
    assert item["record"]["labels"] == s.record["labels"]
    assert np.array_equal(np.round(item["image"] * 255).astype(np.uint8), s.image)
    for f, m in zip(item["record"]["findings"], s.masks):
        assert np.array_equal(load_mask(root, f), m)
    assert label_vector(item["record"]).shape == (14,)
    boxes, present = region_array(item["record"])
    assert boxes.shape == (29, 4) and present.sum() == len(item["record"]["regions"])
    ids = [r["id"] for sp in ("train", "val", "test") for r in read_split(root, sp)]
    assert len(set(ids)) == 11


def test_dicom_subset_windows_back_to_the_png(root):
    for rec in read_split(root, "test"):
        if "dicom" not in rec:
            continue
        ds = pydicom.dcmread(root / rec["dicom"])
        assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.BitsAllocated == 16
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        png = np.asarray(Image.open(root / rec["image"])).astype(int)
        assert np.abs(read_dicom_as_8bit(root / rec["dicom"]).astype(int) - png).max() <= 1


def test_existing_output_is_not_overwritten_by_default(root):
    with pytest.raises(FileExistsError):
        generate_dataset(CFG, root, COUNTS, progress=False)


def test_interrupted_generation_leaves_no_complete_looking_set(tmp_path, monkeypatch):
    import gkmvlp.data.synthetic.writer as w

    calls = {"n": 0}
    real = w._work

    def failing(args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(args)

    monkeypatch.setattr(w, "_work", failing)
    out = tmp_path / "set"
    with pytest.raises(RuntimeError):
        generate_dataset(CFG, out, {"train": 5}, progress=False)
    assert not out.exists()
    assert not (tmp_path / "set.tmp" / "dataset.json").exists()
    with pytest.raises(DatasetFormatError, match="dataset.json"):
        read_dataset_json(tmp_path / "set.tmp")
    monkeypatch.setattr(w, "_work", real)
    generate_dataset(CFG, out, {"train": 2}, progress=False)  # a rerun cleans the stale .tmp
    assert len(read_split(out, "train")) == 2 and not (tmp_path / "set.tmp").exists()


def test_malformed_json_line_is_reported_with_file_and_line(root, tmp_path):
    d = _copy(root, tmp_path)
    lines = (d / "train.jsonl").read_text().splitlines()
    lines[2] = lines[2][:-5]
    (d / "train.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetFormatError, match=r"train\.jsonl:3: invalid JSON"):
        read_split(d, "train")


@pytest.mark.parametrize(
    "mutate,msg",
    [
        (lambda r: r.pop("labels"), "missing keys"),
        (lambda r: r["labels"].update({"Hernia": 1}), "unknown labels"),
        (lambda r: r["regions"].update({"left arm": [1, 1, 5, 5]}), "unknown region"),
        (lambda r: r["regions"].update({"spine": [10, 10, 900, 20]}), "not inside"),
        (lambda r: r.update({"image": "images/nope.png"}), "image file missing"),
    ],
)
def test_bad_rows_are_reported(root, tmp_path, mutate, msg):
    d = _copy(root, tmp_path)
    rows = [json.loads(x) for x in (d / "val.jsonl").read_text().splitlines()]
    mutate(rows[1])
    (d / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DatasetFormatError, match=r"val\.jsonl:2: .*" + msg):
        read_split(d, "val")


def test_unreadable_image_is_reported(root, tmp_path):
    d = _copy(root, tmp_path)
    rec = read_split(d, "test")[0]
    (d / rec["image"]).write_bytes(b"not a png")
    with pytest.raises(DatasetFormatError, match=r"test\.jsonl:1: image file unreadable"):
        read_split(d, "test")


def test_cli_writes_set_and_previews(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = generate_main(
        [
            "--out",
            str(out),
            "--train",
            "2",
            "--val",
            "1",
            "--test",
            "4",
            "--image-size",
            "64",
            "--dicom",
            "1",
            "--previews",
            "4",
            "--no-progress",
        ]
    )
    assert rc == 0
    assert {p.name for p in (out / "previews").iterdir()} == {"raw.png", "regions.png", "findings.png"}
    assert len(read_split(out, "test")) == 4
    assert generate_main(["--out", str(out), "--no-progress"]) == 2  # exists -> clear error
    assert "exists" in capsys.readouterr().err
