"""Write a model bundle (docs/contracts/model-bundle.md): ONNX graphs, vocab, golden vectors,
manifest with sha256 of every file. Everything is written into a temporary sibling folder and
renamed into place only after the onnxruntime-vs-PyTorch parity check passes; on any failure the
temporary folder is removed, so a folder with a manifest.json is always complete.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..model.anatomy_boxes import refine_region_boxes
from ..model.gkmvlp import GKMVLP
from ..model.heads import ANATOMY
from ..model.knowledge import knowledge_manifest
from ..ontology import LABELS, REGIONS
from ..reliability.calibration import final_probabilities
from ..text.presence import spec as presence_spec
from ..text.rules import mention_rules
from ..tokenizer import CLS_ID, MASK_ID, PAD_ID, SEP_ID, UNK_ID, WordPieceTokenizer
from . import graphs as G
from .files import file_hashes
from .golden import TOKENIZER_CASES, floats, make_images, preprocess_record
from .onnx_io import OPSET, export_graph, max_abs_diff, ort_session, run_ort, run_torch

FORMAT_VERSION = 1
FORMAT_VERSION_RELIABILITY = 2  # calibration, derived findings, the input_check graph
GOLDEN_QUESTIONS = ["Is there a pleural effusion?", "Which side is the pleural effusion on?"]


class ParityError(RuntimeError):
    """onnxruntime and PyTorch disagree beyond the tolerance; no bundle was written."""


def _greedy_ort(sess, spec, memory: np.ndarray, cfg, max_new: int) -> list[int]:
    shape = (cfg.decoder_layers, 1, cfg.heads, 0, cfg.head_dim)
    pk = torch.zeros(shape)
    pv = torch.zeros(shape)
    tok, out = CLS_ID, []
    mem = torch.from_numpy(memory)
    for t in range(min(max_new, cfg.max_length - 1)):
        logits, pk_, pv_ = run_ort(sess, spec, [torch.tensor([[tok]]), torch.tensor([t]), mem, pk, pv])
        tok = int(np.argmax(logits[0]))
        if tok == SEP_ID:
            break
        out.append(tok)
        pk, pv = torch.from_numpy(pk_), torch.from_numpy(pv_)
    return out


def write_bundle(
    model: GKMVLP,
    tok: WordPieceTokenizer,
    answers: list[str],
    out_dir: str | Path,
    *,
    name: str,
    version: str,
    config: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    golden_sources: Sequence[Path] = (),
    trained_on: str = "synthetic",
    tolerance: float = 1e-3,
    max_new_tokens: int = 80,
    beam_size: int = 3,
    overwrite: bool = False,
    reliability: tuple[torch.nn.Module, dict[str, Any]] | None = None,
) -> tuple[Path, float]:
    """`reliability`: (the fitted InputCheck, reliability.json of gkmvlp.reliability.fit) makes a
    format-version-2 bundle: the input_check graph plus calibration, derived findings and thresholds."""
    import onnxruntime as ort

    final = Path(out_dir)
    if (final / "manifest.json").exists() and not overwrite:
        raise FileExistsError(f"bundle already exists: {final} (pass overwrite)")
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "golden" / "images").mkdir(parents=True)
    try:
        model.eval()
        cfg = model.cfg
        tok.save(tmp / "vocab.txt")
        specs = G.specs(model)
        mods = {n: s["module"](model).eval() for n, s in specs.items()}
        if reliability is not None:
            specs["input_check"] = G.input_check_spec(model)
            mods["input_check"] = reliability[0].eval()
        sess = {}
        for n, s in specs.items():
            export_graph(mods[n], G.example_inputs(model, n), s, tmp / s["file"])
            sess[n] = ort_session(tmp / s["file"])

        worst = {n: 0.0 for n in specs}

        def both(n: str, inputs) -> list[np.ndarray]:
            t = run_torch(mods[n], inputs)
            o = run_ort(sess[n], specs[n], inputs)
            worst[n] = max(worst[n], max_abs_diff(o, t, n))
            return o

        # parity on synthetic inputs: batch 2, batch 1, and an empty KV cache for the decoder
        for n in specs:
            both(n, G.example_inputs(model, n, batch=2, past=3))
            both(n, G.example_inputs(model, n, batch=1, past=0))

        # golden cases from real(istic) images
        img_paths = make_images(tmp / "golden" / "images", list(golden_sources), cfg.image_size)
        golden: dict[str, Any] = {
            "tolerance": tolerance,
            "preprocess": [],
            "graphs": {n: [] for n in specs},
            "tokenizer": [],
            "report": [],
        }
        if reliability is not None:
            golden["calibrated"] = []
            if "anatomy_boxes" in reliability[1]:
                golden["anatomy_boxes"] = []  # region_boxes after the anatomy masks replaced the listed regions
        q_ids, q_mask = tok.encode_batch(GOLDEN_QUESTIONS, cfg.question_max_length)
        for ci, p in enumerate(img_paths):
            x, rec = preprocess_record(p, f"images/{p.name}", cfg.image_size, cfg.mean, cfg.std)
            golden["preprocess"].append(rec)
            enc = both("image_encoder", [torch.from_numpy(x)])
            names = [o["name"] for o in specs["image_encoder"]["outputs"]]
            golden["graphs"]["image_encoder"].append(
                {"case": ci, "outputs": {k: floats(v) for k, v in zip(names, enc)}}
            )
            e = dict(zip(names, (torch.from_numpy(v) for v in enc)))
            cls_ = both("classification_head", [e["global_embedding"], e["knowledge_tokens"]])
            golden["graphs"]["classification_head"].append({"case": ci, "outputs": {"probabilities": floats(cls_[0])}})
            if reliability is not None:
                # inputs: this case's preprocessed tensor and its image_encoder global_embedding above
                ic = both("input_check", [torch.from_numpy(x), e["global_embedding"]])
                golden["graphs"]["input_check"].append(
                    {"case": ci, "outputs": {"frontal_cxr_probability": floats(ic[0]), "ood_distance": floats(ic[1])}}
                )
            an = both("anatomy_head", [e["patch_tokens"]]) if "anatomy_head" in specs else None
            if an is not None:
                golden["graphs"]["anatomy_head"].append({"case": ci, "outputs": {"anatomy_masks": floats(an[0])}})
            if reliability is not None:
                ctx = {"labels": list(LABELS), "regions": list(REGIONS), **reliability[1]}
                if an is not None:
                    ctx["anatomy"] = {"regions": list(ANATOMY)}
                boxes = refine_region_boxes(enc[names.index("region_boxes")], an[0] if an is not None else None, ctx)
                if "anatomy_boxes" in reliability[1] and an is not None:
                    golden["anatomy_boxes"].append({"case": ci, "region_boxes": floats(boxes)})
                final_p = final_probabilities(cls_[0], boxes, ctx)
                golden["calibrated"].append({"case": ci, "raw": floats(cls_[0]), "probabilities": floats(final_p)})
            loc = both("localization_head", [e["patch_tokens"], e["knowledge_tokens"]])
            golden["graphs"]["localization_head"].append({"case": ci, "outputs": {"heatmaps": floats(loc[0])}})
            for qi, q in enumerate(GOLDEN_QUESTIONS):
                qi_t, qm_t = torch.from_numpy(q_ids[qi : qi + 1]), torch.from_numpy(q_mask[qi : qi + 1])
                v = both("vqa_head", [qi_t, qm_t, e["patch_tokens"], e["knowledge_tokens"]])
                golden["graphs"]["vqa_head"].append(
                    {
                        "case": ci,
                        "question": q,
                        "inputs": {
                            "question_ids": floats(q_ids[qi : qi + 1]),
                            "question_mask": floats(q_mask[qi : qi + 1]),
                        },
                        "outputs": {"answer_logits": floats(v[0])},
                        "answer": answers[int(np.argmax(v[0]))],
                    }
                )
            memory = torch.cat([e["region_tokens"], e["knowledge_tokens"]], dim=1)
            # two decoder steps (empty cache, then one cached token), inputs written in full
            pk = torch.zeros(cfg.decoder_layers, 1, cfg.heads, 0, cfg.head_dim)
            pv = pk.clone()
            tok_id = torch.tensor([[CLS_ID]])
            for t in range(2):
                ins = [tok_id, torch.tensor([t]), memory, pk, pv]
                outs = both("report_decoder_step", ins)
                if ci == 0:
                    golden["graphs"]["report_decoder_step"].append(
                        {
                            "case": ci,
                            "inputs": {
                                k["name"]: floats(v.numpy())
                                for k, v in zip(specs["report_decoder_step"]["inputs"], ins)
                            },
                            "outputs": {
                                k["name"]: floats(v) for k, v in zip(specs["report_decoder_step"]["outputs"], outs)
                            },
                        }
                    )
                tok_id = torch.tensor([[int(np.argmax(outs[0][0]))]])
                pk, pv = torch.from_numpy(outs[1]), torch.from_numpy(outs[2])
            ids = _greedy_ort(
                sess["report_decoder_step"], specs["report_decoder_step"], memory.numpy(), cfg, max_new_tokens
            )
            golden["report"].append({"case": ci, "greedy_ids": ids, "greedy_text": tok.decode(ids)})

        for text in TOKENIZER_CASES:
            ids, mask = tok.encode(text, cfg.max_length)
            golden["tokenizer"].append(
                {
                    "text": text,
                    "max_length": cfg.max_length,
                    "ids": ids,
                    "attention_mask": mask,
                    "decoded": tok.decode(ids),
                }
            )

        parity = max(worst.values())
        if not parity <= tolerance:  # also catches NaN
            raise ParityError(
                f"onnxruntime vs PyTorch max abs diff {parity:.3g} > {tolerance} "
                f"(per graph: {json.dumps(worst)}); bundle not written"
            )
        (tmp / "golden" / "golden.json").write_text(json.dumps(golden))

        metrics = dict(metrics or {})
        thresholds = metrics.pop("thresholds", None) or {l: 0.5 for l in LABELS}
        if reliability is not None:  # calibrated labels get thresholds on the calibrated scale
            thresholds = {**thresholds, **reliability[1].get("thresholds", {})}
        heat_thr = metrics.pop("heatmap_threshold", 0.5)
        manifest = {
            "format_version": FORMAT_VERSION if reliability is None else FORMAT_VERSION_RELIABILITY,
            "name": name,
            "version": version,
            "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "trained_on": trained_on,
            "config": config,
            "tasks": ["classification", "localization", "report", "vqa"],
            "preprocessing": {
                "image_size": cfg.image_size,
                "channels": 1,
                "mean": cfg.mean,
                "std": cfg.std,
                "resize": "area",
                "letterbox": True,
                "pad_value": 0.0,
            },
            "labels": list(LABELS),
            "regions": list(REGIONS),
            "knowledge": knowledge_manifest(),
            "thresholds": thresholds,
            "localization": {
                "heatmap_threshold": heat_thr,
                "threshold_mode": "relative_to_max",
                "min_box_area_frac": 0.002,
                "grid": cfg.heat_grid,
                "patch_size": cfg.patch_size,
            },
            "tokenizer": {
                "type": "wordpiece",
                "vocab_file": "vocab.txt",
                "lowercase": True,
                "vocab_size": tok.vocab_size,
                "max_length": cfg.max_length,
                "question_max_length": cfg.question_max_length,
                "pad_id": PAD_ID,
                "unk_id": UNK_ID,
                "cls_id": CLS_ID,
                "sep_id": SEP_ID,
                "mask_id": MASK_ID,
            },
            "answers": answers,
            "closed_answers": ["yes", "no"],
            "decoding": {
                "max_new_tokens": min(max_new_tokens, cfg.max_length - 1),
                "beam_size": beam_size,
                "length_penalty": 1.0,
                "bos_id": CLS_ID,
                "eos_id": SEP_ID,
                "num_layers": cfg.decoder_layers,
                "num_heads": cfg.heads,
                "head_dim": cfg.head_dim,
                "max_position": cfg.max_length,
            },
            "graphs": {
                n: {"file": s["file"], "inputs": s["inputs"], "outputs": s["outputs"]} for n, s in specs.items()
            },
            "memory": "concat(region_tokens, knowledge_tokens) along the token axis: the report decoder's cross-attention memory",
            # the labeller's rules as data: the worker reads generated reports with them (no copy of its own)
            "mention_rules": mention_rules(),
            "metrics": metrics,
            "parity": {
                "max_abs_diff": parity,
                "per_graph": worst,
                "tolerance": tolerance,
                "checked_with": f"onnxruntime {ort.__version__}",
                "torch": torch.__version__,
                "opset": OPSET,
            },
        }
        if model.anatomy is not None:
            manifest["anatomy"] = {
                "graph": "anatomy_head",
                "regions": list(ANATOMY),
                "grid": cfg.grid * cfg.anatomy_subcells,
                "note": "mask probabilities over the letterboxed model square; learned from JSRT / OpenIST masks",
            }
        if reliability is not None:
            for key in ("calibration", "derived", "reliability"):
                manifest[key] = reliability[1][key]
            # presence questions are answered from the calibrated findings (text/presence.py)
            manifest["vqa_presence"] = presence_spec()
            if "anatomy_boxes" in reliability[1]:
                if model.anatomy is None:
                    raise ValueError("the reliability fit measured anatomy boxes, but the model has no anatomy head")
                manifest["anatomy_boxes"] = reliability[1]["anatomy_boxes"]
        manifest["files"] = file_hashes(tmp)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        if final.exists():
            old = final.parent / f".{final.name}.old-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        return final, parity
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
