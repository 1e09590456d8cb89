"""Pre-training / fine-tuning objectives: ITC, ITM (hard negatives), LM, ECLS, grounding, mask,
box (L1 + GIoU), VQA. `compute_losses` returns every term and the weighted total.

Batch keys (tensors; see gkmvlp/train/batches.py): pixel_values [B,1,S,S], region_boxes [B,29,4]
(normalized xyxy), region_visible [B,29], labels [B,14], finding_regions [B,14,29] (ground-truth
regions of each present finding), finding_masks [B,14,g,g] (mask coverage per patch), report_ids /
report_mask [B,T], report_group [B] (equal = identical report text), question_ids / question_mask
[B,Q], answer_idx [B] (-1 = no question). Optional: label_known [B,14] (0 where a real film's source
says nothing about a label: masked out, never read as negative) and has_report [B] (0: no report).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..ontology import LABELS
from .config import LossWeights
from .gkmvlp import GKMVLP
from .layers import generalized_iou

NO_FINDING = LABELS.index("No Finding")
LUNG_OPACITY = LABELS.index("Lung Opacity")
# Lung Opacity is a parent label (CheXpert): where it is present, its children's masks are its map
OPACITY_CHILDREN = [LABELS.index(l) for l in ("Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis")]


def _soft_ce(logits: Tensor, target: Tensor) -> Tensor:
    return -(target * F.log_softmax(logits, dim=-1)).sum(-1).mean()


def itc_loss(img: Tensor, txt: Tensor, scale: Tensor, same: Tensor) -> tuple[Tensor, Tensor]:
    """Symmetric InfoNCE; identical reports (same=True) are positives too (no false negatives)."""
    sim = scale.exp().clamp(max=100.0) * img @ txt.t()
    tgt = same.float() / same.float().sum(1, keepdim=True)
    return (_soft_ce(sim, tgt) + _soft_ce(sim.t(), tgt.t())) / 2, sim


def pick_hard_negatives(sim: Tensor, same: Tensor) -> Tensor:
    """For each row, sample a column with probability softmax(sim) among non-matching columns."""
    w = torch.softmax(sim.detach().float(), dim=1).masked_fill(same, 0.0) + 1e-8
    w = w.masked_fill(same, 0.0)
    has = w.sum(1) > 0
    w[~has] = 1.0  # degenerate batch (all identical): fall back to any column
    return torch.multinomial(w, 1).squeeze(1)


def grounding_loss(weights: Tensor, labels: Tensor, regions: Tensor) -> Tensor:
    """-log attention mass that each present finding's query puts on its ground-truth regions."""
    sel = (labels > 0.5) & (regions.sum(-1) > 0)
    if not sel.any():
        return weights.sum() * 0.0
    mass = (weights * regions).sum(-1)[sel]
    return -torch.log(mass.clamp(min=1e-6)).mean()


def mask_loss(heat_logits: Tensor, masks: Tensor, labels: Tensor) -> Tensor:
    """Localization given presence: BCE on patch-coverage targets + soft Dice, on present findings only.

    The heatmap answers "where is finding k, if it is there"; presence is the classifier's job.
    Penalising the maps of absent findings as well (first version) drowned the few positive
    cells: after 280 CPU steps only cardiomegaly and edema had learned where to point.
    """
    pres = (labels > 0.5) & (masks.flatten(2).sum(-1) > 0)
    if not pres.any():
        return heat_logits.sum() * 0.0
    x, t = heat_logits[pres].flatten(1), masks[pres].flatten(1)
    bce = F.binary_cross_entropy_with_logits(x, t)
    p = torch.sigmoid(x)
    dice = 1 - (2 * (p * t).sum(-1) + 1) / (p.sum(-1) + t.sum(-1) + 1)
    return bce + dice.mean()


def masked_bce(logits: Tensor, labels: Tensor, known: Tensor | None, pos_weight: Tensor | None = None) -> Tensor:
    """BCE over the known entries only (all of them when `known` is None); `pos_weight` [L] weighs positives."""
    if known is None:
        return F.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight)
    per = F.binary_cross_entropy_with_logits(logits, labels, reduction="none", pos_weight=pos_weight) * known
    return per.sum() / known.sum().clamp(min=1.0)


