"""ensemble: a primary bundle plus another bundle's classifier; the worker's combination (the mean of the members'
logits) reproduced from the members' own bundles, calibration refitted on the combined value, golden rewritten."""

import hashlib
import json

import numpy as np
import pytest
import torch
from manifest_schema import manifest_errors
from micro_model import ANSWERS, micro_model
from test_refit_anatomy import REL, _corpus

from gkmvlp.eval.film_runner import FilmRunner
from gkmvlp.export.bundle import write_bundle
from gkmvlp.reliability.calibration import final_probabilities, logit, sigmoid
from gkmvlp.reliability.ensemble import build
from gkmvlp.reliability.fit import calibrate_labels, label_matrix
from gkmvlp.reliability.input_check import InputCheck
from gkmvlp.train.real_batches import read_corpus


def _bundle(tmp_path, name: str, seed: int | None):
    m, tok = micro_model(True)
    if seed is not None:  # another member: the same shapes, other weights
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in m.parameters():
                p.add_(0.5 * torch.randn(p.shape, generator=g) * (p.std() if p.numel() > 1 else 1))
    path, _ = write_bundle(
        m,
        tok,
        ANSWERS,
        tmp_path / name,
        name=name,
        version="0.0.1",
        config={"size": "tiny"},
        max_new_tokens=3,
        reliability=(InputCheck(m.cfg.dim, m.cfg.mean, m.cfg.std), REL),
    )
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ens")
    corpus = _corpus(tmp / "corpus", n=16)
    rows = [json.loads(x) for x in (corpus / "manifest.jsonl").read_text().splitlines()]
    for i, r in enumerate(rows):  # a second label known on every film, for a Platt fit
        r["labels"]["Pneumonia"] = int(i % 4 < 2)
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, b = _bundle(tmp, "a", None), _bundle(tmp, "b", 7)
    out = tmp / "ens"
    return a, b, corpus, out, build(a, [b], corpus, out, "0.0.9")


def test_the_ensemble_reports_the_mean_of_the_members_logits(made):
    a, b, corpus, out, _ = made
    ra, rb, re = FilmRunner(a), FilmRunner(b), FilmRunner(out)
    for r in read_corpus(corpus, "val")[:4]:
        pa, pb, pe = (x.image(corpus / r["image"])["raw"] for x in (ra, rb, re))
        assert np.abs(pa - pb).max() > 1e-3  # the members differ, so the test can tell them apart
        np.testing.assert_allclose(pe, sigmoid((logit(pa) + logit(pb)) / 2), atol=2e-5)


def test_calibration_thresholds_and_cardiomegaly_are_refitted_on_the_combined_value(made):
    _, _, corpus, out, res = made
    man = json.loads((out / "manifest.json").read_text())
    assert man["ensemble"]["members"] == 2 and man["ensemble"]["combine"] == "mean_logit"
    assert man["graphs"]["classification_members"]["outputs"][0]["shape"] == ["batch", 1, len(man["labels"])]
    assert "real_metrics" not in man["reliability"]
    rows = read_corpus(corpus, "val")
    run = FilmRunner(out)
    raw = np.stack([run.image(corpus / r["image"])["raw"] for r in rows]).astype(np.float64)
    y, known = label_matrix(rows)
    cal, thr, _ = calibrate_labels(raw, y, known)
    assert set(cal) == {"Cardiomegaly", "Pneumonia"}
    for lab, c in cal.items():
        assert man["calibration"]["labels"][lab] == pytest.approx(c, rel=1e-6)
    assert man["thresholds"]["Pneumonia"] == pytest.approx(thr["Pneumonia"])
    assert res["val_films"] == 16 and res["cardiomegaly_fit"]["n_pos"] == 8
    assert len(res["val_auc"]["Pneumonia"]["members"]) == 2


