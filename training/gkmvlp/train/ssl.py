"""Self-supervised learning from real films during pre-training: two views of each film (exposure jitter and a small
zoom, shift and rotation) should embed closer to each other than to the other films of the batch (InfoNCE on the
ViT's global embedding, SimCLR-style, no projection head). Real films have no reports and few labels; this lets
pre-training learn from every one of them, before fine-tuning sees their labels.

Geometry changes here because nothing geometric is supervised on these views (no boxes, no masks); there is no
flip, so left stays left.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .augment import intensity_augment


def random_affine(pixels: Tensor, max_zoom: float = 0.15, max_shift: float = 0.08, max_deg: float = 5.0) -> Tensor:
    """Per film: zoom in by up to `max_zoom`, shift by up to `max_shift` of the side, rotate by up to `max_deg`
    degrees; what comes in from outside the film is the padding value (the minimum of the normalized range)."""
    b, dev = pixels.shape[0], pixels.device
    s = 1 - torch.rand(b, device=dev) * max_zoom
    a = (torch.rand(b, device=dev) * 2 - 1) * math.radians(max_deg)
    t = (torch.rand(b, 2, device=dev) * 2 - 1) * max_shift * 2  # affine_grid's coordinates span 2
    theta = torch.stack(
        [
            torch.stack([s * torch.cos(a), -s * torch.sin(a), t[:, 0]], 1),
            torch.stack([s * torch.sin(a), s * torch.cos(a), t[:, 1]], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(pixels.shape), align_corners=False)
    low = pixels.amin(dim=(1, 2, 3), keepdim=True)
    return F.grid_sample(pixels - low, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + low


def two_views(pixels: Tensor, mean: float, std: float) -> tuple[Tensor, Tensor]:
    return tuple(intensity_augment(random_affine(pixels), mean, std, 1.0) for _ in range(2))  # type: ignore[return-value]


def info_nce(z1: Tensor, z2: Tensor, temperature: float) -> Tensor:
    """Symmetric InfoNCE: film i's first view should pick its own second view among the batch's, and back."""
    z1, z2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    logits = z1 @ z2.t() / temperature
    target = torch.arange(len(z1), device=z1.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def ssl_loss(model, pixels: Tensor, temperature: float) -> Tensor:
    c = model.cfg
    v1, v2 = two_views(pixels, c.mean, c.std)
    g, _ = model.vision(torch.cat([v1, v2]))
    return info_nce(g[: len(pixels)], g[len(pixels) :], temperature)


__all__ = ["random_affine", "two_views", "info_nce", "ssl_loss"]