def evidence_loss(maps: Tensor, pooled: Tensor, labels: Tensor, masks: Tensor, known: Tensor | None = None) -> Tensor:
    """Presence through the pooled evidence (BCE on labels) + dense BCE of every evidence map.

    Dense targets are the mask coverage scaled so the finding's best cell is 1 (small findings
    such as a nodule or a rib fracture cover a fraction of one cell). A map is supervised where
    its target is known: absent findings (all zeros) and present findings with a mask (Lung
    Opacity takes the union of its children's masks). "No Finding" has no map target.
    """
    cls = masked_bce(pooled, labels, known)
    cov = masks.flatten(2).clone()
    cov[:, LUNG_OPACITY] = torch.maximum(cov[:, LUNG_OPACITY], cov[:, OPACITY_CHILDREN].amax(1))
    peak = cov.amax(-1, keepdim=True)
    has = peak.squeeze(-1) > 0
    tgt = torch.where(has[..., None], cov / peak.clamp(min=1e-6), torch.zeros_like(cov))
    sel = ((labels > 0.5) & has) | (labels < 0.5)
    if known is not None:
        sel &= known > 0.5
    sel[:, NO_FINDING] = False
    if not sel.any():
        return cls
    dense = F.binary_cross_entropy_with_logits(maps.flatten(2), tgt, reduction="none").mean(-1)[sel].mean()
    return cls + dense


def anatomy_loss(logits: Tensor, target: Tensor, known: Tensor) -> Tensor:
    """BCE on mask coverage + soft Dice, over the structures a film's masks annotate."""
    sel = known > 0.5
    if not sel.any():
        return logits.sum() * 0.0
    x, t = logits[sel].flatten(1), target[sel].flatten(1)
    p = torch.sigmoid(x)
    dice = 1 - (2 * (p * t).sum(-1) + 1) / (p.sum(-1) + t.sum(-1) + 1)
    return F.binary_cross_entropy_with_logits(x, t) + dice.mean()


def box_loss(pred: Tensor, gt: Tensor, visible: Tensor) -> Tensor:
    v = visible > 0.5
    if not v.any():
        return pred.sum() * 0.0
    l1 = (pred - gt).abs().sum(-1)[v].mean()
    giou = generalized_iou(pred, gt)[v]
    return l1 + (1 - giou).mean()


def report_lm_loss(
    model: GKMVLP,
    out: dict[str, Tensor],
    labels: Tensor,
    ids: Tensor,
    mask: Tensor,
    told_share: float = 0.5,
    has_report: Tensor | None = None,
) -> Tensor:
    """Teacher-forced LM loss of the reports given the image side's outputs `out`.

    A share `told_share` of the reports is written from the true presence of each finding, so the
    decoder learns to follow the presence signal in the knowledge tokens rather than the most common
    report. `out` needs region_tokens and knowledge_tokens, and with an evidence head knowledge_base
    and evidence_logits (the joint step and the decoder phase's cache both provide them).
    """
    know = out["knowledge_tokens"]
    if model.evidence is not None:
        told = (torch.rand(know.shape[0], 1, device=know.device) < told_share).to(know.dtype)
        pres = told * labels + (1 - told) * torch.sigmoid(out["evidence_logits"])
        know = model.with_presence(out, pres)
    logits = model.decoder(ids[:, :-1], mask[:, :-1], model.memory(out["region_tokens"], know))
    tgt = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
    if has_report is not None:
        tgt = tgt.masked_fill(has_report[:, None] < 0.5, -100)
        if bool((tgt == -100).all()):
            return logits.sum() * 0.0
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)


