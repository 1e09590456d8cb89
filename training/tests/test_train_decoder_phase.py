"""The report-decoder phase: decoder-only steps on cached image memory after the joint fine-tune."""

import json

import numpy as np
import pytest
import torch
from test_train_cli import config_file, data  # noqa: F401  (module-scoped tiny dataset)

from gkmvlp.cli import finetune as finetune_cli
from gkmvlp.cli import pretrain as pretrain_cli
from gkmvlp.train import decoder_phase
from gkmvlp.train.batches import build_tensors, read_split
from gkmvlp.train.checkpoint import load_blob, load_model
from gkmvlp.train.config import ConfigError, resolve


@pytest.fixture(scope="module")
def pretrained(data, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("pre")
    pretrain_cli.main(["--config", config_file(tmp), "--data", str(data), "--out", str(tmp / "run")])
    return tmp / "run"


def finetune(data, tmp_path, pretrained, out, **over):  # noqa: F811
    finetune_cli.main(
        [
            "--config",
            config_file(tmp_path, steps=2, **over),
            "--data",
            str(data),
            "--out",
            str(out),
            "--init-from",
            str(pretrained),
        ]
    )
    return load_blob(out)


def test_decoder_phase_trains_only_the_decoder(data, tmp_path, pretrained):  # noqa: F811
    joint = finetune(data, tmp_path, pretrained, tmp_path / "joint")
    phased = finetune(data, tmp_path, pretrained, tmp_path / "phased", decoder_steps=4)
    assert joint["step"] == 2 and phased["step"] == 6
    changed = {k for k, v in joint["model"].items() if not torch.equal(v, phased["model"][k])}
    assert changed and all(k.startswith("decoder.") for k in changed), sorted(changed)
    rows = [h for h in phased["history"] if h.get("phase") == "decoder"]
    assert [h["step"] for h in rows] == [3, 4, 5, 6] and all(h["lm"] > 0 for h in rows)


def test_decoder_steps_lower_the_report_loss_on_the_cached_memory(data, tmp_path, pretrained):  # noqa: F811
    model, tok, answers, _ = load_model(pretrained)
    cfg = resolve(
        {
            "stage": "finetune",
            "data": str(data),
            "out": str(tmp_path),
            "init_from": str(pretrained),
            "decoder_steps": 30,
            "decoder_batch_size": 8,
            "decoder_lr": 3e-3,
            "steps": 1,
            "log_every": 10,
            "ckpt_every": 1000,
            "model": {"size": "tiny"},
        }
    )
    ts = build_tensors(data, read_split(data, "train"), model.cfg, tok, answers, "train")
    subset = np.arange(len(ts))
    cache = decoder_phase.cache_memory(model, ts, subset)
    rows = torch.from_numpy(subset)

    def loss():
        with torch.no_grad():
            return float(decoder_phase.decoder_lm_loss(model, cache, ts, rows, rows, told_share=1.0))

    before = loss()
    opt = decoder_phase.make_decoder_optimizer(model, cfg)
    end = decoder_phase.run_decoder_phase(
        model, cfg, ts, subset, cfg.steps, opt, np.random.default_rng(0), [], save=lambda at: None
    )
    assert end == 31 and loss() < 0.8 * before
    assert all(p.requires_grad for p in model.parameters())  # the image side is frozen only during the phase


def test_resume_inside_the_decoder_phase_matches_an_uninterrupted_run(data, tmp_path, pretrained, monkeypatch):  # noqa: F811
    whole = finetune(data, tmp_path, pretrained, tmp_path / "whole", decoder_steps=4)
    calls = {"n": 0}
    real = decoder_phase.decoder_lm_loss

    def dies_on_the_third_step(*a, **k):  # after the checkpoint at step 4 (2 joint + 2 decoder steps)
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(decoder_phase, "decoder_lm_loss", dies_on_the_third_step)
    with pytest.raises(SystemExit):
        finetune(data, tmp_path, pretrained, tmp_path / "resumed", decoder_steps=4)
    assert load_blob(tmp_path / "resumed")["step"] == 4
    assert "decoder_optimizer" in load_blob(tmp_path / "resumed")["extra"]
    monkeypatch.setattr(decoder_phase, "decoder_lm_loss", real)
    resumed = finetune(data, tmp_path, pretrained, tmp_path / "resumed", decoder_steps=4)
    assert resumed["step"] == 6
    for k, v in whole["model"].items():
        assert torch.allclose(v.float(), resumed["model"][k].float(), atol=1e-5), k


def test_bad_decoder_phase_settings_are_listed(tmp_path):
    with pytest.raises(ConfigError) as e:
        resolve(
            {
                "stage": "pretrain",
                "data": "d",
                "out": "o",
                "decoder_steps": -1,
                "decoder_told": 2.0,
                "decoder_lr": 0,
                "decoder_batch_size": 0,
            }
        )
    msg = str(e.value)
    for field in ("decoder_steps", "decoder_told", "decoder_lr", "decoder_batch_size"):
        assert field in msg, field
    json.dumps(msg)
