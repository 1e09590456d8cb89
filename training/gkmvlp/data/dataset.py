"""Reader of the synthetic-dataset contract layout (docs/contracts/synthetic-dataset.md).

Validates dataset.json and every jsonl row; any problem raises DatasetFormatError naming the file
and line. Framework-free (numpy); the model package wraps ContractDataset in a torch Dataset.

    ds = ContractDataset("data/synth", "train")
    item = ds[0]            # {"record": {...}, "image": float32 HxW in [0, 1]}
    y = label_vector(item["record"]); boxes, present = region_array(item["record"])
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from ..ontology import LABEL_INDEX, LABELS, REGION_INDEX, REGIONS

SIDES = {"left", "right", "bilateral", "none"}
SEVERITIES = {"mild", "moderate", "severe"}
VIEWS = {"PA", "AP"}
ROW_KEYS = ("id", "image", "width", "height", "view", "labels", "regions", "findings", "report", "vqa", "triplets")
META_KEYS = ("format_version", "generator", "seed", "image_size", "counts", "labels", "regions", "splits")


class DatasetFormatError(ValueError):
    """A dataset file is malformed; the message names the file (and line)."""


def read_dataset_json(root) -> dict:
    path = Path(root) / "dataset.json"
    if not path.is_file():
        raise DatasetFormatError(f"{path}: missing (not a complete dataset: was generation interrupted?)")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DatasetFormatError(f"{path}: invalid JSON: {e}") from None
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise DatasetFormatError(f"{path}: missing keys {missing}")
    if meta["format_version"] != 1:
        raise DatasetFormatError(f"{path}: unsupported format_version {meta['format_version']}")
    if list(meta["labels"]) != list(LABELS):
        raise DatasetFormatError(f"{path}: label list differs from gkmvlp.ontology.LABELS")
    if list(meta["regions"]) != list(REGIONS):
        raise DatasetFormatError(f"{path}: region list differs from gkmvlp.ontology.REGIONS")
    return meta


def _box(v, where: str, w: float, h: float):
    if not (isinstance(v, list) and len(v) == 4 and all(isinstance(x, (int, float)) for x in v)):
        raise ValueError(f"{where}: box must be 4 numbers, got {v!r}")
    x1, y1, x2, y2 = v
    if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
        raise ValueError(f"{where}: box {v} not inside the {w}x{h} image")


def validate_record(rec: dict) -> None:
    """Raises ValueError describing the first problem of one record."""
    if not isinstance(rec, dict):
        raise ValueError("row is not a JSON object")
    missing = [k for k in ROW_KEYS if k not in rec]
    if missing:
        raise ValueError(f"missing keys {missing}")
    w, h = rec["width"], rec["height"]
    if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
        raise ValueError(f"bad width/height {w!r}x{h!r}")
    if rec["view"] not in VIEWS:
        raise ValueError(f"unknown view {rec['view']!r}")
    labels = rec["labels"]
    if not isinstance(labels, dict):
        raise ValueError("labels must be an object")
    unknown = [k for k in labels if k not in LABEL_INDEX]
    if unknown:
        raise ValueError(f"unknown labels {unknown}")
    absent = [k for k in LABELS if k not in labels]
    if absent:
        raise ValueError(f"labels missing {absent}")
    bad = {k: v for k, v in labels.items() if v not in (0, 1)}
    if bad:
        raise ValueError(f"label values must be 0/1: {bad}")
    if not isinstance(rec["regions"], dict):
        raise ValueError("regions must be an object")
    for name, box in rec["regions"].items():
        if name not in REGION_INDEX:
            raise ValueError(f"unknown region {name!r}")
        _box(box, f"region {name!r}", w, h)
    for i, f in enumerate(rec["findings"]):
        for k in ("label", "side", "severity", "regions", "box", "mask"):
            if k not in f:
                raise ValueError(f"findings[{i}] missing {k!r}")
        if f["label"] not in LABEL_INDEX:
            raise ValueError(f"findings[{i}]: unknown label {f['label']!r}")
        if f["side"] not in SIDES or f["severity"] not in SEVERITIES:
            raise ValueError(f"findings[{i}]: bad side/severity {f['side']!r}/{f['severity']!r}")
        bad_r = [r for r in f["regions"] if r not in REGION_INDEX]
        if bad_r:
            raise ValueError(f"findings[{i}]: unknown regions {bad_r}")
        _box(f["box"], f"findings[{i}]", w, h)
        if labels.get(f["label"]) != 1:
            raise ValueError(f"findings[{i}]: label {f['label']!r} drawn but labelled 0")
    rep = rec["report"]
    if not (
        isinstance(rep, dict)
        and isinstance(rep.get("findings"), str)
        and isinstance(rep.get("impression"), str)
        and isinstance(rep.get("sentences"), list)
    ):
        raise ValueError("report needs findings, impression (strings) and sentences (list)")
    for i, s in enumerate(rep["sentences"]):
        if not isinstance(s, dict) or not isinstance(s.get("text"), str):
            raise ValueError(f"report.sentences[{i}] needs text")
        bad_l = [x for x in s.get("labels", []) if x not in LABEL_INDEX]
        bad_r = [x for x in s.get("regions", []) if x not in REGION_INDEX]
        if bad_l or bad_r:
            raise ValueError(f"report.sentences[{i}]: unknown labels {bad_l} / regions {bad_r}")
    for i, q in enumerate(rec["vqa"]):
        if not (
            isinstance(q, dict)
            and isinstance(q.get("question"), str)
            and isinstance(q.get("answer"), str)
            and q.get("type") in ("closed", "open")
        ):
            raise ValueError(f"vqa[{i}] needs question, answer (strings) and type closed/open")
    for i, t in enumerate(rec["triplets"]):
        if not (
            isinstance(t, list)
            and len(t) == 3
            and t[0] in LABEL_INDEX
            and t[1] in REGION_INDEX
            and t[2] in ("present", "absent")
        ):
            raise ValueError(f"triplets[{i}]: expected [label, region, present|absent], got {t!r}")


def _check_png(path: Path, w: int, h: int, what: str) -> None:
    if not path.is_file():
        raise ValueError(f"{what} file missing: {path}")
    try:
        with Image.open(path) as im:
            size = im.size
    except Exception as e:  # PIL raises several types for broken files
        raise ValueError(f"{what} file unreadable: {path} ({e})") from None
    if size != (w, h):
        raise ValueError(f"{what} {path} is {size[0]}x{size[1]}, record says {w}x{h}")


def read_split(root, split: str, check_files: bool = True, meta: dict | None = None) -> list[dict]:
    root = Path(root)
    meta = meta or read_dataset_json(root)
    if split not in meta["splits"]:
        raise DatasetFormatError(f"{root / 'dataset.json'}: no split {split!r} (has {sorted(meta['splits'])})")
    path = root / meta["splits"][split]
    if not path.is_file():
        raise DatasetFormatError(f"{path}: split file missing")
    records, ids = [], set()
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DatasetFormatError(f"{path}:{lineno}: invalid JSON: {e}") from None
            try:
                validate_record(rec)
                if rec["id"] in ids:
                    raise ValueError(f"duplicate id {rec['id']!r}")
                ids.add(rec["id"])
                if check_files:
                    _check_png(root / rec["image"], rec["width"], rec["height"], "image")
                    for f in rec["findings"]:
                        _check_png(root / f["mask"], rec["width"], rec["height"], "mask")
            except ValueError as e:
                raise DatasetFormatError(f"{path}:{lineno}: {e}") from None
            records.append(rec)
    expected = meta["counts"].get(split)
    if expected is not None and expected != len(records):
        raise DatasetFormatError(f"{path}: {len(records)} rows, dataset.json counts say {expected}")
    return records


def load_image(root, record: dict) -> np.ndarray:
    """Grayscale float32 HxW in [0, 1] (8-bit / 255, 16-bit / 65535, RGB by luma)."""
    path = Path(root) / record["image"]
    try:
        with Image.open(path) as im:
            if im.mode in ("I;16", "I;16B", "I"):
                return (np.asarray(im, dtype=np.float64) / 65535.0).astype(np.float32)
            if im.mode != "L":
                im = im.convert("RGB")
                a = np.asarray(im, dtype=np.float64)
                return ((0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]) / 255.0).astype(np.float32)
            return np.asarray(im, dtype=np.float32) / 255.0
    except OSError as e:
        raise DatasetFormatError(f"{path}: unreadable image ({e})") from None


def load_mask(root, finding: dict) -> np.ndarray:
    path = Path(root) / finding["mask"]
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L")) > 127
    except OSError as e:
        raise DatasetFormatError(f"{path}: unreadable mask ({e})") from None


def label_vector(record: dict) -> np.ndarray:
    """float32 (14,) in LABELS order."""
    return np.array([record["labels"][k] for k in LABELS], dtype=np.float32)


def region_array(record: dict) -> tuple[np.ndarray, np.ndarray]:
    """(29, 4) float32 boxes in REGIONS order (zeros where absent) and (29,) bool presence."""
    boxes = np.zeros((len(REGIONS), 4), np.float32)
    present = np.zeros(len(REGIONS), bool)
    for name, b in record["regions"].items():
        boxes[REGION_INDEX[name]] = b
        present[REGION_INDEX[name]] = True
    return boxes, present


class ContractDataset:
    """Records of one split with lazy image loading."""

    def __init__(self, root, split: str, check_files: bool = True):
        self.root = Path(root)
        self.meta = read_dataset_json(self.root)
        self.split = split
        self.records = read_split(self.root, split, check_files, self.meta)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict:
        rec = self.records[i]
        return {"record": rec, "image": load_image(self.root, rec)}
