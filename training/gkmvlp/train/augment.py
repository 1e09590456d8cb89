"""Intensity augmentation of a batch's films: exposure and processing differ between hospitals and detectors, the
anatomy does not move. Only intensities change (gamma, contrast, brightness), so every geometric target (region
boxes, anatomy grids, finding masks) stays valid and no flip confuses left with right."""

from __future__ import annotations

import torch
from torch import Tensor


def intensity_augment(pixels: Tensor, mean: float, std: float, strength: float, gen: torch.Generator | None = None):
    """pixels [B, 1, H, W] normalized as the model sees them; `strength` 1 draws per film a gamma in
    exp(±0.25), a contrast factor in 1 ± 0.15 about the film's mean, a brightness shift in ±0.05 (of the [0, 1]
    range); 0 returns the batch unchanged. The letterbox padding (exact zeros) stays zero."""
    if strength <= 0:
        return pixels
    b = pixels.shape[0]

    def u(scale: float) -> Tensor:
        return (torch.rand(b, 1, 1, 1, generator=gen, device=pixels.device) * 2 - 1) * scale * strength

    v = (pixels * std + mean).clamp(0, 1)
    pad = v == 0
    v = v.clamp_min(1e-6) ** torch.exp(u(0.25))
    m = v.mean(dim=(2, 3), keepdim=True)
    v = ((v - m) * (1 + u(0.15)) + m + u(0.05)).clamp(0, 1)
    v = v.masked_fill(pad, 0.0)
    return (v - mean) / std


__all__ = ["intensity_augment"]
