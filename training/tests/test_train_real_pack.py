"""A packed corpus (films preprocessed to one input size, lossy-coded) trains like the corpus it came from, and a
time-budgeted run fits its steps to the budget."""

import numpy as np
import pytest
import torch
from test_train_real_films import MICRO, corpus  # noqa: F401 (the corpus fixture)

from gkmvlp.model.config import preset
from gkmvlp.tokenizer import WordPieceTokenizer
from gkmvlp.train.batches import DataError
from gkmvlp.train.budget import BUDGET_PROBE_STEPS, BUDGET_WARMUP_STEPS, FULL_STEP_COST, fit_to_budget
from gkmvlp.train.config import TrainConfig
from gkmvlp.train.real_batches import build_real_tensors, read_corpus, real_pixels
from gkmvlp.train.real_pack import pack_corpus


def micro_cfg(**kw):
    sizes = {k: v for k, v in MICRO.items() if k != "size"} | kw
    return preset("tiny", **sizes, anatomy_head=True, anatomy_subcells=2)


def test_a_packed_corpus_gives_the_same_films_labels_boxes_and_anatomy(corpus, tmp_path):  # noqa: F811
    cfg = micro_cfg()
    info = pack_corpus(corpus, tmp_path / "pack", cfg, ("train",))
    assert info["films"] == 5 and info["mean_abs_error"] < 0.03  # f5 (lateral) and the test films stay out
    tok = WordPieceTokenizer.train(["is there pneumonia", "is this chest x ray normal"], vocab_size=200)
    a = build_real_tensors(corpus, read_corpus(corpus, "train"), cfg, tok, ["yes", "no"])
    b = build_real_tensors(tmp_path / "pack", read_corpus(tmp_path / "pack", "train"), cfg, tok, ["yes", "no"])
    assert a.ids == b.ids and a.qa_text == b.qa_text
    for k in ("labels", "label_known", "region_boxes", "region_visible", "anatomy_known"):
        assert torch.equal(a.arrays[k], b.arrays[k]), k
    assert torch.allclose(a.arrays["anatomy_masks"], b.arrays["anatomy_masks"], atol=1 / 255)
    # pixels differ by the lossy coding only (noise films are its worst case; real films code far closer)
    diff = (a.arrays["pixel_values"] - b.arrays["pixel_values"]).abs() * cfg.std
    assert float(diff.mean()) < 0.03 and float(diff.max()) < 0.5


def test_the_pixels_alone_are_the_pixels_of_the_full_tensors_packed_or_not(corpus, tmp_path):  # noqa: F811
    cfg = micro_cfg()
    pack_corpus(corpus, tmp_path / "pack", cfg, ("train",))
    tok = WordPieceTokenizer.train(["is there pneumonia"], vocab_size=200)
    for root in (corpus, tmp_path / "pack"):
        rows = read_corpus(root, "train")
        full = build_real_tensors(root, rows, cfg, tok, ["yes", "no"]).arrays["pixel_values"]
        alone = real_pixels(root, rows, cfg)
        assert alone.dtype == torch.float32 and torch.equal(alone, full), root
    with pytest.raises(DataError, match="not in the packed corpus"):
        real_pixels(tmp_path / "pack", [{"id": "no-such-film"}], cfg)


def test_a_pack_made_for_another_input_size_is_refused_with_the_reason(corpus, tmp_path):  # noqa: F811
    pack_corpus(corpus, tmp_path / "pack", micro_cfg(), ("train",))
    other = micro_cfg(image_size=32)
    tok = WordPieceTokenizer.train(["is there pneumonia"], vocab_size=100)
    with pytest.raises(DataError, match="image_size: 64.*image_size: 32"):
        build_real_tensors(tmp_path / "pack", read_corpus(tmp_path / "pack", "train"), other, tok, ["yes", "no"])


