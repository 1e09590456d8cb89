"""The `input_check` graph: is this a frontal chest radiograph, and how far is it from the films the
model learned from (docs/contracts/model-bundle.md, "Format version 2").

Both answers are fitted after training (gkmvlp.reliability.fit) and frozen into one small graph the
worker runs beside the heads, so Python and TypeScript cannot disagree on the arithmetic: the
golden vectors check it like every other graph.

- frontal_cxr_probability: logistic regression on the image embedding plus a coarse 8 x 8 layout
  thumbnail and a few intensity statistics of the model input. The layout is what tells a lateral
  view, a CT slice or a document from a frontal film even where the learned embedding (trained on
  chest films only) has never seen such inputs.
- ood_distance: Mahalanobis distance of the global embedding from the real training films
  (shrunk covariance), divided by sqrt(D) so that in-distribution films sit near 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

THUMB = 8
N_STATS = 6


def image_features(pixel_values: Tensor, mean: float, std: float) -> Tensor:
    """[B, THUMB*THUMB + N_STATS] from the normalized model input (values back in [0, 1] first)."""
    v = pixel_values * std + mean
    s = int(v.shape[-1])  # a Python int even while tracing: the graph has a fixed input size
    thumb = F.avg_pool2d(v, kernel_size=s // THUMB).flatten(1)
    flat = v.flatten(1)
    mu = flat.mean(-1, keepdim=True)
    sd = (flat - mu).pow(2).mean(-1, keepdim=True).sqrt()
    mirror = torch.flip(v, dims=[3]).flatten(1)
    # left-right symmetry: frontal films are roughly mirror-symmetric, laterals and documents are not
    sym = ((flat - mu) * (mirror - mu)).mean(-1, keepdim=True) / (sd * sd + 1e-6)
    dark = torch.sigmoid((0.08 - flat) * 60.0).mean(-1, keepdim=True)
    bright = torch.sigmoid((flat - 0.92) * 60.0).mean(-1, keepdim=True)
    # centre column against the side columns (the mediastinum is brighter than the lungs)
    w = s // 4
    centre = v[..., w + w // 2 : 3 * w - w // 2].mean((1, 2, 3))[:, None]
    sides = 0.5 * (v[..., :w].mean((1, 2, 3)) + v[..., -w:].mean((1, 2, 3)))[:, None]
    return torch.cat([thumb, mu, sd, sym, dark, bright, centre - sides], dim=-1)


class InputCheck(nn.Module):
    def __init__(self, dim: int, mean: float, std: float):
        super().__init__()
        self.mean, self.std = float(mean), float(std)
        k = THUMB * THUMB + N_STATS
        self.register_buffer("emb_mu", torch.zeros(dim))
        self.register_buffer("emb_whiten", torch.eye(dim))  # d^2 = |W (e - mu)|^2
        self.register_buffer("feat_mu", torch.zeros(dim + k))  # logistic features standardized first
        self.register_buffer("feat_sd", torch.ones(dim + k))
        self.register_buffer("w", torch.zeros(dim + k))
        self.register_buffer("b", torch.zeros(()))

    def forward(self, pixel_values: Tensor, global_embedding: Tensor) -> tuple[Tensor, Tensor]:
        return self.score(image_features(pixel_values, self.mean, self.std), global_embedding)

    def score(self, img_features: Tensor, global_embedding: Tensor) -> tuple[Tensor, Tensor]:
        """forward() from image_features() already computed (the fit keeps those, not every film's pixels)."""
        feats = joined_features(img_features, global_embedding)
        z = (feats - self.feat_mu) / self.feat_sd
        frontal = torch.sigmoid(z @ self.w + self.b)
        centred = global_embedding - self.emb_mu
        d2 = (centred @ self.emb_whiten.t()).pow(2).sum(-1)
        ood = torch.sqrt(d2 / global_embedding.shape[-1] + 1e-12)
        return frontal, ood


def joined_features(img_features: Tensor, global_embedding: Tensor) -> Tensor:
    """The frontal classifier's input: the embedding, then the image features (the fit standardises this layout)."""
    return torch.cat([global_embedding, img_features], dim=-1)


__all__ = ["InputCheck", "image_features", "joined_features", "THUMB", "N_STATS"]
