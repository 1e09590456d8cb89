"""Training run configuration (pretrain / finetune), loaded strictly from JSON + CLI overrides."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..model.config import PRESETS, ConfigError, LossWeights, ModelConfig, from_dict, preset, register_nested, to_dict


@dataclass
class TrainConfig:
    stage: str = "pretrain"  # "pretrain" | "finetune"
    data: str = ""  # dataset folder (docs/contracts/synthetic-dataset.md)
    out: str = ""  # run folder: checkpoint.pt, config.json, history.json, PNGs
    init_from: str = ""  # finetune: checkpoint to start from (its tokenizer + answers)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossWeights = field(default_factory=LossWeights)
    steps: int = 300
    batch_size: int = 16
    lr: float = 1e-3
    min_lr_frac: float = 0.05
    weight_decay: float = 0.05
    warmup_steps: int = 30
    grad_clip: float = 1.0
    teacher_forcing_steps: int = 100  # RoIAlign on ground-truth region boxes for the first N steps
    image_only_steps: int = 0  # first N steps train only the image-side objectives (cheaper, see loop.py)
    label_fraction: float = 1.0  # finetune: fraction of labelled training images used
    # finetune: train at this input size instead of the pre-training's (0 = keep it); the learned positions are
    # resized to the new patch grid (model/positions.py), every other weight is size-free
    finetune_image_size: int = 0
    decoder_steps: int = 0  # then N report-decoder-only steps on cached image memory (decoder_phase.py)
    decoder_batch_size: int = 32
    decoder_lr: float = 1e-3
    decoder_told: float = 0.5  # share of reports the decoder sees with the true finding presence
    real_corpus: str = ""  # assembled real films (gkmvlp.cli.assemble_real); "" = synthetic only
    real_share: float = 0.5  # finetune: share of training draws that are real films
    # finetune: positives of a label weigh sqrt(negatives / positives) among the real training films, capped here
    # (1 = unweighted); NIH's rarer findings have a few dozen positives among thousands of films
    real_pos_weight_max: float = 1.0
    # finetune: a real film of a source (its id prefix, e.g. "nih") is drawn this many times as often as the
    # others (default 1); the NIH originals at full resolution are outnumbered 9:1 by 128 px NIH thumbnails
    real_source_weights: dict = field(default_factory=dict)
    max_train: int = 0  # 0 = all training records
    max_eval: int = 0  # 0 = all val/test records
    vocab_size: int = 1000
    threads: int = 1  # torch threads; >1 thrashes on a shared 2-core machine
    device: str = "cpu"  # "cpu" or "cuda[:N]"; tensor sets stay on the CPU, each batch moves
    # > 0: after the first steps, shrink `steps` (and image_only_steps in proportion) so that the joint phase ends
    # within this many seconds; for a machine lent for minutes. The chosen steps are saved in the checkpoint's config.
    time_budget_s: float = 0.0
    # pretrain: weight of a self-supervised term on the real corpus's training films (ssl.py; two views of each film,
    # InfoNCE on the global embedding), ssl_batch_size films a step; 0 = off
    real_ssl: float = 0.0
    ssl_batch_size: int = 16
    ssl_temperature: float = 0.2
    intensity_aug: float = 0.0  # strength of per-film gamma / contrast / brightness jitter (augment.py); 0 = off
    seed: int = 0
    log_every: int = 10
    ckpt_every: int = 100

    def validate(self) -> list[str]:
        errs = []
        if self.stage not in ("pretrain", "finetune"):
            errs.append(f"stage must be 'pretrain' or 'finetune', got {self.stage!r}")
        if not self.data:
            errs.append("data (dataset folder) is required")
        if not self.out:
            errs.append("out (run folder) is required")
        if self.stage == "finetune" and not self.init_from:
            errs.append("finetune needs init_from (a pretrain checkpoint)")
        if not 0.0 < self.label_fraction <= 1.0:
            errs.append(f"label_fraction must be in (0, 1], got {self.label_fraction}")
        if not 0 <= self.image_only_steps < self.steps:
            errs.append(f"image_only_steps must be in [0, steps), got {self.image_only_steps}")
        if self.finetune_image_size and (self.stage != "finetune" or self.finetune_image_size < 0):
            errs.append(f"finetune_image_size is for stage 'finetune', > 0; got {self.finetune_image_size}")
        if self.decoder_steps < 0:
            errs.append(f"decoder_steps must be >= 0, got {self.decoder_steps}")
        if not 0.0 <= self.decoder_told <= 1.0:
            errs.append(f"decoder_told must be in [0, 1], got {self.decoder_told}")
        if self.real_pos_weight_max < 1.0:
            errs.append(f"real_pos_weight_max must be >= 1, got {self.real_pos_weight_max}")
        for k, v in self.real_source_weights.items():
            if not isinstance(v, (int, float)) or v <= 0:
                errs.append(f"real_source_weights[{k!r}] must be a number > 0, got {v!r}")
        if not 0.0 <= self.real_share < 1.0:
            errs.append(f"real_share must be in [0, 1), got {self.real_share}")
        if self.decoder_lr <= 0:
            errs.append("decoder_lr must be > 0")
        for name in ("steps", "batch_size", "threads", "decoder_batch_size"):
            if getattr(self, name) <= 0:
                errs.append(f"{name} must be > 0")
        if self.lr <= 0:
            errs.append("lr must be > 0")
        if not (self.device == "cpu" or self.device == "cuda" or self.device.startswith("cuda:")):
            errs.append(f"device must be 'cpu' or 'cuda[:N]', got {self.device!r}")
        if self.real_ssl < 0:
            errs.append(f"real_ssl must be >= 0, got {self.real_ssl}")
        if self.real_ssl and (self.stage != "pretrain" or not self.real_corpus):
            errs.append("real_ssl needs stage 'pretrain' and a real_corpus")
        if self.ssl_batch_size < 2 or self.ssl_temperature <= 0:
            errs.append("ssl_batch_size must be >= 2 and ssl_temperature > 0")
        if not 0.0 <= self.intensity_aug <= 2.0:
            errs.append(f"intensity_aug must be in [0, 2], got {self.intensity_aug}")
        if self.time_budget_s < 0:
            errs.append(f"time_budget_s must be >= 0, got {self.time_budget_s}")
        return errs


def warmup_cosine(s: int, warmup: int, length: int, min_frac: float) -> float:
    """LR factor at step `s` of a schedule of `length` steps: linear warmup, then cosine to `min_frac`."""
    if s < warmup:
        return (s + 1) / max(1, warmup)
    p = (s - warmup) / max(1, length - warmup)
    return min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


register_nested("TrainConfig", "model", ModelConfig)
register_nested("TrainConfig", "loss", LossWeights)

FINETUNE_LOSS = dict(itc=0.0, itm=0.0, lm=0.5, ecls=1.0, ground=0.2, mask=0.5, box=0.2, vqa=1.0)


def resolve(data: dict[str, Any]) -> TrainConfig:
    """Dict (from JSON/CLI) -> TrainConfig. `model.size` picks a preset that other model keys override."""
    data = dict(data)
    model = dict(data.get("model") or {})
    size = model.get("size", "tiny")
    if not isinstance(size, str) or size not in PRESETS:
        raise ConfigError(f"invalid config:\n  model.size: unknown size {size!r} (choose {sorted(PRESETS)})")
    data["model"] = {**to_dict(preset(size)), **model}
    if data.get("stage") == "finetune":
        data["loss"] = {**FINETUNE_LOSS, **(data.get("loss") or {})}
    return from_dict(TrainConfig, data)


__all__ = ["TrainConfig", "resolve", "ConfigError", "to_dict"]
