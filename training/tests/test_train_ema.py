"""Weight EMA over the joint phase (`ema_decay`): the average itself, and what the loop does with it."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from gkmvlp.train import decoder_phase
from gkmvlp.train.checkpoint import load_blob
from gkmvlp.train.config import ConfigError, resolve
from gkmvlp.train.ema import WeightEMA
from gkmvlp.train.loop import run

from test_train_cli import config_file, data  # noqa: F401  (module-scoped tiny dataset)
from test_train_decoder_phase import pretrained  # noqa: F401


def test_ema_is_the_exponential_average_of_the_weights_with_a_warmed_up_decay():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    ema = WeightEMA(model, decay=0.9)
    expect = {k: v.clone() for k, v in model.state_dict().items()}
    for n in range(1, 6):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        ema.update(model)
        d = min(0.9, (1 + n) / (10 + n))
        expect = {k: d * expect[k] + (1 - d) * v for k, v in model.state_dict().items()}
    target = nn.Linear(3, 2)
    ema.copy_to(target)
    for k, v in target.state_dict().items():
        assert torch.allclose(v, expect[k], atol=1e-6), k
        assert not torch.allclose(v, model.state_dict()[k]), k  # the average, not the last weights


def finetune_cfg(data, tmp_path, pretrained, out, **over):  # noqa: F811
    raw = json.loads(Path(config_file(tmp_path, steps=4, **over)).read_text())
    return resolve({**raw, "stage": "finetune", "data": str(data), "out": str(out), "init_from": str(pretrained)})


def test_finetune_ends_on_the_average_and_a_resume_anywhere_gives_the_same_weights(data, tmp_path, pretrained,  # noqa: F811
                                                                                   monkeypatch):
    plain = load_blob(run(finetune_cfg(data, tmp_path, pretrained, tmp_path / "plain", decoder_steps=2)))
    whole = load_blob(run(finetune_cfg(data, tmp_path, pretrained, tmp_path / "whole", decoder_steps=2, ema_decay=0.5)))
    assert "ema" not in whole["extra"]  # applied at the end of the joint phase
    image_side = [k for k in whole["model"] if not k.startswith("decoder.")]
    assert any(not torch.equal(whole["model"][k], plain["model"][k]) for k in image_side)

    def crash(step, row):  # in the joint phase, after the step-2 checkpoint (which holds the EMA so far)
        if step == 3:
            raise KeyboardInterrupt

    cfg = finetune_cfg(data, tmp_path, pretrained, tmp_path / "resumed", decoder_steps=2, ema_decay=0.5)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, on_step=crash)
    mid = load_blob(tmp_path / "resumed")
    assert mid["step"] == 2 and mid["extra"]["ema"]["updates"] == 2

    real = decoder_phase.decoder_lm_loss
    calls = {"n": 0}

    def dies_in_the_decoder_phase(*a, **k):  # after the end-of-joint checkpoint, where the EMA is applied
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(decoder_phase, "decoder_lm_loss", dies_in_the_decoder_phase)
    with pytest.raises(KeyboardInterrupt):
        run(cfg)
    assert load_blob(tmp_path / "resumed")["step"] == 4 and "ema" not in load_blob(tmp_path / "resumed")["extra"]
    monkeypatch.setattr(decoder_phase, "decoder_lm_loss", real)
    resumed = load_blob(run(cfg))
    assert resumed["step"] == 6
    for k, v in whole["model"].items():
        assert torch.allclose(v.float(), resumed["model"][k].float(), atol=1e-5), k


def test_ema_decay_outside_zero_to_one_is_rejected():
    with pytest.raises(ConfigError, match="ema_decay"):
        resolve({"stage": "finetune", "data": "d", "out": "o", "init_from": "p", "ema_decay": 1.0})
