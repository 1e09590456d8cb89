"""Training / evaluation CLIs on a tiny generated set: resume, malformed input, end to end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gkmvlp.cli import evaluate as evaluate_cli
from gkmvlp.cli import finetune as finetune_cli
from gkmvlp.cli import pretrain as pretrain_cli
from gkmvlp.train.checkpoint import load_blob

MICRO = {
    "size": "tiny",
    "image_size": 64,
    "dim": 32,
    "heads": 2,
    "vit_depth": 1,
    "text_layers": 1,
    "gk_layers": 1,
    "fusion_layers": 1,
    "decoder_layers": 1,
    "max_length": 48,
    "num_answers": 16,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from gkmvlp.data.synthetic import GeneratorConfig, generate_dataset

    out = tmp_path_factory.mktemp("data") / "synth"
    return generate_dataset(
        GeneratorConfig(image_size=64), out, {"train": 12, "val": 6, "test": 6}, seed=3, dicom_subset=0, progress=False
    )


def config_file(tmp_path, **over):
    cfg = {
        "model": dict(MICRO),
        "batch_size": 4,
        "steps": 3,
        "warmup_steps": 1,
        "teacher_forcing_steps": 2,
        "log_every": 1,
        "ckpt_every": 2,
        "vocab_size": 400,
        **over,
    }
    p = tmp_path / f"cfg{len(list(tmp_path.glob('cfg*')))}.json"
    p.write_text(json.dumps(cfg))
    return str(p)


def test_pretrain_resume_continues_step_count_and_matches_uninterrupted_run(data, tmp_path, capsys):
    from gkmvlp.train.config import resolve
    from gkmvlp.train.loop import run

    a, b = tmp_path / "a", tmp_path / "b"
    pretrain_cli.main(["--config", config_file(tmp_path, steps=4), "--data", str(data), "--out", str(a)])

    def crash(step, row):  # dies after step 3, i.e. after the step-2 checkpoint
        if step == 3:
            raise KeyboardInterrupt

    cfg = resolve({**json.loads(Path(config_file(tmp_path, steps=4)).read_text()), "data": str(data), "out": str(b)})
    with pytest.raises(KeyboardInterrupt):
        run(cfg, on_step=crash)
    assert load_blob(b)["step"] == 2 and (b / "config.json").is_file()
    pretrain_cli.main(["--config", config_file(tmp_path, steps=4), "--data", str(data), "--out", str(b)])
    assert "resumed from" in capsys.readouterr().out and (b / "curves.png").is_file()
    blob_a, blob_b = load_blob(a), load_blob(b)
    assert blob_b["step"] == 4 and [h["step"] for h in blob_b["history"]] == [1, 2, 3, 4]
    for k, v in blob_a["model"].items():
        assert torch.allclose(v.float(), blob_b["model"][k].float(), atol=1e-5), k
    saved = json.loads((b / "config.json").read_text())
    assert saved["model"]["dim"] == 32 and saved["steps"] == 4 and saved["model"]["vocab_size"] < 400


def test_finetune_then_evaluate_writes_metrics(data, tmp_path):
    pre = tmp_path / "pre"
    pretrain_cli.main(["--config", config_file(tmp_path), "--data", str(data), "--out", str(pre)])
    ft = tmp_path / "ft"
    finetune_cli.main(
        [
            "--config",
            config_file(tmp_path, steps=2),
            "--data",
            str(data),
            "--out",
            str(ft),
            "--init-from",
            str(pre),
            "--label-fraction",
            "0.5",
        ]
    )
    blob = load_blob(ft)
    assert blob["config"]["stage"] == "finetune" and blob["config"]["loss"]["itc"] == 0.0
    ev = tmp_path / "ev"
    evaluate_cli.main(["--checkpoint", str(ft), "--data", str(data), "--out", str(ev)])
    m = json.loads((ev / "metrics.json").read_text())
    for key in (
        "auc_macro",
        "zero_shot_auc_macro",
        "localization_mean_iou",
        "pointing_game",
        "bleu4",
        "rougeL",
        "ce_f1",
        "vqa_closed_acc",
        "vqa_open_acc",
        "thresholds",
        "heatmap_threshold",
    ):
        assert key in m
    assert (ev / "roc.png").is_file() and (ev / "roc_zero_shot.png").is_file()


def run_cli(module, *args):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )


def test_malformed_config_is_rejected_listing_every_problem(tmp_path, data):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": {"size": "tiny", "dimm": 8, "heads": "x"}, "stepz": 3, "lr": "fast"}))
    r = run_cli("gkmvlp.cli.pretrain", "--config", str(bad), "--data", str(data), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    for word in ("dimm", "heads", "stepz", "lr"):
        assert word in r.stderr
    bad.write_text("{not json")
    r = run_cli("gkmvlp.cli.pretrain", "--config", str(bad), "--data", str(data), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "not valid JSON" in r.stderr


def test_missing_files_give_clear_errors(tmp_path, data):
    r = run_cli("gkmvlp.cli.pretrain", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "no dataset.json" in r.stderr
    r = run_cli("gkmvlp.cli.finetune", "--data", str(data), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "init_from" in r.stderr
    r = run_cli(
        "gkmvlp.cli.evaluate",
        "--checkpoint",
        str(tmp_path / "none.pt"),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "e"),
    )
    assert r.returncode == 2 and "checkpoint not found" in r.stderr
    r = run_cli("gkmvlp.cli.export", "--checkpoint", str(tmp_path / "none.pt"), "--out", str(tmp_path / "b"))
    assert r.returncode == 2 and "checkpoint not found" in r.stderr and not (tmp_path / "b").exists()