def compute_losses(
    model: GKMVLP, batch: dict[str, Tensor], w: LossWeights, teacher_forcing: bool = False
) -> dict[str, Tensor]:
    out = model.encode_image(
        batch["pixel_values"],
        batch["region_boxes"] if teacher_forcing else None,
        batch["region_visible"] if teacher_forcing else None,
    )
    g, patches, know = out["global_embedding"], out["patch_tokens"], out["knowledge_tokens"]
    losses: dict[str, Tensor] = {}
    zero = g.sum() * 0.0

    losses["box"] = box_loss(out["region_boxes"], batch["region_boxes"], batch["region_visible"]) if w.box else zero
    known = batch.get("label_known")
    losses["ecls"] = (
        masked_bce(model.classify_logits(g, know), batch["labels"], known, batch.get("label_pos_weight"))
        if w.ecls
        else zero
    )
    losses["mask"] = (
        mask_loss(model.heatmap_logits(patches, know), batch["finding_masks"], batch["labels"]) if w.mask else zero
    )
    if w.evidence and model.evidence is not None:
        losses["evidence"] = evidence_loss(
            out["evidence_maps"], out["evidence_logits"], batch["labels"], batch["finding_masks"], known
        )
    else:
        losses["evidence"] = zero
    if w.anatomy and model.anatomy is not None and "anatomy_masks" in batch:
        losses["anatomy"] = anatomy_loss(model.anatomy(patches), batch["anatomy_masks"], batch["anatomy_known"])
    else:
        losses["anatomy"] = zero
    losses["ground"] = (
        grounding_loss(out["grounding_weights"], batch["labels"], batch["finding_regions"])
        if w.ground and model.cfg.gk_module
        else zero
    )

    need_text = w.itc or w.itm
    if need_text:
        group = batch["report_group"]
        same = group[:, None] == group[None, :]
        txt, t_tokens = model.text_embed(batch["report_ids"], batch["report_mask"])
        itc, sim = itc_loss(model.image_embed(g), txt, model.logit_scale, same)
        losses["itc"] = itc if w.itc else zero
        if w.itm:
            # half the batch as positives, a quarter each with a hard-negative report / image:
            # 1x the batch through the fusion encoder instead of BLIP's 3x (CPU budget)
            b = g.shape[0]
            h, q = max(1, b // 2), max(1, b // 4)
            pos = torch.randperm(b, device=g.device)[:h]
            neg_txt = pick_hard_negatives(sim, same)  # image i with a hard negative report
            neg_img = pick_hard_negatives(sim.t(), same)  # report j with a hard negative image
            ti = torch.randperm(b, device=g.device)[:q]
            ij = torch.randperm(b, device=g.device)[:q]
            txt_idx = torch.cat([pos, neg_txt[ti], ij])
            img_idx = torch.cat([pos, ti, neg_img[ij]])
            target = torch.cat([torch.ones(len(pos)), torch.zeros(2 * q)]).long().to(g.device)
            logits = model.itm_logits(t_tokens[txt_idx], batch["report_mask"][txt_idx], patches[img_idx], know[img_idx])
            losses["itm"] = F.cross_entropy(logits, target)
        else:
            losses["itm"] = zero
    else:
        losses["itc"] = losses["itm"] = zero

    if w.lm:
        losses["lm"] = report_lm_loss(
            model, out, batch["labels"], batch["report_ids"], batch["report_mask"], has_report=batch.get("has_report")
        )
    else:
        losses["lm"] = zero

    ans = batch.get("answer_idx")
    if w.vqa and ans is not None and (ans >= 0).any():
        logits, pointer = model.vqa_logits(
            batch["question_ids"], batch["question_mask"], patches, know, with_pointer=True
        )
        losses["vqa"] = F.cross_entropy(logits, ans, ignore_index=-1)
        q_label = batch.get("question_label")
        if q_label is not None and (q_label >= 0).any():
            # which finding the question names, where the data says (presence, side, region, severity)
            losses["vqa"] = losses["vqa"] + F.cross_entropy(pointer, q_label, ignore_index=-1)
    else:
        losses["vqa"] = zero

    total = sum(getattr(w, k) * v for k, v in losses.items())
    losses["total"] = total
    return losses


def weights_with(w: LossWeights, **over: float) -> LossWeights:
    d = dict(w.__dict__)
    d.update(over)
    return LossWeights(**d)
