"""Fine-tuning at a larger input size than the pre-training's, and choosing a trial arm on validation figures."""

import json

import pytest
import torch

from gkmvlp.cli import choose_arm as choose_cli
from gkmvlp.cli import finetune as finetune_cli
from gkmvlp.cli import pretrain as pretrain_cli
from gkmvlp.model.positions import resize_grid, resize_positions
from gkmvlp.train.checkpoint import load_blob
from tests.test_train_cli import config_file, data  # noqa: F401  (the module's synthetic set fixture)


def test_resized_positions_keep_cls_and_reproduce_a_smooth_grid():
    g, d = 4, 3
    yy, xx = torch.meshgrid(torch.linspace(0, 1, g), torch.linspace(0, 1, g), indexing="ij")
    grid = torch.stack([xx, yy, xx + yy], -1).reshape(1, g * g, d)  # a linear ramp: bicubic keeps its order
    pos = torch.cat([torch.full((1, 1, d), 7.0), grid], 1)
    out = resize_grid(pos, 6)
    assert out.shape == (1, 37, d)
    assert torch.equal(out[:, 0], pos[:, 0])
    ramp = out[0, 1:, 0].reshape(6, 6)
    assert torch.all(ramp[:, 1:] > ramp[:, :-1])  # still increasing left to right
    assert resize_grid(pos, g) is pos


def test_resize_refuses_positions_that_are_not_a_square_grid():
    with pytest.raises(ValueError, match="square grid"):
        resize_grid(torch.zeros(1, 1 + 6, 4), 3)
    state = {"other": torch.zeros(2)}
    assert resize_positions(state, 5) is state


def test_finetune_at_a_larger_size_starts_from_the_pretrained_weights(data, tmp_path):  # noqa: F811
    pre = tmp_path / "pre"
    pretrain_cli.main(["--config", config_file(tmp_path), "--data", str(data), "--out", str(pre)])
    ft = tmp_path / "ft"
    finetune_cli.main(
        ["--config", config_file(tmp_path, steps=1), "--data", str(data), "--out", str(ft), "--init-from", str(pre)]
        + ["--image-size", "96", "--lr", "1e-9"]
    )
    before, after = load_blob(pre), load_blob(ft)
    assert before["model_config"]["image_size"] == 64 and after["model_config"]["image_size"] == 96
    assert after["model"]["vision.pos"].shape[1] == 1 + 6 * 6
    expected = resize_grid(before["model"]["vision.pos"], 6)
    assert torch.allclose(after["model"]["vision.pos"], expected, atol=1e-5)  # lr ~0: one step barely moves it
    w = next(k for k in before["model"] if k.startswith("vision.blocks.0.") and k.endswith("weight"))
    assert torch.allclose(after["model"][w], before["model"][w], atol=1e-5)


def test_finetune_size_that_does_not_fit_the_patch_grid_is_refused(data, tmp_path):  # noqa: F811
    pre = tmp_path / "pre"
    pretrain_cli.main(["--config", config_file(tmp_path, steps=1), "--data", str(data), "--out", str(pre)])
    with pytest.raises(SystemExit):
        finetune_cli.main(
            ["--config", config_file(tmp_path), "--data", str(data), "--out", str(tmp_path / "ft")]
            + ["--init-from", str(pre), "--image-size", "100"]
        )


def arm(name, pneumonia, macro):
    return {"checkpoint": name, "pneumonia_vs_normal_nih": pneumonia, "nih_macro_auc": macro}


def test_arm_with_best_validation_pneumonia_is_chosen_when_its_macro_holds():
    chosen, why = choose_cli.choose([arm("a", 0.80, 0.700), arm("b", 0.85, 0.692)])
    assert chosen["checkpoint"] == "b" and "pneumonia" in why


def test_arm_whose_macro_falls_more_than_the_slack_behind_loses_to_the_best_macro():
    chosen, _ = choose_cli.choose([arm("a", 0.80, 0.72), arm("b", 0.85, 0.70), arm("c", 0.79, 0.73)])
    assert chosen["checkpoint"] == "c"


def test_choose_arm_cli_prints_the_checkpoint_and_skips_log_lines(tmp_path, capsys):
    f = tmp_path / "val.jsonl"
    f.write_text("[log] scoring\n" + "\n".join(json.dumps(a) for a in [arm("x", 0.7, 0.7), arm("y", 0.6, 0.7)]))
    choose_cli.main([str(f)])
    assert capsys.readouterr().out.strip() == "x"
    with pytest.raises(ValueError, match="no arm"):
        choose_cli.choose([arm("z", None, 0.7)])
