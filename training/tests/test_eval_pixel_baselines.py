"""Pixel-statistic baselines: a film's darkness and grain as the score of a two-class task."""

import numpy as np
import pytest
from PIL import Image

from gkmvlp.eval.pixel_baselines import film_statistics, pixel_baselines


def write(path, level: float, grain: float, seed: int):
    rng = np.random.default_rng(seed)
    a = np.clip(level + grain * rng.standard_normal((300, 300)), 0, 1)
    Image.fromarray((a * 255).astype(np.uint8), "L").save(path)
    return path


def test_grain_and_darkness_each_separate_classes_that_differ_only_in_them(tmp_path):
    # positives: darker and grainier; negatives: brighter and smooth
    pos = [write(tmp_path / f"p{i}.png", 0.4, 0.15, i) for i in range(4)]
    neg = [write(tmp_path / f"n{i}.png", 0.6, 0.01, 10 + i) for i in range(4)]
    res = pixel_baselines(pos + neg, np.array([1] * 4 + [0] * 4))
    assert res == {"darker_film_auc": 1.0, "more_grain_auc": 1.0, "n": 8}
    flipped = pixel_baselines(pos + neg, np.array([0] * 4 + [1] * 4))
    assert flipped["darker_film_auc"] == 0.0 and flipped["more_grain_auc"] == 0.0


def test_statistics_are_on_the_grey_scale_and_one_class_gives_none(tmp_path):
    flat = write(tmp_path / "flat.png", 0.5, 0.0, 0)
    mean, grain = film_statistics(flat)
    assert mean == pytest.approx(127 / 255, abs=0.01) and grain == pytest.approx(0.0, abs=1e-6)
    assert pixel_baselines([flat], np.array([1])) is None
