"""Transformer building blocks written with explicit matmuls.

Why not nn.MultiheadAttention: we need (a) the cross-attention weights of the GK module
(grounding_weights), (b) an explicit self-attention KV cache for the exported report decoder step
graph, and (c) graphs that export identically on torch 1.13 and 2.x. Plain matmul/softmax does all
three.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NEG = -1e4  # additive mask value; finite so fp32 softmax never produces NaN on fully masked rows


def padding_bias(mask: Tensor | None) -> Tensor | None:
    """[B,S] 1=keep/0=pad -> additive bias [B,1,1,S]."""
    if mask is None:
        return None
    return (1.0 - mask.to(torch.float32))[:, None, None, :] * NEG


def causal_bias(t: int, device) -> Tensor:
    return torch.triu(torch.full((t, t), NEG, device=device), diagonal=1)[None, None]


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def split(self, x: Tensor) -> Tensor:  # [B,T,D] -> [B,H,T,hd]
        b, t, _ = x.shape
        return x.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)

    def merge(self, x: Tensor) -> Tensor:  # [B,H,T,hd] -> [B,T,D]
        b, h, t, d = x.shape
        return x.transpose(1, 2).reshape(b, t, h * d)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None):
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        if bias is not None:
            scores = scores + bias
        w = torch.softmax(scores, dim=-1)
        out = torch.matmul(self.drop(w), v)
        return self.o(self.merge(out)), w

    def forward(self, x: Tensor, mem: Tensor | None = None, bias: Tensor | None = None):
        src = x if mem is None else mem
        return self.attend(self.split(self.q(x)), self.split(self.k(src)), self.split(self.v(src)), bias)

    def forward_cached(self, x: Tensor, past_k: Tensor, past_v: Tensor):
        """Self-attention for new tokens x given cached K/V [B,H,P,hd]; returns out, K, V with P+T."""
        k = torch.cat([past_k, self.split(self.k(x))], dim=2)
        v = torch.cat([past_v, self.split(self.v(x))], dim=2)
        out, _ = self.attend(self.split(self.q(x)), k, v, None)
        return out, k, v


class MLP(nn.Module):
    def __init__(self, dim: int, ratio: float, dropout: float = 0.0):
        super().__init__()
        hidden = int(dim * ratio)
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.drop(F.gelu(self.fc1(x))))


class Block(nn.Module):
    """Pre-norm transformer block: self-attention, optional cross-attention, MLP."""

    def __init__(
        self, dim: int, heads: int, mlp_ratio: float, dropout: float = 0.0, cross: bool = False, self_attn: bool = True
    ):
        super().__init__()
        self.has_self = self_attn
        if self_attn:
            self.n1, self.attn = nn.LayerNorm(dim), Attention(dim, heads, dropout)
        self.cross = cross
        if cross:
            self.nc, self.cattn = nn.LayerNorm(dim), Attention(dim, heads, dropout)
        self.n2, self.mlp = nn.LayerNorm(dim), MLP(dim, mlp_ratio, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, bias: Tensor | None = None, mem: Tensor | None = None, mem_bias: Tensor | None = None):
        cw = None
        if self.has_self:
            a, _ = self.attn(self.n1(x), bias=bias)
            x = x + self.drop(a)
        if self.cross and mem is not None:
            a, cw = self.cattn(self.nc(x), mem=mem, bias=mem_bias)
            x = x + self.drop(a)
        x = x + self.drop(self.mlp(self.n2(x)))
        return x, cw

    def forward_cached(self, x: Tensor, past_k: Tensor, past_v: Tensor, mem: Tensor):
        a, k, v = self.attn.forward_cached(self.n1(x), past_k, past_v)
        x = x + a
        a, _ = self.cattn(self.nc(x), mem=mem)
        x = x + a
        x = x + self.mlp(self.n2(x))
        return x, k, v


def box_cxcywh_to_xyxy(b: Tensor) -> Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def generalized_iou(a: Tensor, b: Tensor) -> Tensor:
    """Element-wise GIoU of xyxy boxes [...,4]."""
    area_a = (a[..., 2] - a[..., 0]).clamp(min=0) * (a[..., 3] - a[..., 1]).clamp(min=0)
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_a + area_b - inter
    iou = inter / union.clamp(min=1e-6)
    lt_c = torch.minimum(a[..., :2], b[..., :2])
    rb_c = torch.maximum(a[..., 2:], b[..., 2:])
    area_c = (rb_c - lt_c).clamp(min=0).prod(-1)
    return iou - (area_c - union) / area_c.clamp(min=1e-6)
