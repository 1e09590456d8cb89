"""Image encoder (ViT), region head + RoI features, text encoder, GK module."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torchvision.ops import roi_align

from .config import ModelConfig
from .layers import Block, box_cxcywh_to_xyxy, padding_bias


class VisionEncoder(nn.Module):
    """ViT on 1-channel input: conv patchify, [CLS] + learned positions, pre-norm blocks."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.conv_stem:
            # Hybrid ViT (Dosovitskiy et al., 2021): a small conv stem (stride-2 stages of two 3x3
            # convs + BatchNorm) produces the patch grid. Measured here: a plain linear patchify
            # learned nothing in 300 CPU steps, the conv body alone learned cardiomegaly / devices.
            stages = int(math.log2(cfg.patch_size))
            chans = [max(8, cfg.dim // 4), max(16, cfg.dim // 2)] + [cfg.dim] * max(0, stages - 2)
            layers, c_in = [], cfg.channels
            for c in chans[:stages]:
                layers += [
                    nn.Conv2d(c_in, c, 3, 2, 1, bias=False),
                    nn.BatchNorm2d(c),
                    nn.GELU(),
                    nn.Conv2d(c, c, 3, 1, 1, bias=False),
                    nn.BatchNorm2d(c),
                    nn.GELU(),
                ]
                c_in = c
            layers.append(nn.Conv2d(c_in, cfg.dim, 1))
            self.patch = nn.Sequential(*layers)
        else:
            self.patch = nn.Conv2d(cfg.channels, cfg.dim, cfg.patch_size, cfg.patch_size)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos = nn.Parameter(torch.randn(1, 1 + cfg.num_patches, cfg.dim) * 0.02)
        self.blocks = nn.ModuleList(Block(cfg.dim, cfg.heads, cfg.mlp_ratio, cfg.dropout) for _ in range(cfg.vit_depth))
        self.norm = nn.LayerNorm(cfg.dim)

    def forward(self, pixels: Tensor) -> tuple[Tensor, Tensor]:
        x = self.patch(pixels).flatten(2).transpose(1, 2)  # [B,N,D]
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        for blk in self.blocks:
            x, _ = blk(x)
        x = self.norm(x)
        return x[:, 0], x[:, 1:]


class RegionHead(nn.Module):
    """29 learned region queries attend to the patches and regress normalized xyxy boxes.

    Region features are RoIAligned from the patch grid with the boxes: predicted boxes at
    inference, ground-truth boxes when the trainer asks for teacher forcing (early training).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.queries = nn.Parameter(torch.randn(cfg.num_regions, cfg.dim) * 0.02)
        self.block = Block(cfg.dim, cfg.heads, cfg.mlp_ratio, cfg.dropout, cross=True)
        self.box = nn.Sequential(nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, cfg.dim), nn.GELU(), nn.Linear(cfg.dim, 4))
        self.feat = nn.Linear(cfg.dim, cfg.dim)
        self.region_emb = nn.Parameter(torch.randn(cfg.num_regions, cfg.dim) * 0.02)
        self.norm = nn.LayerNorm(cfg.dim)

    def predict_boxes(self, patches: Tensor) -> Tensor:
        q = self.queries[None].expand(patches.shape[0], -1, -1)
        q, _ = self.block(q, mem=patches)
        b = torch.sigmoid(self.box(q))  # cx, cy, w, h in 0..1
        return box_cxcywh_to_xyxy(b).clamp(0.0, 1.0)

    def features(self, patches: Tensor, boxes: Tensor) -> Tensor:
        b, n, d = patches.shape
        g = self.cfg.grid
        fmap = patches.transpose(1, 2).reshape(b, d, g, g)
        r = boxes.shape[1]
        # batch index per RoI, written with expand/reshape so the exported batch dim stays dynamic
        idx = torch.arange(b, device=boxes.device)[:, None].expand(b, r).reshape(-1, 1).to(boxes.dtype)
        rois = torch.cat([idx, boxes.reshape(b * r, 4) * g], dim=1)
        o = self.cfg.roi_output
        pooled = roi_align(
            fmap, rois, output_size=(o, o), spatial_scale=1.0, sampling_ratio=2, aligned=True
        )  # [B*R, D, o, o]
        pooled = pooled.mean(dim=(2, 3)).reshape(b, r, d)
        return self.norm(self.feat(pooled) + self.region_emb)


class TextEncoder(nn.Module):
    """BERT-style encoder; token 0 ([CLS]) is the sentence embedding."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        max_pos = max(cfg.max_length, cfg.question_max_length, cfg.knowledge_max_length)
        self.tok = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.pos = nn.Parameter(torch.randn(1, max_pos, cfg.dim) * 0.02)
        self.emb_norm = nn.LayerNorm(cfg.dim)
        self.blocks = nn.ModuleList(
            Block(cfg.dim, cfg.heads, cfg.mlp_ratio, cfg.dropout) for _ in range(cfg.text_layers)
        )
        self.norm = nn.LayerNorm(cfg.dim)

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        x = self.emb_norm(self.tok(ids) + self.pos[:, : ids.shape[1]])
        bias = padding_bias(mask)
        for blk in self.blocks:
            x, _ = blk(x, bias=bias)
        return self.norm(x)


class GKModule(nn.Module):
    """Grounded knowledge module: 14 entity queries (initialised from the encoded knowledge
    sentences) attend to region tokens + the global token in a transformer decoder.

    Returns knowledge_tokens [B,14,D] and grounding_weights [B,14,29] (last layer's cross-attention
    over the regions, head-averaged, renormalised over regions so rows sum to 1). With
    `enabled=False` (ablation) the queries only self-attend and the weights are uniform.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.enabled = cfg.gk_module
        self.label_emb = nn.Parameter(torch.randn(cfg.num_labels, cfg.dim) * 0.02)
        self.init_proj = nn.Linear(cfg.dim, cfg.dim)
        self.layers = nn.ModuleList(
            Block(cfg.dim, cfg.heads, cfg.mlp_ratio, cfg.dropout, cross=self.enabled)
            for _ in range(max(1, cfg.gk_layers))
        )
        self.norm = nn.LayerNorm(cfg.dim)

    def forward(self, knowledge_emb: Tensor, region_tokens: Tensor, global_emb: Tensor):
        b, r = region_tokens.shape[0], region_tokens.shape[1]
        q = (self.init_proj(knowledge_emb) + self.label_emb)[None].expand(b, -1, -1)
        mem = torch.cat([region_tokens, global_emb[:, None]], dim=1) if self.enabled else None
        cw: Tensor | None = None
        for layer in self.layers:
            q, cw = layer(q, mem=mem)
        q = self.norm(q)
        if self.enabled and cw is not None:
            w = cw.mean(dim=1)[:, :, :r]
            w = w / w.sum(dim=-1, keepdim=True).clamp(min=1e-9)
        else:
            # built from q so the batch dimension stays symbolic in the exported graph
            w = torch.zeros_like(q[..., :1]).expand(-1, -1, r) + 1.0 / r
        return q, w
