"""Resize the image encoder's learned positions to another patch grid (fine-tuning at a larger input size).

A ViT's positions are the only image weights tied to the input size: the conv stem, the blocks and every head work
on any grid. Interpolating the position grid bicubically is the usual way to fine-tune at a higher resolution than
the pre-training's (Dosovitskiy et al., 2021, section 3.2; Touvron et al., "Fixing the train-test resolution
discrepancy", 2019); the [CLS] position is kept as it is.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

POSITIONS_KEY = "vision.pos"


def resize_grid(pos: Tensor, grid: int) -> Tensor:
    """[1, 1 + g*g, D] -> [1, 1 + grid*grid, D]; unchanged when g == grid."""
    if pos.dim() != 3 or pos.shape[0] != 1:
        raise ValueError(f"positions must be [1, 1 + g*g, D], got {list(pos.shape)}")
    n = pos.shape[1] - 1
    g = math.isqrt(n)
    if g * g != n:
        raise ValueError(f"positions hold {n} patches, not a square grid")
    if g == grid:
        return pos
    cls, patches = pos[:, :1], pos[:, 1:]
    d = patches.shape[-1]
    img = patches.reshape(1, g, g, d).permute(0, 3, 1, 2).float()
    img = F.interpolate(img, size=(grid, grid), mode="bicubic", align_corners=False)
    patches = img.permute(0, 2, 3, 1).reshape(1, grid * grid, d).to(pos.dtype)
    return torch.cat([cls, patches], dim=1)


def resize_positions(state: dict[str, Tensor], grid: int) -> dict[str, Tensor]:
    """A copy of a model state dict whose image positions fit a `grid` x `grid` patch grid."""
    if POSITIONS_KEY not in state:
        return state
    out = dict(state)
    out[POSITIONS_KEY] = resize_grid(state[POSITIONS_KEY], grid)
    return out
