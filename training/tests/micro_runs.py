"""Tiny training runs for the training tests: a micro synthetic set, and a two-step pre-training followed by a
fine-tune on it (each test gives the fine-tune's own settings)."""

from pathlib import Path
from typing import Any

from gkmvlp.data.synthetic import GeneratorConfig, generate_dataset
from gkmvlp.train.config import resolve
from gkmvlp.train.loop import run


def micro_synth(tmp_path: Path) -> Path:
    """8 training films at 64 px (4 val, 4 test), seed 3."""
    return generate_dataset(
        GeneratorConfig(image_size=64), tmp_path / "synth", {"train": 8, "val": 4, "test": 4}, seed=3,
        dicom_subset=0, progress=False,
    )  # fmt: skip


def micro_base(data: Path, model: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The TrainConfig fields every micro run shares (batch 4, one warm-up step, no teacher forcing)."""
    base = {"data": str(data), "model": model, "batch_size": 4, "warmup_steps": 1, "log_every": 1}
    return base | {"ckpt_every": 100, "vocab_size": 300, "teacher_forcing_steps": 0} | overrides


def pretrain_then_finetune(tmp_path: Path, base: dict[str, Any], real_corpus: Path, finetune: dict[str, Any]) -> Path:
    """Two pre-training steps (tmp_path/pre), then a fine-tune (tmp_path/ft) from them; both with `real_corpus`.
    Returns the fine-tune's checkpoint."""
    real = {"real_corpus": str(real_corpus)}
    pre = run(resolve({**base, **real, "stage": "pretrain", "out": str(tmp_path / "pre"), "steps": 2}))
    return run(
        resolve({**base, **real, "stage": "finetune", "out": str(tmp_path / "ft"), "init_from": str(pre)} | finetune)
    )
