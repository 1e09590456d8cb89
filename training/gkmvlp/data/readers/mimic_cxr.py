"""MIMIC-CXR-JPG: free-text reports (files/p10/p10000032/s50414267.txt) with upper-case section
headings ("FINDINGS:", "IMPRESSION:"), the metadata CSV, and the CheXpert label CSV
(see chexpert_labels.read_mimic_chexpert_csv)."""

from __future__ import annotations

import re
from pathlib import Path

from .common import ReaderError, read_csv_rows

_HEADING = re.compile(r"^\s*([A-Z][A-Z /&-]{2,40}):", re.M)


def parse_report_sections(text: str) -> dict:
    """{"findings", "impression", plus every other heading lower-cased}; whitespace collapsed."""
    sections: dict = {}
    heads = list(_HEADING.finditer(text))
    for k, m in enumerate(heads):
        end = heads[k + 1].start() if k + 1 < len(heads) else len(text)
        name = m.group(1).strip().lower()
        body = " ".join(text[m.end() : end].split())
        sections[name] = (sections.get(name, "") + " " + body).strip()
    sections.setdefault("findings", "")
    sections.setdefault("impression", "")
    return sections


def report_path(root, subject_id: int, study_id: int) -> Path:
    s = str(subject_id)
    return Path(root) / "files" / f"p{s[:2]}" / f"p{s}" / f"s{study_id}.txt"


def read_report(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ReaderError(f"{path}: report file missing")
    text = path.read_text(encoding="utf-8", errors="replace")
    sec = parse_report_sections(text)
    if not sec["findings"] and not sec["impression"]:
        raise ReaderError(f"{path}: no FINDINGS or IMPRESSION section")
    return sec


def read_metadata_csv(path) -> list[dict]:
    """mimic-cxr-2.0.0-metadata.csv: dicom_id, subject_id, study_id, ViewPosition, Rows, Columns."""
    out = []
    for i, row in read_csv_rows(path, ("dicom_id", "subject_id", "study_id", "ViewPosition")):
        try:
            out.append(
                {
                    "dicom_id": row["dicom_id"],
                    "subject_id": int(row["subject_id"]),
                    "study_id": int(row["study_id"]),
                    "view": row["ViewPosition"] or None,
                }
            )
        except ValueError:
            raise ReaderError(f"{path}:{i}: subject_id/study_id must be integers") from None
    return out


def image_path(root, subject_id: int, study_id: int, dicom_id: str) -> Path:
    s = str(subject_id)
    return Path(root) / "files" / f"p{s[:2]}" / f"p{s}" / f"s{study_id}" / f"{dicom_id}.jpg"
