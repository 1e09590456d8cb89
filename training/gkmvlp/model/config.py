"""Model configuration (dataclass), presets tiny/small/base, and strict loading from JSON.

The resolved config is saved beside every checkpoint and copied into the bundle manifest, so a
config is always plain JSON-able data. Unknown keys and wrong types are rejected with a message
that names every problem (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..ontology import LABELS, REGIONS


class ConfigError(ValueError):
    """A config file or dict is malformed; the message lists every problem found."""


@dataclass
class LossWeights:
    itc: float = 1.0
    itm: float = 0.5
    lm: float = 1.0
    ecls: float = 1.0
    ground: float = 0.5
    mask: float = 1.0
    box: float = 1.0
    vqa: float = 0.5
    evidence: float = 1.0
    anatomy: float = 0.0


@dataclass
class ModelConfig:
    size: str = "tiny"
    image_size: int = 128
    patch_size: int = 16
    conv_stem: bool = True  # hybrid ViT: conv stages make the patch grid; trains far faster on small data
    channels: int = 1
    dim: int = 96
    vit_depth: int = 3
    heads: int = 4
    mlp_ratio: float = 2.0
    text_layers: int = 2
    gk_layers: int = 1
    fusion_layers: int = 1
    decoder_layers: int = 2
    dropout: float = 0.0
    vocab_size: int = 1000
    max_length: int = 96
    question_max_length: int = 24
    knowledge_max_length: int = 24
    num_labels: int = len(LABELS)
    num_regions: int = len(REGIONS)
    num_answers: int = 32
    roi_output: int = 2
    gk_module: bool = True
    evidence_head: bool = True  # per-finding patch evidence, densely supervised; feeds the knowledge tokens
    heatmap_subcells: int = 1  # heatmap cells per patch side: each patch token decodes s x s sub-cells
    anatomy_head: bool = False  # lung / heart / clavicle masks from the patch tokens (learned on real masks)
    anatomy_subcells: int = 4  # anatomy mask cells per patch side
    mean: float = 0.5
    std: float = 0.25

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def heat_grid(self) -> int:
        """Heatmap (and mask target) cells per side: the patch grid refined by `heatmap_subcells`."""
        return self.grid * self.heatmap_subcells

    @property
    def num_patches(self) -> int:
        return self.grid * self.grid

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    def validate(self) -> list[str]:
        errs = []
        if self.conv_stem and (self.patch_size < 4 or self.patch_size & (self.patch_size - 1)):
            errs.append(f"conv_stem needs a power-of-two patch_size >= 4, got {self.patch_size}")
        if self.image_size % self.patch_size:
            errs.append(f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}")
        if self.dim % self.heads:
            errs.append(f"dim {self.dim} is not divisible by heads {self.heads}")
        if not 1 <= self.anatomy_subcells <= self.patch_size or self.patch_size % self.anatomy_subcells:
            errs.append(f"anatomy_subcells must divide patch_size {self.patch_size}, got {self.anatomy_subcells}")
        if not 1 <= self.heatmap_subcells <= self.patch_size or self.patch_size % self.heatmap_subcells:
            errs.append(f"heatmap_subcells must divide patch_size {self.patch_size}, got {self.heatmap_subcells}")
        for name in (
            "image_size",
            "patch_size",
            "dim",
            "vit_depth",
            "heads",
            "text_layers",
            "decoder_layers",
            "vocab_size",
            "max_length",
            "num_answers",
        ):
            if getattr(self, name) <= 0:
                errs.append(f"{name} must be > 0")
        if self.num_labels != len(LABELS) or self.num_regions != len(REGIONS):
            errs.append("num_labels/num_regions must match gkmvlp.ontology")
        if self.std <= 0:
            errs.append("std must be > 0")
        return errs


PRESETS: dict[str, dict[str, Any]] = {
    # tiny: trains in minutes on 2 CPU cores (the smoke test); 128 px, 8x8 patch grid, 16x16 heatmaps.
    "tiny": dict(
        size="tiny",
        image_size=128,
        patch_size=16,
        dim=96,
        vit_depth=3,
        heads=4,
        max_length=128,
        mlp_ratio=2.0,
        text_layers=2,
        gk_layers=1,
        fusion_layers=1,
        decoder_layers=2,
        heatmap_subcells=2,
    ),
    # small: the CPU reference bundle (about an hour of training on 2 cores); 128 px like tiny, with
    # a wider and deeper ViT; 8x8 patch grid, 16x16 heatmaps.
    "small": dict(
        size="small",
        image_size=128,
        patch_size=16,
        dim=128,
        vit_depth=4,
        heads=4,
        max_length=128,
        mlp_ratio=2.0,
        text_layers=2,
        gk_layers=1,
        fusion_layers=1,
        decoder_layers=2,
        heatmap_subcells=2,
    ),
    "base": dict(
        size="base",
        image_size=224,
        patch_size=16,
        dim=384,
        vit_depth=8,
        heads=6,
        mlp_ratio=4.0,
        text_layers=4,
        gk_layers=2,
        fusion_layers=2,
        decoder_layers=3,
    ),
}


def preset(name: str, **overrides: Any) -> ModelConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown model size {name!r}; choose one of {sorted(PRESETS)}")
    return from_dict(ModelConfig, {**PRESETS[name], **overrides})


def _check_type(cls_name: str, f: dataclasses.Field, value: Any, errs: list[str]) -> Any:
    default = f.default if f.default is not dataclasses.MISSING else None
    kind = type(default) if default is not None else None
    if kind is bool:
        if not isinstance(value, bool):
            errs.append(f"{cls_name}.{f.name}: expected true/false, got {value!r}")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            errs.append(f"{cls_name}.{f.name}: expected an integer, got {value!r}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errs.append(f"{cls_name}.{f.name}: expected a number, got {value!r}")
        else:
            value = float(value)
    elif kind is str and not isinstance(value, str):
        errs.append(f"{cls_name}.{f.name}: expected a string, got {value!r}")
    return value


def from_dict(cls, data: Any, errs: list[str] | None = None, path: str = ""):
    """Build dataclass `cls` from a dict, rejecting unknown keys and wrong types (all at once)."""
    top = errs is None
    errs = [] if errs is None else errs
    name = path or cls.__name__
    if not isinstance(data, dict):
        errs.append(f"{name}: expected an object, got {type(data).__name__}")
        if top:
            raise ConfigError("invalid config:\n  " + "\n  ".join(errs))
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k in data:
        if k not in fields:
            errs.append(f"{name}: unknown key {k!r} (known: {', '.join(sorted(fields))})")
    kwargs = {}
    for k, f in fields.items():
        if k not in data:
            continue
        v = data[k]
        sub = f.type if isinstance(f.type, type) else _FIELD_TYPES.get((cls.__name__, k))
        if sub is not None and dataclasses.is_dataclass(sub):
            kwargs[k] = from_dict(sub, v, errs, f"{name}.{k}")
        else:
            kwargs[k] = _check_type(name, f, v, errs)
    obj = None
    if not errs:
        obj = cls(**kwargs)
        if hasattr(obj, "validate"):
            errs.extend(f"{name}: {e}" for e in obj.validate())
    if top and errs:
        raise ConfigError("invalid config:\n  " + "\n  ".join(errs))
    return obj


# String annotations (from __future__) need an explicit map for nested dataclasses.
_FIELD_TYPES: dict[tuple[str, str], type] = {}


def register_nested(owner: str, field_name: str, typ: type) -> None:
    _FIELD_TYPES[(owner, field_name)] = typ


def to_dict(obj) -> dict[str, Any]:
    return dataclasses.asdict(obj)


def load_json(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(f"config file {path} is not valid JSON: {e}") from e


__all__ = [
    "ModelConfig",
    "LossWeights",
    "PRESETS",
    "preset",
    "from_dict",
    "to_dict",
    "load_json",
    "ConfigError",
    "register_nested",
    "field",
]
