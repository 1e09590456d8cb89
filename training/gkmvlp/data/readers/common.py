"""Shared helpers of the real-format readers."""

from __future__ import annotations

import csv
import json
from pathlib import Path


class ReaderError(ValueError):
    """Malformed input: the message names the file and the row/line."""


def read_csv_rows(path, required: tuple[str, ...] = ()) -> list[tuple[int, dict]]:
    """[(row number counted as in a spreadsheet, header = 1), row dict]; checks required columns."""
    path = Path(path)
    if not path.is_file():
        raise ReaderError(f"{path}: file missing")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        missing = [c for c in required if c not in cols]
        if missing:
            raise ReaderError(f"{path}: missing columns {missing} (has {cols})")
        rows = []
        for i, row in enumerate(reader, 2):
            if None in row or any(v is None for v in row.values()):
                raise ReaderError(f"{path}:{i}: wrong number of fields")
            rows.append((i, row))
    return rows


def read_jsonl(path) -> list[tuple[int, dict]]:
    path = Path(path)
    if not path.is_file():
        raise ReaderError(f"{path}: file missing")
    out = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ReaderError(f"{path}:{i}: invalid JSON: {e}") from None
            if not isinstance(obj, dict):
                raise ReaderError(f"{path}:{i}: expected a JSON object")
            out.append((i, obj))
    return out


def read_json(path):
    path = Path(path)
    if not path.is_file():
        raise ReaderError(f"{path}: file missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ReaderError(f"{path}: invalid JSON: {e}") from None


def require(obj: dict, keys, where: str) -> None:
    missing = [k for k in keys if k not in obj]
    if missing:
        raise ReaderError(f"{where}: missing keys {missing}")


def check_file(path: Path, where: str) -> Path:
    if not path.is_file():
        raise ReaderError(f"{where}: referenced file missing: {path}")
    return path
