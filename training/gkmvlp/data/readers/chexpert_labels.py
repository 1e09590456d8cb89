"""CheXpert-style label CSVs: CheXpert's train.csv/valid.csv and MIMIC-CXR-JPG's
mimic-cxr-2.0.0-chexpert.csv. Cell values: 1 positive, 0 negative, -1 uncertain, blank = not
mentioned (None)."""

from __future__ import annotations

from ...ontology import LABELS
from .common import ReaderError, read_csv_rows


def parse_label_value(v: str, where: str):
    v = (v or "").strip()
    if v == "":
        return None
    try:
        f = float(v)
    except ValueError:
        raise ReaderError(f"{where}: label value {v!r} is not 1, 0, -1 or blank") from None
    if f not in (1.0, 0.0, -1.0):
        raise ReaderError(f"{where}: label value {v!r} is not 1, 0, -1 or blank")
    return int(f)


def parse_labels(row: dict, where: str) -> dict:
    return {lab: parse_label_value(row[lab], f"{where} column {lab!r}") for lab in LABELS}


def read_chexpert_csv(path) -> list[dict]:
    """CheXpert train.csv / valid.csv: Path, Sex, Age, Frontal/Lateral, AP/PA + the 14 labels."""
    rows = read_csv_rows(path, ("Path",) + LABELS)
    out = []
    for i, row in rows:
        where = f"{path}:{i}"
        if not row["Path"].strip():
            raise ReaderError(f"{where}: empty Path")
        age = row.get("Age", "").strip()
        out.append(
            {
                "path": row["Path"].strip(),
                "sex": row.get("Sex"),
                "age": int(float(age)) if age else None,
                "frontal_lateral": row.get("Frontal/Lateral"),
                "view": row.get("AP/PA") or None,
                "labels": parse_labels(row, where),
            }
        )
    return out


def read_mimic_chexpert_csv(path) -> dict:
    """mimic-cxr-2.0.0-chexpert.csv (or -negbio.csv): subject_id, study_id + 14 labels ->
    {(subject_id, study_id): labels}."""
    out = {}
    for i, row in read_csv_rows(path, ("subject_id", "study_id") + LABELS):
        where = f"{path}:{i}"
        try:
            key = (int(row["subject_id"]), int(row["study_id"]))
        except ValueError:
            raise ReaderError(f"{where}: subject_id/study_id must be integers") from None
        if key in out:
            raise ReaderError(f"{where}: duplicate study {key}")
        out[key] = parse_labels(row, where)
    return out
