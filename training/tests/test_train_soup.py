"""Weight averaging of fine-tunes: the soup is the parameter-wise mean, loads like any checkpoint, and refuses
ingredients that are not the same model."""

import numpy as np
import pytest
import torch
from micro_model import ANSWERS, micro_model

from gkmvlp.model.config import to_dict
from gkmvlp.train import checkpoint as ck
from gkmvlp.train.soup import SoupError, average_state, make_soup


def saved(tmp_path, name, seed, **sizes):
    model, tok = micro_model(**sizes)
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    cfg = {"model": to_dict(model.cfg), "steps": 7}
    return ck.save(
        tmp_path / name / ck.CKPT,
        model=model,
        optimizer=None,
        step=7,
        np_rng=np.random.default_rng(0),
        config=cfg,
        tokenizer=tok,
        answers=ANSWERS,
        history=[{"step": 7, "total": 1.0}],
    )


def test_the_soup_is_the_mean_of_its_ingredients_and_loads_as_a_model(tmp_path):
    a, b = saved(tmp_path, "a", 1), saved(tmp_path, "b", 2)
    dst = make_soup([a.parent, b], tmp_path / "soup")
    model, _, answers, blob = ck.load_model(dst)
    sa, sb = ck.load_blob(a)["model"], ck.load_blob(b)["model"]
    for k, t in model.state_dict().items():
        if t.is_floating_point():
            torch.testing.assert_close(t, (sa[k] + sb[k]) / 2)
    assert answers == ANSWERS and blob["step"] == 7 and blob["optimizer"] is None
    assert [p.endswith(n) for p, n in zip(blob["extra"]["soup_of"], ["a", "checkpoint.pt"], strict=True)] == [True] * 2
    # it differs from both ingredients: averaging really happened
    some = next(k for k, t in sa.items() if t.is_floating_point() and t.numel() > 10)
    assert not torch.equal(model.state_dict()[some], sa[some])


def test_integer_buffers_take_the_largest_value_not_a_truncated_mean():
    out = average_state([{"n": torch.tensor(3), "w": torch.ones(2)}, {"n": torch.tensor(8), "w": torch.zeros(2)}])
    assert int(out["n"]) == 8 and out["w"].tolist() == [0.5, 0.5]


def test_a_different_model_or_a_single_ingredient_is_refused_with_the_reason(tmp_path):
    a, wide = saved(tmp_path, "a", 1), saved(tmp_path, "wide", 2, dim=48)
    with pytest.raises(SoupError, match="model config differs"):
        make_soup([a, wide], tmp_path / "soup")
    with pytest.raises(SoupError, match="at least two"):
        make_soup([a], tmp_path / "soup")
    assert not (tmp_path / "soup" / ck.CKPT).exists()
