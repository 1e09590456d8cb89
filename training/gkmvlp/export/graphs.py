"""The five exported graphs as thin nn.Modules over a trained GKMVLP, plus their I/O specs.

Each wrapper's forward signature is exactly the contract's graph signature
(docs/contracts/model-bundle.md, "graphs"); the knowledge-sentence embeddings are computed once
and baked into the image encoder as a constant (they do not depend on the image).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..model.gkmvlp import GKMVLP


class ImageEncoderGraph(nn.Module):
    def __init__(self, model: GKMVLP):
        super().__init__()
        self.m = model
        with torch.no_grad():
            self.register_buffer("knowledge_emb", model.knowledge_embeddings().detach().clone())

    def forward(self, pixel_values: Tensor):
        o = self.m.encode_with(pixel_values, self.knowledge_emb)
        return (
            o["global_embedding"],
            o["patch_tokens"],
            o["region_boxes"],
            o["region_tokens"],
            o["knowledge_tokens"],
            o["grounding_weights"],
        )


class ClassificationGraph(nn.Module):
    def __init__(self, model: GKMVLP):
        super().__init__()
        self.m = model

    def forward(self, global_embedding: Tensor, knowledge_tokens: Tensor):
        return torch.sigmoid(self.m.classify_logits(global_embedding, knowledge_tokens))


class LocalizationGraph(nn.Module):
    def __init__(self, model: GKMVLP):
        super().__init__()
        self.m = model

    def forward(self, patch_tokens: Tensor, knowledge_tokens: Tensor):
        return torch.sigmoid(self.m.heatmap_logits(patch_tokens, knowledge_tokens))


class DecoderStepGraph(nn.Module):
    def __init__(self, model: GKMVLP):
        super().__init__()
        self.m = model

    def forward(self, token_ids: Tensor, position: Tensor, memory: Tensor, past_keys: Tensor, past_values: Tensor):
        return self.m.decoder.step(token_ids, position, memory, past_keys, past_values)


class VQAGraph(nn.Module):
    def __init__(self, model: GKMVLP):
        super().__init__()
        self.m = model

    def forward(self, question_ids: Tensor, question_mask: Tensor, patch_tokens: Tensor, knowledge_tokens: Tensor):
        return self.m.vqa_logits(question_ids, question_mask, patch_tokens, knowledge_tokens)


class AnatomyGraph(nn.Module):
    def __init__(self, model: GKMVLP):
        super().__init__()
        self.m = model

    def forward(self, patch_tokens: Tensor):
        return torch.sigmoid(self.m.anatomy(patch_tokens))


def specs(model: GKMVLP) -> dict[str, dict]:
    """Graph name -> file, inputs/outputs (name, dtype, shape with symbolic dims), dynamic axes."""
    c = model.cfg
    d, s, n, r, k, g = c.dim, c.image_size, c.num_patches, c.num_regions, c.num_labels, c.heat_grid
    L, H, hd, M = c.decoder_layers, c.heads, c.head_dim, c.num_regions + c.num_labels
    f32, i64 = "float32", "int64"

    def io(name, dtype, shape):
        return {"name": name, "dtype": dtype, "shape": shape}

    out = {
        "image_encoder": {
            "file": "image_encoder.onnx",
            "module": ImageEncoderGraph,
            "inputs": [io("pixel_values", f32, ["batch", 1, s, s])],
            "outputs": [
                io("global_embedding", f32, ["batch", d]),
                io("patch_tokens", f32, ["batch", n, d]),
                io("region_boxes", f32, ["batch", r, 4]),
                io("region_tokens", f32, ["batch", r, d]),
                io("knowledge_tokens", f32, ["batch", k, d]),
                io("grounding_weights", f32, ["batch", k, r]),
            ],
        },
        "classification_head": {
            "file": "classification_head.onnx",
            "module": ClassificationGraph,
            "inputs": [io("global_embedding", f32, ["batch", d]), io("knowledge_tokens", f32, ["batch", k, d])],
            "outputs": [io("probabilities", f32, ["batch", k])],
        },
        "localization_head": {
            "file": "localization_head.onnx",
            "module": LocalizationGraph,
            "inputs": [io("patch_tokens", f32, ["batch", n, d]), io("knowledge_tokens", f32, ["batch", k, d])],
            "outputs": [io("heatmaps", f32, ["batch", k, g, g])],
        },
        "report_decoder_step": {
            "file": "report_decoder_step.onnx",
            "module": DecoderStepGraph,
            "inputs": [
                io("token_ids", i64, ["batch", 1]),
                io("position", i64, ["batch"]),
                io("memory", f32, ["batch", M, d]),
                io("past_keys", f32, [L, "batch", H, "past", hd]),
                io("past_values", f32, [L, "batch", H, "past", hd]),
            ],
            "outputs": [
                io("logits", f32, ["batch", c.vocab_size]),
                io("present_keys", f32, [L, "batch", H, "past+1", hd]),
                io("present_values", f32, [L, "batch", H, "past+1", hd]),
            ],
        },
        "vqa_head": {
            "file": "vqa_head.onnx",
            "module": VQAGraph,
            "inputs": [
                io("question_ids", i64, ["batch", "question_length"]),
                io("question_mask", i64, ["batch", "question_length"]),
                io("patch_tokens", f32, ["batch", n, d]),
                io("knowledge_tokens", f32, ["batch", k, d]),
            ],
            "outputs": [io("answer_logits", f32, ["batch", c.num_answers])],
        },
    }
    if model.anatomy is not None:
        a = c.grid * c.anatomy_subcells
        out["anatomy_head"] = {
            "file": "anatomy_head.onnx",
            "module": AnatomyGraph,
            "inputs": [io("patch_tokens", f32, ["batch", n, d])],
            "outputs": [io("anatomy_masks", f32, ["batch", 5, a, a])],
        }
    return out


def input_check_spec(model: GKMVLP) -> dict:
    """The v2 input_check graph (gkmvlp.reliability.input_check); its module is fitted, not a wrapper."""
    c = model.cfg
    f32 = "float32"
    return {
        "file": "input_check.onnx",
        "module": None,
        "inputs": [
            {"name": "pixel_values", "dtype": f32, "shape": ["batch", 1, c.image_size, c.image_size]},
            {"name": "global_embedding", "dtype": f32, "shape": ["batch", c.dim]},
        ],
        "outputs": [
            {"name": "frontal_cxr_probability", "dtype": f32, "shape": ["batch"]},
            {"name": "ood_distance", "dtype": f32, "shape": ["batch"]},
        ],
    }


def dynamic_axes(spec: dict) -> dict[str, dict[int, str]]:
    axes = {}
    for t in spec["inputs"] + spec["outputs"]:
        dyn = {i: str(v) for i, v in enumerate(t["shape"]) if isinstance(v, str)}
        if dyn:
            axes[t["name"]] = {i: v.replace("+", "_plus_") for i, v in dyn.items()}
    return axes


def example_inputs(model: GKMVLP, name: str, batch: int = 2, past: int = 3) -> tuple[Tensor, ...]:
    """Deterministic example inputs for tracing one graph."""
    c = model.cfg
    gen = torch.Generator().manual_seed(0)
    d, k = c.dim, c.num_labels

    def rnd(*shape):
        return torch.randn(*shape, generator=gen)

    if name == "image_encoder":
        return (rnd(batch, 1, c.image_size, c.image_size),)
    if name == "input_check":
        return rnd(batch, 1, c.image_size, c.image_size), rnd(batch, d)
    if name == "classification_head":
        return rnd(batch, d), rnd(batch, k, d)
    if name == "localization_head":
        return rnd(batch, c.num_patches, d), rnd(batch, k, d)
    if name == "anatomy_head":
        return (rnd(batch, c.num_patches, d),)
    if name == "report_decoder_step":
        shape = (c.decoder_layers, batch, c.heads, past, c.head_dim)
        return (
            torch.randint(5, c.vocab_size, (batch, 1), generator=gen),
            torch.full((batch,), past, dtype=torch.long),
            rnd(batch, c.num_regions + k, d),
            rnd(*shape),
            rnd(*shape),
        )
    if name == "vqa_head":
        t = c.question_max_length
        mask = torch.ones(batch, t, dtype=torch.long)
        mask[:, t // 2 :] = 0
        return (
            torch.randint(5, c.vocab_size, (batch, t), generator=gen),
            mask,
            rnd(batch, c.num_patches, d),
            rnd(batch, k, d),
        )
    raise KeyError(name)
