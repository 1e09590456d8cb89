"""The GK-MVLP model: encoders, GK module, heads, and the image-side forward used by export."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..tokenizer import WordPieceTokenizer
from .config import ModelConfig
from .encoders import GKModule, RegionHead, TextEncoder, VisionEncoder
from .heads import AnatomyHead, ClassificationHead, EvidenceHead, Fusion, LocalizationHead, ReportDecoder, refine
from .knowledge import knowledge_sentences


class GKMVLP(nn.Module):
    def __init__(self, cfg: ModelConfig, knowledge_ids: Tensor | None = None, knowledge_mask: Tensor | None = None):
        super().__init__()
        errs = cfg.validate()
        if errs:
            raise ValueError("invalid model config: " + "; ".join(errs))
        self.cfg = cfg
        self.vision = VisionEncoder(cfg)
        self.regions = RegionHead(cfg)
        self.text = TextEncoder(cfg)
        self.gk = GKModule(cfg)
        self.cls_head = ClassificationHead(cfg)
        self.evidence = EvidenceHead(cfg) if cfg.evidence_head else None
        # added to knowledge token k in proportion to the evidence that finding k is present, so the
        # classifier, the report decoder and VQA all read one grounded presence signal
        self.presence = nn.Parameter(torch.randn(cfg.num_labels, cfg.dim) * 0.3) if cfg.evidence_head else None
        self.loc_head = LocalizationHead(cfg)
        self.anatomy = AnatomyHead(cfg) if cfg.anatomy_head else None
        self.fusion = Fusion(cfg)
        self.itm_head = nn.Linear(cfg.dim, 2)
        # the answer MLP sees the fused question, a summary of the knowledge tokens, and what a pointer
        # from the question to one finding reads: that finding's knowledge token and its pooled
        # evidence logit. Without the pointer the head answered "is there X?" worse than the
        # classifier's own thresholded output did (smoke run: 0.72 against 0.79 on closed questions).
        self.vqa_know = nn.Linear(cfg.num_labels * cfg.dim, cfg.dim)
        self.vqa_query = nn.Linear(cfg.dim, cfg.dim)
        self.vqa_keys = nn.Parameter(torch.randn(cfg.num_labels, cfg.dim) * 0.02)
        self.vqa_head = nn.Sequential(
            nn.Linear(3 * cfg.dim + 1, cfg.dim), nn.GELU(), nn.Linear(cfg.dim, cfg.num_answers)
        )
        self.decoder = ReportDecoder(cfg)
        self.img_proj = nn.Linear(cfg.dim, cfg.dim)
        self.txt_proj = nn.Linear(cfg.dim, cfg.dim)
        self.logit_scale = nn.Parameter(torch.tensor(2.659))  # log(1/0.07), CLIP's init
        k = cfg.knowledge_max_length
        self.register_buffer(
            "knowledge_ids",
            knowledge_ids if knowledge_ids is not None else torch.zeros(cfg.num_labels, k, dtype=torch.long),
        )
        self.register_buffer(
            "knowledge_mask",
            knowledge_mask if knowledge_mask is not None else torch.ones(cfg.num_labels, k, dtype=torch.long),
        )

    @classmethod
    def build(cls, cfg: ModelConfig, tokenizer: WordPieceTokenizer) -> GKMVLP:
        if tokenizer.vocab_size > cfg.vocab_size:
            raise ValueError(f"tokenizer has {tokenizer.vocab_size} tokens > cfg.vocab_size {cfg.vocab_size}")
        ids, mask = tokenizer.encode_batch(knowledge_sentences(), cfg.knowledge_max_length)
        return cls(cfg, torch.from_numpy(ids), torch.from_numpy(mask))

    # ----- image side (the exported image_encoder graph) ---------------------------------------
    def knowledge_embeddings(self) -> Tensor:
        return self.text(self.knowledge_ids, self.knowledge_mask)[:, 0]  # [14,D]

    def encode_image(
        self, pixels: Tensor, gt_boxes: Tensor | None = None, gt_visible: Tensor | None = None
    ) -> dict[str, Tensor]:
        return self.encode_with(pixels, self.knowledge_embeddings(), gt_boxes, gt_visible)

    def encode_with(
        self, pixels: Tensor, knowledge_emb: Tensor, gt_boxes: Tensor | None = None, gt_visible: Tensor | None = None
    ) -> dict[str, Tensor]:
        """The image side given the encoded knowledge sentences (a constant in the exported graph)."""
        global_emb, patches = self.vision(pixels)
        boxes = self.regions.predict_boxes(patches)
        feat_boxes = boxes
        if gt_boxes is not None:  # teacher forcing: RoIAlign on ground-truth boxes where visible
            vis = gt_visible[..., None].to(boxes.dtype) if gt_visible is not None else 1.0
            feat_boxes = gt_boxes * vis + boxes.detach() * (1 - vis)
        region_tokens = self.regions.features(patches, feat_boxes)
        knowledge, weights = self.gk(knowledge_emb, region_tokens, global_emb)
        out = dict(
            global_embedding=global_emb,
            patch_tokens=patches,
            region_boxes=boxes,
            region_tokens=region_tokens,
            grounding_weights=weights,
        )
        if self.evidence is not None:
            maps = self.evidence.maps(patches)
            pooled = self.evidence.pooled(maps)
            out.update(evidence_maps=maps, evidence_logits=pooled, knowledge_base=knowledge)
            knowledge = knowledge + torch.sigmoid(pooled)[..., None] * self.presence
        out["knowledge_tokens"] = knowledge
        return out

    def with_presence(self, out: dict[str, Tensor], presence: Tensor) -> Tensor:
        """Knowledge tokens as if the evidence said `presence` [B,14] (teacher forcing for the decoder)."""
        if self.evidence is None:
            return out["knowledge_tokens"]
        return out["knowledge_base"] + presence[..., None] * self.presence

    # ----- heads ---------------------------------------------------------------------------------
    def classify_logits(self, global_emb: Tensor, knowledge: Tensor) -> Tensor:
        return self.cls_head(global_emb, knowledge)

    def heatmap_logits(self, patches: Tensor, knowledge: Tensor) -> Tensor:
        h = refine(self.loc_head(patches, knowledge), self.cfg.heatmap_subcells)
        return h if self.evidence is None else h + self.evidence.maps(patches)

    def image_tokens(self, patches: Tensor, knowledge: Tensor) -> Tensor:
        return torch.cat([patches, knowledge], dim=1)

    def vqa_pointer(self, q_cls: Tensor) -> Tensor:
        """Logits [B,14] of which finding a question is about, from the question alone."""
        return self.vqa_query(q_cls) @ self.vqa_keys.t() / math.sqrt(self.cfg.dim)

    def vqa_logits(self, q_ids: Tensor, q_mask: Tensor, patches: Tensor, knowledge: Tensor, with_pointer: bool = False):
        q = self.text(q_ids, q_mask)
        fused = self.fusion(q, q_mask, self.image_tokens(patches, knowledge))
        summary = self.vqa_know(knowledge.reshape(knowledge.shape[0], -1))
        pointer = self.vqa_pointer(q[:, 0])
        attn = torch.softmax(pointer, dim=-1)
        read = torch.einsum("bk,bkd->bd", attn, knowledge)
        if self.evidence is not None:
            presence = (attn * self.evidence.pooled(self.evidence.maps(patches))).sum(-1, keepdim=True)
        else:
            presence = torch.zeros_like(read[:, :1])
        logits = self.vqa_head(torch.cat([fused, summary, read, presence], dim=-1))
        return (logits, pointer) if with_pointer else logits

    def itm_logits(self, t_tokens: Tensor, t_mask: Tensor, patches: Tensor, knowledge: Tensor) -> Tensor:
        return self.itm_head(self.fusion(t_tokens, t_mask, self.image_tokens(patches, knowledge)))

    @staticmethod
    def memory(region_tokens: Tensor, knowledge: Tensor) -> Tensor:
        return torch.cat([region_tokens, knowledge], dim=1)

    def image_embed(self, global_emb: Tensor) -> Tensor:
        return F.normalize(self.img_proj(global_emb), dim=-1)

    def text_embed(self, ids: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        tokens = self.text(ids, mask)
        return F.normalize(self.txt_proj(tokens[:, 0]), dim=-1), tokens
