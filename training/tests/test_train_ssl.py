"""Self-supervised pre-training on real films: the views differ but keep the film, InfoNCE rewards matching views,
and a pre-training run with the term learns from the corpus's films."""

import torch
from test_train_real_films import MICRO, corpus  # noqa: F401 (the corpus fixture)

from gkmvlp.train.config import TrainConfig, resolve
from gkmvlp.train.ssl import info_nce, random_affine, two_views


def test_two_views_of_a_film_differ_from_each_other_but_stay_close_to_it():
    torch.manual_seed(0)
    x = torch.randn(4, 1, 32, 32).cumsum(-1).cumsum(-2) / 20  # smooth "films"
    v1, v2 = two_views(x, 0.5, 0.25)
    assert v1.shape == x.shape and not torch.allclose(v1, v2)
    # each view is nearer its own film than the other films
    d = torch.cdist(v1.flatten(1), x.flatten(1))
    assert torch.equal(d.argmin(1), torch.arange(4))


def test_random_affine_pads_with_the_films_own_minimum():
    x = torch.full((2, 1, 16, 16), 3.0)
    x[:, :, 4:12, 4:12] = 5.0
    torch.manual_seed(1)
    y = random_affine(x, max_zoom=0.0, max_shift=0.3, max_deg=0.0)
    assert float(y.min()) >= 3.0 - 1e-5 and float(y.max()) <= 5.0 + 1e-5


def test_info_nce_is_low_when_views_match_and_high_when_they_do_not():
    torch.manual_seed(0)
    z = torch.randn(8, 16)
    matched = info_nce(z, z + 0.01 * torch.randn(8, 16), 0.2)
    shuffled = info_nce(z, z[torch.randperm(8)], 0.2)
    assert float(matched) < 0.1 < float(shuffled)


def test_the_ssl_term_is_refused_outside_pretraining_or_without_real_films():
    errs = TrainConfig(data="d", out="o", stage="pretrain", real_ssl=1.0).validate()
    assert any("real_ssl needs" in e for e in errs)
    errs = TrainConfig(data="d", out="o", stage="finetune", init_from="x", real_corpus="c", real_ssl=1.0).validate()
    assert any("real_ssl needs" in e for e in errs)


def test_pretraining_with_the_ssl_term_logs_it_and_moves_the_vision_encoder(corpus, tmp_path):  # noqa: F811
    from micro_runs import micro_base, micro_synth

    from gkmvlp.train.loop import run

    base = micro_base(micro_synth(tmp_path), dict(MICRO), stage="pretrain", steps=3, real_corpus=str(corpus))
    blob = torch.load(run(resolve({**base, "out": str(tmp_path / "ssl"), "real_ssl": 1.0, "ssl_batch_size": 4})))
    assert all("ssl" in row and row["ssl"] > 0 for row in blob["history"])
    plain = torch.load(run(resolve({**base, "out": str(tmp_path / "plain")})))
    assert "ssl" not in plain["history"][0]
    k = "vision.pos"
    assert not torch.allclose(blob["model"][k], plain["model"][k])