def test_the_time_budget_shrinks_steps_and_keeps_the_image_only_share():
    cfg = TrainConfig(data="d", out="o", steps=1000, image_only_steps=500, time_budget_s=100.0)
    cfg_full = TrainConfig(data="d", out="o", steps=1000, image_only_steps=0, time_budget_s=100.0)
    # 50 steps done in 12.5 s, then 0.25 s a step: 350 more fit
    fitted = fit_to_budget(cfg_full, 50, 12.5, 0.25)
    assert fitted.steps == 400 and fitted.image_only_steps == 0
    # measured on image-only steps: a full step is counted FULL_STEP_COST of them
    fitted = fit_to_budget(cfg, 50, 12.5, 0.25)
    assert fitted.steps == 50 + int(87.5 / (0.25 * (0.5 + 0.5 * FULL_STEP_COST)))
    assert fitted.image_only_steps == round(fitted.steps / 2)
    # never more steps than asked, never fewer than one more
    assert fit_to_budget(cfg, 50, 1.0, 0.001).steps == 1000
    assert fit_to_budget(cfg, 50, 200.0, 0.25).steps == 51


def test_bad_device_and_budget_are_listed_as_config_problems():
    errs = TrainConfig(data="d", out="o", device="tpu", time_budget_s=-1).validate()
    assert any("device must be" in e for e in errs) and any("time_budget_s" in e for e in errs)
    assert not TrainConfig(data="d", out="o", device="cuda:1").validate()


def test_a_time_budgeted_finetune_on_a_packed_corpus_stops_early_and_records_its_steps(corpus, tmp_path):  # noqa: F811
    from micro_runs import micro_base, micro_synth, pretrain_then_finetune

    model = {**MICRO, "anatomy_head": True, "anatomy_subcells": 2}
    base = micro_base(micro_synth(tmp_path), model, log_every=10, ckpt_every=1000)
    pack = tmp_path / "pack"
    pack_corpus(corpus, pack, micro_cfg(), ("train",))
    ft = pretrain_then_finetune(tmp_path, base, pack, {"steps": 100_000, "time_budget_s": 3.0})
    blob = torch.load(ft, map_location="cpu")
    assert BUDGET_WARMUP_STEPS + BUDGET_PROBE_STEPS < blob["step"] < 100_000
    assert blob["config"]["steps"] == blob["step"]
    assert np.isfinite(blob["history"][-1]["total"])


def test_intensity_augmentation_changes_exposure_per_film_but_not_the_padding_or_the_anatomy():
    from gkmvlp.train.augment import intensity_augment

    mean, std = 0.5, 0.25
    v = torch.zeros(6, 1, 16, 16)
    v[:, :, :, 4:12] = torch.linspace(0.1, 0.9, 16)[None, None, :, None]  # a film between two letterbox bars
    x = (v - mean) / std
    assert torch.equal(intensity_augment(x, mean, std, 0.0), x)
    torch.manual_seed(0)
    y = intensity_augment(x, mean, std, 1.0) * std + mean
    assert torch.all(y[:, :, :, :4] == 0) and torch.all(y[:, :, :, 12:] == 0)  # padding stays black
    assert y.min() >= 0 and y.max() <= 1
    # each film gets its own exposure, and brighter stays brighter within a film (the structure does not move)
    assert len({round(float(f.mean()), 4) for f in y}) == 6
    col = y[:, 0, :, 8]
    assert torch.all(col[:, 1:] >= col[:, :-1])


def test_a_checkpoint_saved_for_inference_is_smaller_and_scores_the_same(corpus, tmp_path):  # noqa: F811
    from micro_model import micro_model

    from gkmvlp.eval.val_scores import head_probs
    from gkmvlp.train import checkpoint as ck
    from gkmvlp.train.loop import make_optimizer

    model, tok = micro_model()
    opt = make_optimizer(model, TrainConfig(data="d", out="o"))
    loss = sum(p.sum() for p in model.parameters())
    loss.backward()
    opt.step()  # an optimizer with state, as a real run's
    cfg = {"model": {k: getattr(model.cfg, k) for k in model.cfg.__dataclass_fields__}, "steps": 1}
    full = ck.save(
        tmp_path / "full.pt", model=model, optimizer=opt, step=1, np_rng=np.random.default_rng(0), config=cfg,
        tokenizer=tok, answers=["yes", "no"], history=[],
    )  # fmt: skip
    small = ck.save_for_inference(full, tmp_path / "small.pt")
    assert small.stat().st_size < 0.6 * full.stat().st_size
    rows = read_corpus(corpus, "train")
    a, _ = head_probs(full, corpus, rows)
    b, _ = head_probs(small, corpus, rows)
    assert a.shape == (5, len(b[0])) and np.array_equal(a, b)
