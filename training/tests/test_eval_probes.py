"""Linear probes of frozen features (gkmvlp/eval/probes.py)."""

import json
import math

import numpy as np
from test_train_cli import config_file, data  # noqa: F401  (module-scoped tiny dataset)
from test_train_decoder_phase import pretrained  # noqa: F401

from gkmvlp.eval import probes
from gkmvlp.ontology import LABELS


def fake_features(n, rng, signal):
    g = rng.normal(size=(n, 8))
    y = (
        (g[:, :1] + 0.1 * rng.normal(size=(n, 1)) > 0).astype(np.float32)
        if signal
        else (rng.random((n, 1)) > 0.5).astype(np.float32)
    )
    y = np.repeat(y, len(LABELS), axis=1)
    f = {
        "global": g,
        "knowledge": rng.normal(size=(n, len(LABELS), 4)),
        "regions": rng.normal(size=(n, 8)),
        "patches": rng.normal(size=(n, 8)),
    }
    return f, y


def test_a_probe_finds_a_linear_signal_and_not_one_that_is_absent():
    rng = np.random.default_rng(0)
    (tr, ytr), (te, yte) = fake_features(400, rng, True), fake_features(200, rng, True)
    assert probes.probe_auc(tr, ytr, te, yte, "global") > 0.95
    assert probes.probe_auc(tr, ytr, te, yte, "global+knowledge") > 0.95
    assert abs(probes.probe_auc(tr, ytr, te, yte, "patches") - 0.5) < 0.15  # the label is not in the patches


def test_a_checkpoint_gets_classifier_evidence_and_probe_aucs_and_the_cli_writes_them(data, pretrained, tmp_path):  # noqa: F811
    out = tmp_path / "probes.json"
    probes.main(["--data", str(data), "--checkpoint", str(pretrained), "--train-images", "12", "--out", str(out)])
    res = json.loads(out.read_text())[str(pretrained)]
    assert set(res) == {"classifier", "evidence_logit", *(f"probe_{p}" for p in probes.PROBES)}
    assert all(math.isnan(v) or 0.0 <= v <= 1.0 for v in res.values()) and not math.isnan(res["classifier"])
