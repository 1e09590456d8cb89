"""The assembled corpus's row format, its split rule, and `load_manifest` (validating reader).

Row of `<out>/manifest.jsonl` (one per kept film; optional keys last):
  id, source, source_commit, source_path, source_sha256, image, width, height, orig_width, orig_height,
  patient, patient_known, split, view, frontal, labels, masks, licence, dhash [, diagnosis] [, note]
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ...ontology import LABELS, REGIONS

SPLITS = ("train", "val", "test")
VIEWS = ("PA", "AP", "AP supine", "lateral", "unknown")
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)


class CorpusError(ValueError):
    """A malformed corpus: the message names the file and line."""


def split_of(source_key: str, patient: str) -> str:
    """train / val / test from sha256("<source>:<patient>"): every film of a patient lands in one split,
    and the answer never depends on which other films are in the corpus (adding a source moves nothing)."""
    u = int.from_bytes(hashlib.sha256(f"{source_key}:{patient}".encode()).digest()[:8], "big") / 2.0**64
    return "train" if u < SPLIT_FRACTIONS[0] else "val" if u < SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1] else "test"


_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_STR = (str,)
_TYPES: dict[str, tuple] = {
    "id": _STR,
    "source": _STR,
    "source_commit": (str, type(None)),
    "source_path": _STR,
    "source_sha256": _STR,
    "image": _STR,
    "width": (int,),
    "height": (int,),
    "orig_width": (int,),
    "orig_height": (int,),
    "patient": _STR,
    "patient_known": (bool,),
    "split": _STR,
    "view": _STR,
    "frontal": (bool,),
    "labels": (dict,),
    "masks": (dict,),
    "licence": _STR,
    "dhash": _STR,
}
_OPTIONAL = {"diagnosis": _STR, "note": _STR, "copy_of": _STR}  # copy_of: the id of the film this is a second copy of


def check_row(r: Any, where: str, root: Path | None = None) -> dict:
    if not isinstance(r, dict):
        raise CorpusError(f"{where}: expected a JSON object")
    missing = [k for k in _TYPES if k not in r]
    if missing:
        raise CorpusError(f"{where}: missing keys {missing}")
    for k, types in {**_TYPES, **_OPTIONAL}.items():
        if k in r and (not isinstance(r[k], types) or (bool not in types and isinstance(r[k], bool))):
            raise CorpusError(f"{where}: {k} must be {'/'.join(t.__name__ for t in types)}, got {r[k]!r}")
    extra = [k for k in r if k not in _TYPES and k not in _OPTIONAL]
    if extra:
        raise CorpusError(f"{where}: unknown keys {extra}")
    if r["split"] not in SPLITS:
        raise CorpusError(f"{where}: split {r['split']!r} not one of {SPLITS}")
    if r["view"] not in VIEWS:
        raise CorpusError(f"{where}: view {r['view']!r} not one of {VIEWS}")
    for lab, v in r["labels"].items():
        if lab not in LABELS:
            raise CorpusError(f"{where}: unknown label {lab!r} (labels are ontology.LABELS names)")
        if v not in (0, 1) or isinstance(v, bool):
            raise CorpusError(f"{where}: label {lab!r} = {v!r}; known labels are 0 or 1 (unknown ones are absent)")
    for region, rel in r["masks"].items():
        if region not in REGIONS or not isinstance(rel, str):
            raise CorpusError(f"{where}: bad mask entry {region!r}: {rel!r}")
    if not _HEX64.match(r["source_sha256"]) or not _HEX64.match(r["dhash"]):
        raise CorpusError(f"{where}: source_sha256 and dhash must be 64 lowercase hex digits")
    if min(r["width"], r["height"], r["orig_width"], r["orig_height"]) < 1:
        raise CorpusError(f"{where}: sizes must be positive")
    if root is not None:
        for rel in [r["image"], *r["masks"].values()]:
            if not (root / rel).is_file():
                raise CorpusError(f"{where}: file missing: {root / rel}")
    return r


def load_manifest(out_dir, split: str | None = None, check_files: bool = True) -> list[dict]:
    """Rows of `<out_dir>/manifest.jsonl` (all, or one split), each validated; with check_files, the
    image and mask files they name must exist. Raises CorpusError naming file and line."""
    if split is not None and split not in SPLITS:
        raise CorpusError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(out_dir)
    path = root / "manifest.jsonl"
    if not path.is_file():
        raise CorpusError(f"{path}: not found (assemble it: python -m gkmvlp.cli.assemble_real)")
    rows, seen = [], {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                raise CorpusError(f"{where}: invalid JSON: {e}") from None
            check_row(r, where, root if check_files else None)
            if r["id"] in seen:
                raise CorpusError(f"{where}: id {r['id']!r} already on line {seen[r['id']]}")
            seen[r["id"]] = n
            if split is None or r["split"] == split:
                rows.append(r)
    return rows
