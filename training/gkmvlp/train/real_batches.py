"""Real films (the corpus that gkmvlp.cli.assemble_real writes) as training tensors.

A real film carries only what its source knows: a few labels (the rest unknown, masked out of every
loss through `label_known`, never treated as negative), anatomy masks on JSRT / OpenIST films
(turned into the region boxes the region head learns), and no report (`has_report` 0 keeps it out
of the language-model loss). Closed VQA pairs are derived from the known labels with the synthetic
set's own question templates, so "is there pneumonia?" is learned from real pixels too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..data.synthetic.vqa import NOUN, PRESENCE
from ..model.config import ModelConfig
from ..model.heads import ANATOMY
from ..ontology import LABEL_INDEX, LABELS, REGIONS
from ..tokenizer import WordPieceTokenizer
from .batches import DataError, TensorSet
from .real_pack import RealPack, film_arrays, film_gray, is_packed, mask_box


def read_corpus(root: str | Path, split: str | None = None, frontal_only: bool = True) -> list[dict[str, Any]]:
    """Validated rows of `<root>/manifest.jsonl` (gkmvlp.data.real.load_manifest), optionally of one
    split and frontal films only."""
    from ..data.real import load_manifest

    if not (Path(root) / "manifest.jsonl").is_file():
        raise DataError(
            f"real corpus manifest not found: {Path(root) / 'manifest.jsonl'} (run python -m gkmvlp.cli.assemble_real)"
        )
    rows = load_manifest(root, split, check_files=False)
    return [r for r in rows if r["frontal"] or not frontal_only]


def closed_questions(labels: dict[str, int], rng: np.random.Generator, n: int = 2) -> list[tuple[str, str, int]]:
    """(question, answer, label index): up to n known positives and up to n known negatives, each drawn at
    random, plus "is it normal?" where that is known. Drawing the negatives (not taking them in a fixed
    order) matters on fully labelled films: otherwise every normal film is asked about the same two
    findings and the head learns the question, not the image."""
    known = [lab for lab in labels if lab in NOUN]
    pos = [lab for lab in known if labels[lab] == 1]
    neg = [lab for lab in known if labels[lab] != 1]
    picked = [pos[i] for i in rng.permutation(len(pos))[:n]] + [neg[i] for i in rng.permutation(len(neg))[:n]]
    out = []
    for lab in picked:
        q = PRESENCE[int(rng.integers(len(PRESENCE)))].format(n=NOUN[lab])
        out.append((q, "yes" if labels[lab] == 1 else "no", LABEL_INDEX[lab]))
    if labels.get("No Finding") is not None:
        out.append(
            ("Is this chest X-ray normal?", "yes" if labels["No Finding"] == 1 else "no", LABEL_INDEX["No Finding"])
        )
    return out


def real_pixels(
    root: str | Path, rows: list[dict[str, Any]], cfg: ModelConfig, desc: str = "real pixels"
) -> torch.Tensor:
    """The films' normalized pixels [n, 1, S, S] alone (no masks, labels or questions): for the self-supervised term."""
    root = Path(root)
    pix = np.zeros((len(rows), 1, cfg.image_size, cfg.image_size), np.float32)
    pack = RealPack(root, cfg) if is_packed(root) else None
    for i, r in enumerate(tqdm(rows, desc=f"load {desc}", leave=False, mininterval=2)):
        gray = pack.gray(r["id"]) if pack is not None else film_gray(root, r, cfg)[0]
        pix[i, 0] = (gray - cfg.mean) / cfg.std
    return torch.from_numpy(pix)


