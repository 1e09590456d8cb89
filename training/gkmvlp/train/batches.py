"""Turn contract records (docs/contracts/synthetic-dataset.md) into in-memory training tensors.

Everything the objectives need is precomputed once per split (images preprocessed with the
reference numpy pipeline, finding masks reduced to patch coverage, reports tokenized), so a CPU
training step is pure model compute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from ..model.config import ModelConfig
from ..model.knowledge import triplet_sentence
from ..model.preprocess import decode_gray, letterbox, mask_to_grid, preprocess_array
from ..ontology import LABEL_INDEX, LABELS, REGION_INDEX, REGIONS
from ..tokenizer import WordPieceTokenizer


class DataError(ValueError):
    """The dataset on disk does not follow the contract; the message names the file and row."""


def report_text(rec: dict[str, Any]) -> str:
    rep = rec.get("report") or {}
    parts = [rep.get("findings", "").strip(), rep.get("impression", "").strip()]
    return " ".join(p for p in parts if p)


def read_split(root: str | Path, split: str) -> list[dict[str, Any]]:
    """Validated records of one split via gkmvlp.data.dataset (errors name the file and line).

    Image/mask files are not pre-checked here: build_tensors opens each one and names any bad file.
    """
    from ..data.dataset import read_split as _read

    root = Path(root)
    if not (root / "dataset.json").is_file():
        raise DataError(f"not a dataset folder (no dataset.json): {root}")
    return _read(root, split, check_files=False)


def corpus(records: Iterable[dict[str, Any]]) -> list[str]:
    """All text the tokenizer should learn from: reports, questions, answers, triplet sentences."""
    out = []
    for r in records:
        out.append(report_text(r))
        for qa in r.get("vqa", []):
            out += [qa["question"], qa["answer"]]
        for t in r.get("triplets", []):
            out.append(triplet_sentence(*t))
    return out


def answer_vocab(records: Iterable[dict[str, Any]], limit: int) -> list[str]:
    counts: dict[str, int] = {}
    for r in records:
        for qa in r.get("vqa", []):
            a = qa["answer"].strip().lower()
            counts[a] = counts.get(a, 0) + 1
    rest = sorted((a for a in counts if a not in ("yes", "no")), key=lambda a: (-counts[a], a))
    return (["yes", "no"] + rest)[:limit]


@dataclass
class TensorSet:
    """A split as tensors; index with `batch(idx)`. `qa` lists every (record, q_ids, q_mask, ans, closed)."""

    ids: list[str]
    reports: list[str]
    arrays: dict[str, torch.Tensor]
    qa_ids: torch.Tensor
    qa_mask: torch.Tensor
    qa_answer: torch.Tensor
    qa_closed: torch.Tensor
    qa_record: torch.Tensor
    qa_text: list[tuple[str, str, str]]
    qa_label: torch.Tensor | None = None  # the finding a question names (LABELS index), -1 if none
    pos_weight: torch.Tensor | None = None  # [L] weight of positives in the classification loss (None: 1)

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, idx: Sequence[int], rng: np.random.Generator | None = None) -> dict[str, torch.Tensor]:
        t = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        b = {k: v[t] for k, v in self.arrays.items()}
        # trim report padding to the longest report in the batch: text cost scales with length
        keep = int(b["report_mask"].sum(1).max())
        b["report_ids"], b["report_mask"] = b["report_ids"][:, :keep], b["report_mask"][:, :keep]
        # one question per image: random during training, the first otherwise
        q = torch.full((len(idx),), -1, dtype=torch.long)
        for j, i in enumerate(idx):
            cand = self._by_record.get(int(i), [])
            if cand:
                q[j] = cand[int(rng.integers(len(cand)))] if rng is not None else cand[0]
        has = q >= 0
        qq = q.clamp(min=0)
        b["question_ids"] = self.qa_ids[qq]
        b["question_mask"] = self.qa_mask[qq]
        b["answer_idx"] = torch.where(has, self.qa_answer[qq], torch.full_like(qq, -1))
        if self.qa_label is not None:
            b["question_label"] = torch.where(has, self.qa_label[qq], torch.full_like(qq, -1))
        return b

    def __post_init__(self):
        self._by_record: dict[int, list[int]] = {}
        for j, r in enumerate(self.qa_record.tolist()):
            self._by_record.setdefault(r, []).append(j)


def build_tensors(
    root: str | Path,
    records: list[dict[str, Any]],
    cfg: ModelConfig,
    tok: WordPieceTokenizer,
    answers: list[str],
    desc: str = "data",
) -> TensorSet:
    root = Path(root)
    n, g, s = len(records), cfg.heat_grid, cfg.image_size
    L, R = len(LABELS), len(REGIONS)
    pix = np.zeros((n, 1, s, s), np.float32)
    boxes = np.zeros((n, R, 4), np.float32)
    vis = np.zeros((n, R), np.float32)
    labels = np.zeros((n, L), np.float32)
    fregions = np.zeros((n, L, R), np.float32)
    fmasks = np.zeros((n, L, g, g), np.float32)
    fboxes = np.zeros((n, L, 4), np.float32)
    fhas = np.zeros((n, L), np.float32)
    texts = [report_text(r) for r in records]
    groups: dict[str, int] = {}
    group = np.array([groups.setdefault(t, len(groups)) for t in texts], np.int64)
    rep_ids, rep_mask = tok.encode_batch(texts, cfg.max_length)
    ans_index = {a: i for i, a in enumerate(answers)}
    qa_rows: list[tuple[int, str, int, bool, str]] = []
    qa_labels: list[int] = []
    for i, rec in enumerate(tqdm(records, desc=f"load {desc}", leave=False, mininterval=2)):
        where = f"{rec.get('id')} ({rec.get('image')})"
        try:
            gray = decode_gray(root / rec["image"])
            x, lb = preprocess_array(gray, s, cfg.mean, cfg.std)
        except (FileNotFoundError, ValueError) as e:
            raise DataError(f"record {where}: {e}") from e
        pix[i] = x[0]
        for name, box in (rec.get("regions") or {}).items():
            if name in REGION_INDEX:
                boxes[i, REGION_INDEX[name]] = np.clip(lb.box_to_model(box), 0, 1)
                vis[i, REGION_INDEX[name]] = 1
        for name, v in rec["labels"].items():
            if name not in LABEL_INDEX:
                raise DataError(f"record {where}: unknown label {name!r}")
            labels[i, LABEL_INDEX[name]] = float(v == 1)
        for f in rec.get("findings", []):
            k = LABEL_INDEX.get(f.get("label"))
            if k is None:
                raise DataError(f"record {where}: finding with unknown label {f.get('label')!r}")
            for rn in f.get("regions", []):
                if rn in REGION_INDEX:
                    fregions[i, k, REGION_INDEX[rn]] = 1
            if f.get("box"):
                b = np.clip(lb.box_to_model(f["box"]), 0, 1)
                fboxes[i, k] = (
                    b
                    if not fhas[i, k]
                    else [
                        min(fboxes[i, k, 0], b[0]),
                        min(fboxes[i, k, 1], b[1]),
                        max(fboxes[i, k, 2], b[2]),
                        max(fboxes[i, k, 3], b[3]),
                    ]
                )
                fhas[i, k] = 1
            if f.get("mask"):
                mp = root / f["mask"]
                try:
                    m = np.asarray(Image.open(mp).convert("L"))
                except Exception as e:
                    raise DataError(f"record {where}: cannot read mask {mp}: {e}") from e
                fmasks[i, k] = np.maximum(fmasks[i, k], mask_to_grid(m, g))
        for qa in rec.get("vqa", []):
            a = qa["answer"].strip().lower()
            qa_rows.append((i, qa["question"], ans_index.get(a, -1), qa.get("type") == "closed", a))
            qa_labels.append(LABEL_INDEX.get(qa.get("label"), -1))
    q_ids, q_mask = tok.encode_batch([q for _, q, _, _, _ in qa_rows], cfg.question_max_length)
    arrays = dict(
        pixel_values=pix,
        region_boxes=boxes,
        region_visible=vis,
        labels=labels,
        finding_regions=fregions,
        finding_masks=fmasks,
        finding_boxes=fboxes,
        finding_has_box=fhas,
        report_ids=rep_ids,
        report_mask=rep_mask,
        report_group=group,
    )
    return TensorSet(
        ids=[r["id"] for r in records],
        reports=texts,
        arrays={k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()},
        qa_ids=torch.from_numpy(q_ids),
        qa_mask=torch.from_numpy(q_mask),
        qa_answer=torch.tensor([a for _, _, a, _, _ in qa_rows], dtype=torch.long),
        qa_closed=torch.tensor([c for _, _, _, c, _ in qa_rows], dtype=torch.bool),
        qa_record=torch.tensor([r for r, _, _, _, _ in qa_rows], dtype=torch.long),
        qa_text=[(q, a, "closed" if c else "open") for _, q, _, c, a in qa_rows],
        qa_label=torch.tensor(qa_labels, dtype=torch.long),
    )


__all__ = [
    "DataError",
    "TensorSet",
    "answer_vocab",
    "build_tensors",
    "corpus",
    "read_split",
    "report_text",
    "letterbox",
]
