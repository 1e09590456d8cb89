"""Runs a bundle's ONNX graphs on real films as the worker does (FilmRunner), and the AUC figure every real-film
evaluation reports: the AUC with its bootstrap CI, label-permutation p and shuffled-label baseline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..model.anatomy_boxes import refine_region_boxes
from ..model.preprocess import decode_gray, preprocess_array
from ..reliability.calibration import final_probabilities
from ..text.presence import presence_answer
from ..tokenizer import WordPieceTokenizer
from .real import _run, classifier_parts, combine_members, load_bundle
from .stats import auc, auc_ci, auc_permutation_p

MIN_POSITIVES = 5


def scorable(y: np.ndarray) -> bool:
    """Whether a label's AUC is reported on these films: at least MIN_POSITIVES positives and as many negatives."""
    return len(y) > 0 and MIN_POSITIVES <= int(y.sum()) <= len(y) - MIN_POSITIVES


class FilmRunner:
    """One bundle, every graph the evaluation needs; results cached per image path."""

    def __init__(self, bundle_dir: Path, threads: int = 1):
        self.b = load_bundle(bundle_dir, threads)
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = max(1, threads), 1
        for name in ("vqa_head", "report_decoder_step", "input_check", "anatomy_head"):
            spec = self.b.manifest["graphs"].get(name)
            if spec:
                self.b.sessions[name] = ort.InferenceSession(
                    str(bundle_dir / spec["file"]), sess_options=so, providers=["CPUExecutionProvider"]
                )
        self.m = self.b.manifest
        self.tok = WordPieceTokenizer.load(bundle_dir / self.m["tokenizer"]["vocab_file"])
        self.cache: dict[str, dict] = {}

    def gray(self, gray: np.ndarray, key: str) -> dict[str, Any]:
        if key in self.cache:
            return self.cache[key]
        pre = self.m["preprocessing"]
        x, lb = preprocess_array(gray, int(pre["image_size"]), float(pre["mean"]), float(pre["std"]))
        enc = _run(self.b, "image_encoder", {"pixel_values": x})
        head, members = classifier_parts(self.b, enc, x)
        raw = combine_members(head, members)
        # the parts too: the ensemble builder reports each member's own validation AUC beside the combined one
        out = {
            "x": x,
            "lb": lb,
            "enc": enc,
            "raw": raw[0],
            "head": head[0],
            "member_logits": None if members is None else members[0],
        }
        if "anatomy_head" in self.b.sessions:
            out["anatomy"] = _run(self.b, "anatomy_head", {"patch_tokens": enc["patch_tokens"]})["anatomy_masks"][0]
        # the boxes the worker reports: the anatomy masks' extents where the manifest says so (anatomy_boxes)
        boxes = refine_region_boxes(enc["region_boxes"], out["anatomy"][None] if "anatomy" in out else None, self.m)
        out["boxes"] = boxes[0]
        out["probs"] = final_probabilities(raw, boxes, self.m)[0]
        if "input_check" in self.b.sessions:
            ic = _run(self.b, "input_check", {"pixel_values": x, "global_embedding": enc["global_embedding"]})
            out["frontal"] = float(ic["frontal_cxr_probability"][0])
            out["ood"] = float(ic["ood_distance"][0])
        self.cache[key] = out
        return out

    def image(self, path: Path) -> dict[str, Any]:
        key = str(path)
        if key in self.cache:  # scored before: no second decode of the file
            return self.cache[key]
        return self.gray(decode_gray(path), key)

    def anatomy_masks(self, r: dict, shape: tuple[int, int]) -> dict[str, np.ndarray] | None:
        """The anatomy graph's masks at the film's stored size (bilinear over the letterboxed square,
        padding cropped, threshold 0.5); None when the bundle has no anatomy graph."""
        if "anatomy_head" not in self.b.sessions:
            return None
        if "anatomy" not in r:
            r["anatomy"] = _run(self.b, "anatomy_head", {"patch_tokens": r["enc"]["patch_tokens"]})["anatomy_masks"][0]
        lb, out = r["lb"], {}
        for j, reg in enumerate(self.m["anatomy"]["regions"]):
            sq = Image.fromarray(r["anatomy"][j].astype(np.float32)).resize((lb.side, lb.side), Image.BILINEAR)
            a = np.asarray(sq)[lb.pad_y : lb.pad_y + shape[0], lb.pad_x : lb.pad_x + shape[1]]
            out[reg] = a >= 0.5
        return out

    def answer(self, r: dict, question: str) -> str:
        """As the worker answers: a presence question the bundle's vqa_presence covers from the reported
        finding, anything else from the VQA head."""
        found = presence_answer(question, r["probs"], self.m)
        if found is not None:
            return found[0]
        t = int(self.m["tokenizer"]["question_max_length"])
        ids, mask = self.tok.encode(question, t)
        logits = _run(
            self.b,
            "vqa_head",
            {"question_ids": np.array([ids], np.int64), "question_mask": np.array([mask], np.int64), **r["enc"]},
        )["answer_logits"][0]
        closed = [self.m["answers"].index(a) for a in self.m["closed_answers"]]
        return self.m["answers"][max(closed, key=lambda i: logits[i])]

    def report(self, r: dict, max_new: int = 60) -> str:
        from ..export.bundle import _greedy_ort
        from ..model.config import ModelConfig

        c = self.m["config"]
        cfg = ModelConfig(
            decoder_layers=c["decoder_layers"], heads=c["heads"], dim=c["dim"], max_length=c["max_length"]
        )
        memory = np.concatenate([r["enc"]["region_tokens"], r["enc"]["knowledge_tokens"]], axis=1)
        spec = {
            "inputs": self.m["graphs"]["report_decoder_step"]["inputs"],
            "outputs": self.m["graphs"]["report_decoder_step"]["outputs"],
        }
        return self.tok.decode(_greedy_ort(self.b.sessions["report_decoder_step"], spec, memory, cfg, max_new))


def auc_figure(y, s, seed: int = 0) -> dict[str, Any]:
    y, s = np.asarray(y, bool), np.asarray(s, float)
    lo, hi = auc_ci(y, s, seed=seed)
    p, null = auc_permutation_p(y, s, seed=seed)
    return {
        "auc": auc(y, s),
        "ci_low": lo,
        "ci_high": hi,
        "perm_p": p,
        "shuffled_labels_auc": null,
        "n_pos": int(y.sum()),
        "n_neg": int((~y).sum()),
    }


def label_auc(
    rows: list[dict], score: Callable[[dict], float], label: str, keep: Callable[[dict], bool]
) -> dict[str, Any]:
    """AUC of one label over the films `keep` selects whose label is known (unknown labels are masked, never
    negative); a note instead when only one class is left."""
    sel = [r for r in rows if keep(r) and r["labels"].get(label) is not None]
    y = np.array([int(r["labels"][label]) for r in sel])
    if len(set(y.tolist())) < 2:
        return {"n": len(sel), "note": "one class only"}
    return auc_figure(y, np.array([score(r) for r in sel]))