def build_real_tensors(
    root: str | Path,
    rows: list[dict[str, Any]],
    cfg: ModelConfig,
    tok: WordPieceTokenizer,
    answers: list[str],
    seed: int = 0,
    desc: str = "real",
) -> TensorSet:
    root = Path(root)
    n, g, s = len(rows), cfg.heat_grid, cfg.image_size
    L, R = len(LABELS), len(REGIONS)
    pix = np.zeros((n, 1, s, s), np.float32)
    boxes = np.zeros((n, R, 4), np.float32)
    vis = np.zeros((n, R), np.float32)
    labels = np.zeros((n, L), np.float32)
    known = np.zeros((n, L), np.float32)
    a_grid = cfg.grid * cfg.anatomy_subcells
    anat = np.zeros((n, len(ANATOMY), a_grid, a_grid), np.float32)
    anat_known = np.zeros((n, len(ANATOMY)), np.float32)
    rng = np.random.default_rng(seed)
    ans_index = {a: i for i, a in enumerate(answers)}
    qa_rows: list[tuple[int, str, int, str, int]] = []
    pack = RealPack(root, cfg) if is_packed(root) else None
    for i, r in enumerate(tqdm(rows, desc=f"load {desc}", leave=False, mininterval=2)):
        f = pack.film(r["id"]) if pack is not None else film_arrays(root, r, cfg)
        pix[i, 0] = ((f["gray"] - cfg.mean) / cfg.std).astype(np.float32)
        boxes[i], vis[i] = f["boxes"], f["vis"]
        if cfg.anatomy_head:
            anat[i], anat_known[i] = f["anat"], f["anat_known"]
        for lab, v in r["labels"].items():
            labels[i, LABEL_INDEX[lab]] = float(v == 1)
            known[i, LABEL_INDEX[lab]] = 1
        for q, a, k in closed_questions(r["labels"], rng):
            qa_rows.append((i, q, ans_index.get(a, -1), a, k))
    q_ids, q_mask = tok.encode_batch([q for _, q, _, _, _ in qa_rows] or [""], cfg.question_max_length)
    rep_ids, rep_mask = tok.encode_batch([""] * n, cfg.max_length)
    arrays = dict(
        pixel_values=pix,
        region_boxes=boxes,
        region_visible=vis,
        labels=labels,
        label_known=known,
        anatomy_masks=anat,
        anatomy_known=anat_known,
        has_report=np.zeros(n, np.float32),
        finding_regions=np.zeros((n, L, R), np.float32),
        finding_masks=np.zeros((n, L, g, g), np.float32),
        finding_boxes=np.zeros((n, L, 4), np.float32),
        finding_has_box=np.zeros((n, L), np.float32),
        report_ids=rep_ids,
        report_mask=rep_mask,
        report_group=-1 - np.arange(n, dtype=np.int64),
    )  # never equal to a synthetic report group
    nq = len(qa_rows)
    return TensorSet(
        ids=[r["id"] for r in rows],
        reports=[""] * n,
        arrays={k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()},
        qa_ids=torch.from_numpy(q_ids[:nq]),
        qa_mask=torch.from_numpy(q_mask[:nq]),
        qa_answer=torch.tensor([a for _, _, a, _, _ in qa_rows], dtype=torch.long),
        qa_closed=torch.ones(nq, dtype=torch.bool),
        qa_record=torch.tensor([i for i, _, _, _, _ in qa_rows], dtype=torch.long),
        qa_text=[(q, a, "closed") for _, q, _, a, _ in qa_rows],
        qa_label=torch.tensor([k for _, _, _, _, k in qa_rows], dtype=torch.long),
    )


def with_known(ts: TensorSet) -> TensorSet:
    """A synthetic set with its masks of what is known: every label, every report."""
    n = len(ts)
    ts.arrays.setdefault("label_known", torch.ones_like(ts.arrays["labels"]))
    ts.arrays.setdefault("has_report", torch.ones(n))
    return ts


def concat(a: TensorSet, b: TensorSet) -> TensorSet:
    """One set holding both (b's records and questions follow a's)."""
    a, b = with_known(a), with_known(b)
    for x, y in ((a, b), (b, a)):  # a key only one side has (anatomy masks): nothing known on the other
        for k, v in y.arrays.items():
            if k not in x.arrays:
                x.arrays[k] = torch.zeros((len(x), *v.shape[1:]), dtype=v.dtype)
    arrays = {}
    for k, v in a.arrays.items():
        w = b.arrays[k]
        if k in ("report_ids", "report_mask"):
            T = max(v.shape[1], w.shape[1])
            v = torch.nn.functional.pad(v, (0, T - v.shape[1]))
            w = torch.nn.functional.pad(w, (0, T - w.shape[1]))
        arrays[k] = torch.cat([v, w])
    ql = a.qa_label if a.qa_label is not None else torch.full((len(a.qa_answer),), -1, dtype=torch.long)
    return TensorSet(
        ids=a.ids + b.ids,
        reports=a.reports + b.reports,
        arrays=arrays,
        qa_ids=torch.cat([a.qa_ids, b.qa_ids]),
        qa_mask=torch.cat([a.qa_mask, b.qa_mask]),
        qa_answer=torch.cat([a.qa_answer, b.qa_answer]),
        qa_closed=torch.cat([a.qa_closed, b.qa_closed]),
        qa_record=torch.cat([a.qa_record, b.qa_record + len(a)]),
        qa_text=a.qa_text + b.qa_text,
        qa_label=torch.cat([ql, b.qa_label]),
    )


def iu_report_texts(corpus_root: str | Path, split: str = "train") -> list[str]:
    """Findings + impression of the corpus's IU X-ray reports of one split (text only), for the
    tokenizer: validation and test reports stay unseen."""
    path = Path(corpus_root) / "reports.jsonl"
    if not path.is_file():
        return []
    out = []
    for line in open(path):
        if line.strip():
            r = json.loads(line)
            if r.get("split", split) != split:
                continue
            out.append(" ".join(p for p in (r.get("findings") or "", r.get("impression") or "") if p).strip())
    return [t for t in out if t]


__all__ = [
    "read_corpus",
    "build_real_tensors",
    "concat",
    "with_known",
    "closed_questions",
    "mask_box",
    "iu_report_texts",
]
