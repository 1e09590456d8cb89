"""Self-contained checkpoints: model + optimizer + step + RNG + config + tokenizer + answers.

Written atomically (tmp file + os.replace) with the resolved config as JSON beside it, so an
interrupted save never leaves a checkpoint that looks complete.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..model.config import ConfigError, ModelConfig, from_dict
from ..model.gkmvlp import GKMVLP
from ..tokenizer import WordPieceTokenizer

CKPT = "checkpoint.pt"


def rng_state(np_rng: np.random.Generator) -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np_rng.bit_generator.state, "python": random.getstate()}


def set_rng_state(state: dict[str, Any], np_rng: np.random.Generator) -> None:
    torch.set_rng_state(state["torch"])
    np_rng.bit_generator.state = state["numpy"]
    random.setstate(state["python"])


def save(
    path: str | Path,
    *,
    model: GKMVLP,
    optimizer,
    step: int,
    np_rng: np.random.Generator,
    config: dict[str, Any],
    tokenizer: WordPieceTokenizer,
    answers: list[str],
    history: list[dict[str, float]],
    extra: dict[str, Any] | None = None,
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "format": "gkmvlp-checkpoint-1",
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "step": step,
        "rng": rng_state(np_rng),
        "config": config,
        "model_config": config["model"],
        "vocab": tokenizer.vocab,
        "answers": answers,
        "history": history,
        "extra": extra or {},
    }
    return write_blob(path, blob)


def write_blob(path: Path, blob: dict[str, Any]) -> Path:
    """The checkpoint file, then its config.json beside it, each written to a temporary name and renamed."""
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)
    cfg_tmp = path.parent / "config.json.tmp"
    cfg_tmp.write_text(json.dumps(blob["config"], indent=2))
    os.replace(cfg_tmp, path.parent / "config.json")
    return path


def load_blob(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / CKPT
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        # our own files (rng states, configs beside the tensors): newer torch loads weights only by default
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise ValueError(f"cannot read checkpoint {path}: {e}") from e
    if not isinstance(blob, dict) or blob.get("format") != "gkmvlp-checkpoint-1":
        raise ValueError(f"{path} is not a GK-MVLP checkpoint")
    return blob


def save_for_inference(src: str | Path, dst: str | Path) -> Path:
    """A copy of a checkpoint without what only resuming needs (optimizer, RNG, epoch order): about a third of
    the size, for bringing a run back from a machine lent for minutes. It loads (load_model) and exports as before
    but cannot resume."""
    blob = load_blob(src)
    blob.update(optimizer=None, rng=None, extra={})
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(blob, dst)
    return dst


def load_model(path: str | Path) -> tuple[GKMVLP, WordPieceTokenizer, list[str], dict[str, Any]]:
    """Model (eval mode), tokenizer, answer vocabulary and the checkpoint blob."""
    blob = load_blob(path)
    try:
        cfg = from_dict(ModelConfig, blob["model_config"])
    except ConfigError as e:
        raise ValueError(f"checkpoint {path} has an invalid model config: {e}") from e
    tok = WordPieceTokenizer(blob["vocab"])
    model = GKMVLP.build(cfg, tok)
    model.load_state_dict(blob["model"])
    model.eval()
    return model, tok, list(blob["answers"]), blob