def test_the_bundle_is_complete_hashed_and_valid_and_its_golden_holds_the_combination(made):
    a, b, _, out, _ = made
    man = json.loads((out / "manifest.json").read_text())
    assert manifest_errors(man) == []
    for rel, sha in man["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == sha
    golden = json.loads((out / "golden" / "golden.json").read_text())
    gb = json.loads((b / "golden" / "golden.json").read_text())

    def arr(t):
        return np.array(t["values"], np.float64).reshape(t["shape"])

    head = {e["case"]: arr(e["outputs"]["probabilities"]) for e in golden["graphs"]["classification_head"]}
    head_b = {e["case"]: arr(e["outputs"]["probabilities"]) for e in gb["graphs"]["classification_head"]}
    members = {e["case"]: arr(e["outputs"]["member_logits"]) for e in golden["graphs"]["classification_members"]}
    assert sorted(members) == [0, 1, 2]
    boxes = {e["case"]: arr(e["outputs"]["region_boxes"]) for e in golden["graphs"]["image_encoder"]}
    boxes |= {e["case"]: arr(e["region_boxes"]) for e in golden.get("anatomy_boxes", [])}
    for e in golden["calibrated"]:
        c = e["case"]
        np.testing.assert_allclose(members[c][:, 0], logit(head_b[c]), atol=1e-4)  # member b's own golden head
        comb = sigmoid((logit(head[c]) + members[c].sum(1)) / 2)
        np.testing.assert_allclose(arr(e["raw"]), comb, atol=1e-6)
        np.testing.assert_allclose(arr(e["probabilities"]), final_probabilities(comb, boxes[c], man), atol=1e-6)
    assert not out.with_name("ens.part").exists()


def test_members_that_read_or_say_something_else_or_an_existing_folder_are_refused(made, tmp_path):
    a, b, corpus, out, _ = made
    with pytest.raises(FileExistsError):
        build(a, [b], corpus, out, "0.1")
    other = tmp_path / "b2"
    other.mkdir()
    m = json.loads((b / "manifest.json").read_text())
    (other / "manifest.json").write_text(json.dumps({**m, "labels": m["labels"][::-1]}))
    with pytest.raises(ValueError, match="labels differ"):
        build(a, [other], corpus, tmp_path / "x", "0.1")
    with pytest.raises(ValueError, match="not an ensemble"):
        build(out, [b], corpus, tmp_path / "y", "0.1")


def test_three_members_keep_their_order_and_each_counts_once(made, tmp_path):
    a, b, corpus, _, _ = made
    c = _bundle(tmp_path, "c", 11)
    out = tmp_path / "ens3"
    build(a, [b, c], corpus, out, "0.0.10")
    man = json.loads((out / "manifest.json").read_text())
    assert manifest_errors(man) == []
    assert man["ensemble"]["members"] == 3
    assert man["graphs"]["classification_members"]["outputs"][0]["shape"] == ["batch", 2, len(man["labels"])]
    golden = json.loads((out / "golden" / "golden.json").read_text())

    def heads(bundle):
        g = json.loads((bundle / "golden" / "golden.json").read_text())
        return {
            e["case"]: np.array(e["outputs"]["probabilities"]["values"]) for e in g["graphs"]["classification_head"]
        }

    hb, hc = heads(b), heads(c)
    for e in golden["graphs"]["classification_members"]:
        ml = np.array(e["outputs"]["member_logits"]["values"]).reshape(e["outputs"]["member_logits"]["shape"])
        np.testing.assert_allclose(ml[:, 0], logit(hb[e["case"]]).reshape(ml[:, 0].shape), atol=1e-4)
        np.testing.assert_allclose(ml[:, 1], logit(hc[e["case"]]).reshape(ml[:, 1].shape), atol=1e-4)
    ra, rb, rc, re = FilmRunner(a), FilmRunner(b), FilmRunner(c), FilmRunner(out)
    for r in read_corpus(corpus, "val")[:3]:
        pa, pb, pc, pe = (x.image(corpus / r["image"])["raw"] for x in (ra, rb, rc, re))
        np.testing.assert_allclose(pe, sigmoid((logit(pa) + logit(pb) + logit(pc)) / 3), atol=2e-5)
