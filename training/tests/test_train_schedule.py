"""The learning-rate schedule and the image-only curriculum."""

import pytest

from gkmvlp.model.config import ConfigError
from gkmvlp.train.config import TrainConfig, resolve
from gkmvlp.train.loop import lr_factor


def test_schedule_warms_up_then_decays_to_the_floor():
    c = TrainConfig(data="d", out="o", steps=100, warmup_steps=10)
    f = [lr_factor(s, c) for s in range(100)]
    assert f[0] < f[5] < f[9] == 1.0
    assert all(a >= b for a, b in zip(f[10:], f[11:]))
    assert f[-1] == pytest.approx(c.min_lr_frac, abs=1e-3)


def test_text_phase_after_the_image_only_curriculum_gets_its_own_full_schedule():
    c = TrainConfig(data="d", out="o", steps=1000, warmup_steps=20, image_only_steps=600)
    assert lr_factor(599, c) == pytest.approx(c.min_lr_frac, abs=1e-3)  # end of the image-only phase
    assert lr_factor(600, c) < lr_factor(619, c) == 1.0  # warms up again
    assert lr_factor(999, c) == pytest.approx(c.min_lr_frac, abs=1e-3)


def test_image_only_steps_must_leave_steps_for_the_text_objectives():
    with pytest.raises(ConfigError, match="image_only_steps"):
        resolve({"data": "d", "out": "o", "steps": 100, "image_only_steps": 100})
