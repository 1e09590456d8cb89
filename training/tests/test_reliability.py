"""Bundle format 2 on the Python side: Platt calibration, the cardiothoracic-ratio finding, the
input-check graph (ONNX parity, blank and document inputs), generated negatives, and the masked
losses of real films whose sources say nothing about most labels."""

import numpy as np
import pytest
import torch

from gkmvlp.ontology import LABELS, REGIONS
from gkmvlp.reliability.calibration import (
    apply_platt,
    cardiothoracic_ratio,
    ece,
    final_probabilities,
    fit_platt,
    sigmoid,
)
from gkmvlp.reliability.input_check import InputCheck, image_features
from gkmvlp.reliability.negatives import KINDS, lateral_variants, make


def test_platt_fit_recovers_a_known_miscalibration():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 4000)
    y = (rng.random(4000) < sigmoid(0.5 * z - 0.7)).astype(float)
    p_raw = sigmoid(z)  # overconfident and biased against the truth
    a, b = fit_platt(p_raw, y)
    assert a == pytest.approx(0.5, abs=0.08) and b == pytest.approx(-0.7, abs=0.12)
    assert ece(apply_platt(p_raw, a, b), y) < ece(p_raw, y)


def test_platt_fit_on_a_tiny_set_stays_finite():
    a, b = fit_platt(np.array([0.99, 0.98, 0.01]), np.array([1.0, 1.0, 0.0]))
    assert np.isfinite(a) and np.isfinite(b)


def boxes_with(heart, right, left):
    rb = np.zeros((1, len(REGIONS), 4))
    rb[0, REGIONS.index("cardiac silhouette")] = heart
    rb[0, REGIONS.index("right lung")] = right
    rb[0, REGIONS.index("left lung")] = left
    return rb


def test_cardiothoracic_ratio_is_heart_width_over_both_lungs_extent():
    rb = boxes_with([0.4, 0.5, 0.7, 0.8], [0.1, 0.2, 0.45, 0.9], [0.55, 0.2, 0.9, 0.9])
    ctr = cardiothoracic_ratio(rb, list(REGIONS), "cardiac silhouette", ["right lung", "left lung"])
    assert ctr[0] == pytest.approx(0.3 / 0.8)


def test_final_probabilities_calibrate_listed_labels_and_derive_cardiomegaly():
    raw = np.full((1, len(LABELS)), 0.9)
    rb = boxes_with([0.25, 0.5, 0.8, 0.8], [0.1, 0.2, 0.45, 0.9], [0.55, 0.2, 0.9, 0.9])  # CTR 0.6875
    man = {
        "labels": list(LABELS),
        "regions": list(REGIONS),
        "calibration": {"labels": {"Pneumonia": {"a": 0.5, "b": -1.0}}},
        "derived": {
            "Cardiomegaly": {
                "kind": "cardiothoracic_ratio",
                "heart_region": "cardiac silhouette",
                "thorax_regions": ["right lung", "left lung"],
                "a": 25.0,
                "b": -12.5,
            }
        },
    }
    out = final_probabilities(raw, rb, man)
    assert out[0, LABELS.index("Pneumonia")] == pytest.approx(sigmoid(0.5 * np.log(9) - 1.0))
    assert out[0, LABELS.index("Cardiomegaly")] == pytest.approx(sigmoid(25 * 0.6875 - 12.5))
    assert out[0, LABELS.index("Edema")] == pytest.approx(0.9)  # not listed: left as the head gives it


def test_negatives_are_deterministic_and_in_range():
    for k in KINDS:
        a, b = make(k, 7, 64), make(k, 7, 64)
        assert np.array_equal(a, b) and a.min() >= 0 and a.max() <= 1


def test_each_real_lateral_enters_the_fit_with_variants_that_stay_in_range_and_keep_its_content():
    from gkmvlp.reliability.fit import negatives

    lat = np.linspace(0, 1, 60 * 40).reshape(60, 40) ** 2  # not mirror-symmetric, like a lateral view
    v = lateral_variants(lat, np.random.default_rng(0), 8)
    assert len(v) == 8 and v[0] is lat
    for g in v[1:]:
        assert g.min() >= 0 and g.max() <= 1 and 51 <= g.shape[0] <= 60 and 34 <= g.shape[1] <= 40
        assert abs(np.corrcoef(g.mean(0), g.mean(0)[::-1])[0, 1]) > 0.5  # still a ramp, either way round
    assert len(negatives([], seed=1, per_kind=2)) == 2 * len(KINDS)


