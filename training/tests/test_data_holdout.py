"""The held-out NIH pneumonia set: assembled against a training corpus (its patients left out, every film in
"test", evaluation copies excluded) and scored by holdout_pneumonia."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gkmvlp.data.real import load_manifest
from gkmvlp.data.real.holdout import assemble_holdout, seen_patients
from gkmvlp.eval.holdout import holdout_pneumonia, paired_difference
from tests.test_data_real_corpus import eval_copies, film, png, put, pytestmark  # noqa: F401

REPO = "SIMHADRI29/Chest-Disease-Detection"


def corpus_row(rid: str, patient: str, split: str) -> dict:
    return {"id": rid, "split": split, "patient": patient, "patient_known": True}


@pytest.fixture(scope="module")
def holdout(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("holdout")
    corpus = tmp / "corpus"
    corpus.mkdir()
    rows = [
        corpus_row("nih:80000001_000", "80000001", "train"),
        corpus_row("nih128:80000002_000", "80000002", "val"),
        corpus_row("nih64:80000003_000", "80000003", "test"),
        corpus_row("jsrt:JPCLN001", "80000004", "train"),  # another namespace: does not hide NIH patient 80000004
    ]
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    src = tmp / "clones" / "SIMHADRI29" / "Chest-Disease-Detection"
    files = {
        "Dataset/Pneumonia/80000001_001.png": 1,  # patient in the corpus's training films: left out
        "Dataset/Pneumonia/80000004_000.png": 2,
        "Dataset/Pneumonia/80000005_000.png": 3,
        "Dataset/Normal/80000002_001.png": 4,  # validation patient: left out
        "Dataset/Normal/80000003_001.png": 5,  # test patient: kept
        "Dataset/Normal/80000006_000.png": 6,
        "Dataset/Fibrosis/80000007_000.png": 7,  # other folders are not read
        "testImages/Pneumonia/80000008_000.png": 8,
        "Dataset/Pneumonia/person1_bacteria_1.png": 9,  # not an NIH name
    }
    for rel, seed in files.items():
        put(src, rel, png(film(seed, (256, 256), "RGB")))
    copies = eval_copies()
    if copies:
        put(src, "Dataset/Pneumonia/80000009_000.png", copies[1])
    out = tmp / "nih-holdout"
    summary = assemble_holdout(tmp / "clones", corpus, out, progress=False)
    return corpus, out, summary, copies is not None


def test_patients_of_training_and_validation_films_are_left_out_per_namespace(holdout):
    corpus, out, summary, _ = holdout
    assert seen_patients(corpus) == {"nih": {"80000001", "80000002"}, "jsrt": {"80000004"}}
    assert seen_patients(corpus, ("test",)) == {"nih": {"80000003"}}  # holdout_eval's new-patient count
    rows = load_manifest(out)
    assert {r["id"] for r in rows} == {"nih256:80000004_000", "nih256:80000005_000", "nih256:80000003_001",
                                       "nih256:80000006_000"}  # fmt: skip
    assert {r["split"] for r in rows} == {"test"}
    reasons = [json.loads(line)["reason"] for line in (out / "excluded.jsonl").read_text().splitlines()]
    assert reasons.count("patient among the training or validation films of the corpus held out from") == 2
    held = summary["parameters"]["held_out_of"]
    assert held["patients_left_out"] == {"jsrt": 1, "nih": 2} and len(held["manifest_sha256"]) == 64
    assert summary["parameters"]["split_rule"] == "every film: test"


def test_labels_come_from_the_folder_and_views_stay_unknown_without_nih_label_file(holdout):
    _, out, summary, _ = holdout
    by_id = {r["id"]: r for r in load_manifest(out)}
    assert by_id["nih256:80000005_000"]["labels"] == {"Lung Opacity": 1, "Pneumonia": 1, "No Finding": 0}
    assert by_id["nih256:80000006_000"]["labels"]["No Finding"] == 1
    assert by_id["nih256:80000006_000"]["labels"]["Pneumonia"] == 0
    assert summary["missing"] == ["qqto2008/capstone"]
    assert "pelagecha/Cancer-Detection" not in (out / "LICENCES.md").read_text()  # only the held-out sources


def test_a_copy_of_an_evaluation_film_is_left_out(holdout):
    _, out, summary, have_copies = holdout
    if not have_copies:
        pytest.skip("no shared/data evaluation images")
    assert "nih256:80000009_000" not in {r["id"] for r in load_manifest(out)}
    assert summary["exclusions"]["by_reason"].get("evaluation near-duplicate") == 1


class ScoreByName:
    """Stands in for the bundle runner: a fixed Pneumonia probability per film (this tests the scoring only)."""

    def __init__(self, probs: dict[str, float]):
        self.m = {"labels": ["No Finding", "Pneumonia"], "name": "stand-in", "version": "1"}
        self.probs = probs

    def image(self, path: Path) -> dict:
        return {"probs": np.array([0.0, self.probs[path.stem]])}


def test_holdout_figure_counts_new_patients_and_scores_them_alone(holdout):
    _, out, _, _ = holdout
    run = ScoreByName({"80000004_000": 0.9, "80000005_000": 0.8, "80000003_001": 0.1, "80000006_000": 0.85})
    res = holdout_pneumonia(run, out, seen_test_patients={"80000003"})
    assert res["all"]["auc"] == pytest.approx(0.75)  # 3 of 4 pneumonia-normal pairs in order
    assert res["films_of_new_patients"] == {"pneumonia": 2, "normal": 1}
    assert res["new_patients_only"]["auc"] == pytest.approx(0.5)  # without the corpus-test normal: 1 of 2
    assert res["n_patients"] == 4 and res["view_confound"] is None
    assert res["pixel_baselines"]["n"] == 4  # the trivial baselines beside the model figure


def test_a_bundle_is_compared_with_its_control_on_the_same_films(holdout):
    _, out, _, _ = holdout
    run = ScoreByName({"80000004_000": 0.9, "80000005_000": 0.8, "80000003_001": 0.1, "80000006_000": 0.2})
    control = ScoreByName({"80000004_000": 0.9, "80000005_000": 0.8, "80000003_001": 0.1, "80000006_000": 0.85})
    res = paired_difference(run, control, out)
    assert res["control_auc"] == pytest.approx(0.75) and res["difference"] == pytest.approx(0.25)
    assert res["control"] == "stand-in 1" and res["difference_ci"][0] <= 0.25 <= res["difference_ci"][1]


def _patients(split: str, n: int) -> list[str]:
    from gkmvlp.data.real import split_of

    return [p for p in (f"{70000000 + i}" for i in range(400)) if split_of("nih", p) == split][:n]


@pytest.fixture(scope="module")
def second_copies(tmp_path_factory):
    """muhammedtalo-like NIH films of training, validation and test patients, and SIMHADRI29-like 256 px copies."""
    from gkmvlp.data.real.assemble import assemble
    from gkmvlp.data.real.holdout import HOLDOUT_KEY, SECOND_COPY_SOURCES

    tmp = tmp_path_factory.mktemp("copies")
    (tr1, tr2), (va,), (te,) = _patients("train", 2), _patients("val", 1), _patients("test", 1)
    talo = tmp / "clones" / "muhammedtalo" / "COVID-19"
    simhadri = tmp / "clones" / "SIMHADRI29" / "Chest-Disease-Detection"
    originals = {f"{tr1}_000": 11, f"{tr2}_000": 12, f"{va}_000": 13, f"{te}_000": 14}
    for i, (name, seed) in enumerate(originals.items()):
        folder = "Pneumonia" if i % 2 == 0 else "No_findings"
        put(talo, f"X-Ray Image DataSet/{folder}/{name}.png", png(film(seed, (512, 512))))
        copy = film(seed, (512, 512)).resize((256, 256), Image.BILINEAR).convert("RGB")  # another pipeline
        put(simhadri, f"Dataset/{'Pneumonia' if i % 2 == 0 else 'Normal'}/{name}.png", png(copy))
    put(simhadri, f"Dataset/Normal/{tr2}_001.png", png(film(15, (256, 256), "RGB")))  # a training patient's other film
    put(simhadri, "Dataset/Pneumonia/70009999_000.png", png(film(16, (256, 256), "RGB")))  # a patient new to the corpus
    kw = {"progress": False, "max_side": 128}
    plain = assemble(tmp / "clones", tmp / "plain", **kw)
    with_copies = assemble(
        tmp / "clones", tmp / "copies", sources=SECOND_COPY_SOURCES, second_copies=(HOLDOUT_KEY,), **kw
    )
    return tmp, (tr1, tr2, va, te), plain, with_copies


def test_second_copies_of_training_and_validation_films_are_kept_beside_the_originals_in_their_split(second_copies):
    tmp, (tr1, tr2, va, te), _, summary = second_copies
    rows = {r["id"]: r for r in load_manifest(tmp / "copies")}
    copies = {i: r for i, r in rows.items() if i.startswith("nih256:")}
    assert set(copies) == {f"nih256:{tr1}_000", f"nih256:{tr2}_000", f"nih256:{va}_000", f"nih256:{tr2}_001"}
    for i, r in copies.items():
        original = rows.get(f"nih:{i.split(':')[1]}")
        assert r["split"] == split_of_patient(r["patient"])
        if original:  # the same film through another pipeline: same split, same labels, marked as a copy
            assert r["copy_of"] == original["id"] and r["split"] == original["split"]
            assert r["labels"] == original["labels"]
    assert "copy_of" not in copies[f"nih256:{tr2}_001"]  # a film of its own, of a training patient
    assert summary["parameters"]["second_copies"] == ["nih256"]
    reasons = [json.loads(line) for line in (tmp / "copies" / "excluded.jsonl").read_text().splitlines()]
    left_out = {r["id"] for r in reasons if r["reason"].startswith("second copy whose patient has no training")}
    assert left_out == {f"nih256:{te}_000", "nih256:70009999_000"}  # test patients and new ones: the held-out set's


def split_of_patient(patient: str) -> str:
    from gkmvlp.data.real import split_of

    return split_of("nih", patient)


def test_without_second_copies_the_corpus_is_unchanged_by_them(second_copies):
    tmp, _, plain, _ = second_copies
    plain_rows = (tmp / "plain" / "manifest.jsonl").read_text().splitlines()
    copy_rows = [
        line for line in (tmp / "copies" / "manifest.jsonl").read_text().splitlines() if '"nih256:' not in line
    ]
    assert plain_rows == copy_rows
    assert "second_copies" not in plain["parameters"]