def test_input_check_graph_matches_onnxruntime_and_flags_far_embeddings(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from gkmvlp.export.onnx_io import export_graph

    torch.manual_seed(0)
    dim, s = 16, 64
    ic = InputCheck(dim, 0.5, 0.25).eval()
    k = ic.w.shape[0]
    ic.w.copy_(torch.randn(k) * 0.1)
    spec = {
        "file": "input_check.onnx",
        "inputs": [
            {"name": "pixel_values", "dtype": "float32", "shape": ["batch", 1, s, s]},
            {"name": "global_embedding", "dtype": "float32", "shape": ["batch", dim]},
        ],
        "outputs": [
            {"name": "frontal_cxr_probability", "dtype": "float32", "shape": ["batch"]},
            {"name": "ood_distance", "dtype": "float32", "shape": ["batch"]},
        ],
    }
    x, e = torch.randn(3, 1, s, s), torch.randn(3, dim)
    e[2] *= 10
    export_graph(ic, (x, e), spec, tmp_path / "ic.onnx")
    sess = ort.InferenceSession(str(tmp_path / "ic.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"pixel_values": x.numpy(), "global_embedding": e.numpy()})
    with torch.no_grad():
        want = [t.numpy() for t in ic(x, e)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5)
    assert want[1][2] > 5 * want[1][0]  # identity whitening: distance grows with the embedding


def test_image_features_see_symmetry_and_blankness():
    s = 64
    yy, xx = np.mgrid[0:s, 0:s] / s
    film = 0.3 + 0.5 * np.exp(-((xx - 0.5) ** 2) / 0.02)  # bright centre column, symmetric
    doc = np.ones((s, s)) * 0.95
    doc[::6, : s // 2] = 0.05  # text lines on one side only
    x = torch.tensor(np.stack([film, doc])[:, None] - 0.5, dtype=torch.float32) / 0.25
    f = image_features(x, 0.5, 0.25).numpy()
    sym, centre = f[:, 64 + 2], f[:, 64 + 5]
    assert sym[0] > 0.9 and sym[1] < sym[0]
    assert centre[0] > 0.2 and abs(centre[1]) < centre[0]


def test_unknown_labels_do_not_contribute_to_the_classification_loss():
    from gkmvlp.model.losses import masked_bce

    logits = torch.tensor([[5.0, -5.0, 5.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0]])
    known = torch.tensor([[1.0, 1.0, 0.0]])  # the third label is unknown: its (wrong) logit must not count
    assert float(masked_bce(logits, labels, known)) == pytest.approx(
        float(torch.nn.functional.softplus(torch.tensor(-5.0))), rel=1e-4
    )
    assert float(masked_bce(logits, labels, None)) > 1.0


def test_cardiomegaly_keeps_the_head_value_when_the_thorax_has_no_width():
    raw = np.full((1, len(LABELS)), 0.3)
    rb = boxes_with([0.4, 0.5, 0.3, 0.8], [0.5, 0.2, 0.5, 0.9], [0.5, 0.2, 0.5, 0.9])  # zero-width thorax
    man = {
        "labels": list(LABELS),
        "regions": list(REGIONS),
        "calibration": {"labels": {}},
        "derived": {
            "Cardiomegaly": {
                "kind": "cardiothoracic_ratio",
                "heart_region": "cardiac silhouette",
                "thorax_regions": ["right lung", "left lung"],
                "a": 25.0,
                "b": -12.5,
            }
        },
    }
    assert final_probabilities(raw, rb, man)[0, LABELS.index("Cardiomegaly")] == pytest.approx(0.3)
    ok = boxes_with([0.6, 0.5, 0.4, 0.8], [0.1, 0.2, 0.45, 0.9], [0.55, 0.2, 0.9, 0.9])  # inverted heart box
    assert final_probabilities(raw, ok, man)[0, LABELS.index("Cardiomegaly")] == pytest.approx(sigmoid(-12.5))


def test_ctr_with_head_is_kept_only_when_it_ranks_better_out_of_fold():
    from gkmvlp.reliability.calibration import final_probabilities, fit_ctr_with_head

    rng = np.random.default_rng(0)
    y = np.r_[np.ones(30), np.zeros(90)]
    ctr = 0.47 + 0.03 * y + rng.normal(0, 0.04, y.size)  # the ratio: weakly informative
    informative = 1 / (1 + np.exp(-(3 * y - 1.5 + rng.normal(0, 0.7, y.size))))  # the head: strongly
    fit = fit_ctr_with_head(ctr, informative, y)
    assert fit["kept"] and fit["cv_auc"] > fit["rule_auc"] and fit["head_weight"] > 0
    noise = rng.uniform(0.05, 0.95, y.size)
    strong_ctr = 0.45 + 0.1 * y + rng.normal(0, 0.02, y.size)
    assert not fit_ctr_with_head(strong_ctr, noise, y)["kept"]  # a ratio that already separates: the rule stays
    assert fit_ctr_with_head(ctr[:8], informative[:8], y[:8]) is None  # fewer than 5 of a class: nothing fitted
    # the manifest arithmetic: head_weight adds its term to the ratio's
    m = {
        "labels": ["Cardiomegaly"],
        "regions": ["right lung", "left lung", "cardiac silhouette"],
        "derived": {
            "Cardiomegaly": {
                "kind": "cardiothoracic_ratio",
                "heart_region": "cardiac silhouette",
                "thorax_regions": ["right lung", "left lung"],
                "a": 25.0,
                "b": -12.5,
                "head_weight": 0.7,
            }
        },
    }
    boxes = np.array([[[0.1, 0.1, 0.45, 0.9], [0.55, 0.1, 0.9, 0.9], [0.3, 0.4, 0.7, 0.8]]])
    got = final_probabilities(np.array([[0.2]]), boxes, m)[0, 0]
    assert abs(got - 1 / (1 + np.exp(-(25 * 0.5 - 12.5 + 0.7 * np.log(0.2 / 0.8))))) < 1e-6


def test_real_laterals_are_measured_by_fits_that_never_saw_them_or_their_variants():
    from gkmvlp.reliability.fit import fit_logistic, laterals_out_of_fold

    rng = np.random.default_rng(0)
    pos = rng.normal(0, 1, (300, 5)) + [2, 0, 0, 0, 0]
    base = rng.normal(0, 1, (100, 5)) + [-2, 0, 0, 0, 0]
    rows = [{"patient": f"p{i}"} for i in range(12)]
    lat_x = [rng.normal(0, 0.3, (8, 5)) + [0, 3, 0, 0, 0] for _ in rows]  # laterals: a direction of their own
    seen = []

    def fit_without(held):
        seen.append(set(held))
        neg = np.concatenate([base, *[v for i, v in enumerate(lat_x) if i not in held]])
        return fit_logistic(np.concatenate([pos, neg]), np.r_[np.ones(len(pos)), np.zeros(len(neg))])

    out = laterals_out_of_fold(rows, lat_x, fit_without)
    assert out["n"] == 12 and out["refused_as_not_frontal"] == 1.0
    assert set().union(*seen) == set(range(12)) and sum(len(h) for h in seen) == 12  # each lateral held out once
    # without any lateral among the negatives, the same films pass as frontal: the measurement can fail
    blind = laterals_out_of_fold(rows, lat_x, lambda held: fit_without(set(range(12))))
    assert blind["refused_as_not_frontal"] < 0.5
    assert laterals_out_of_fold(rows[:2], lat_x[:2], fit_without)["note"].startswith("fewer than")


def test_a_label_counts_as_learned_from_real_films_only_with_enough_known_positives_and_negatives():
    from gkmvlp.reliability.fit import learned_labels

    rows = [{"labels": {"Edema": int(i < 5), "Fracture": int(i < 4), "Pneumonia": 1}} for i in range(12)]
    rows += [{"labels": {}} for _ in range(50)]  # films that know nothing teach nothing
    assert learned_labels(rows) == ["Edema"]  # Fracture: 4 positives; Pneumonia: no negatives
    assert learned_labels(rows, min_each=4) == ["Edema", "Fracture"]


def test_fit_keeps_image_features_not_pixels_and_scores_them_as_the_graph_does():
    from gkmvlp.model.preprocess import preprocess_array
    from gkmvlp.reliability.fit import encode_arrays
    from tests.micro_model import micro_model

    model, _ = micro_model()
    c = model.cfg
    rng = np.random.default_rng(0)
    grays = [rng.random((80, 70)).astype(np.float32) for _ in range(5)]
    enc = encode_arrays(model, grays, batch=2)
    assert "pixels" not in enc and enc["img_feats"].shape[0] == 5
    x = torch.from_numpy(np.concatenate([preprocess_array(g, c.image_size, c.mean, c.std)[0] for g in grays]))
    assert np.allclose(enc["img_feats"], image_features(x, c.mean, c.std).numpy(), atol=1e-6)
    ic = InputCheck(c.dim, c.mean, c.std)
    ic.w.copy_(torch.linspace(-1, 1, ic.w.numel()))
    emb = torch.from_numpy(enc["emb"])
    for a, b in zip(ic(x, emb), ic.score(torch.from_numpy(enc["img_feats"]), emb)):
        assert torch.allclose(a, b, atol=1e-6)
