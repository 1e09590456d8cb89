"""NIH ChestX-ray14: labels (official Data_Entry_2017.csv, or the manifest.csv of
/work/shared/data/classification_nih14) and radiologist boxes (official BBox_List_2017.csv, or the
manifest.csv of /work/shared/data/localization_nih_bbox), mapped to the CheXpert label space.

NIH -> CheXpert mapping (NIH labels are text-mined, ~90% accurate):
  Atelectasis -> Atelectasis          Cardiomegaly -> Cardiomegaly      Effusion -> Pleural Effusion
  Infiltration -> Lung Opacity        Mass -> Lung Lesion               Nodule -> Lung Lesion
  Pneumonia -> Pneumonia              Pneumothorax -> Pneumothorax      Consolidation -> Consolidation
  Edema -> Edema                      Pleural_Thickening -> Pleural Other
  No Finding -> No Finding            Emphysema, Fibrosis, Hernia -> (no CheXpert counterpart, kept in nih_labels)
Lung Opacity is also set when a CheXpert child of it (Lung Lesion, Edema, Consolidation, Pneumonia,
Atelectasis) is positive, following CheXpert's hierarchy. Enlarged Cardiomediastinum, Fracture and
Support Devices are not annotated in NIH: they are None (unknown), never 0.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ...ontology import LABELS
from .common import ReaderError, check_file, read_csv_rows

NIH_LABELS = (
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
)
NIH_TO_CHEXPERT = {
    "Atelectasis": "Atelectasis",
    "Cardiomegaly": "Cardiomegaly",
    "Effusion": "Pleural Effusion",
    "Infiltration": "Lung Opacity",
    "Mass": "Lung Lesion",
    "Nodule": "Lung Lesion",
    "Pneumonia": "Pneumonia",
    "Pneumothorax": "Pneumothorax",
    "Consolidation": "Consolidation",
    "Edema": "Edema",
    "Pleural_Thickening": "Pleural Other",
    "No Finding": "No Finding",
}
_ALIASES = {"Infiltrate": "Infiltration", "Pleural Thickening": "Pleural_Thickening", "No_Finding": "No Finding"}
UNKNOWN_IN_NIH = ("Enlarged Cardiomediastinum", "Fracture", "Support Devices")
_CHILDREN = ("Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis")


def normalise_nih_label(name: str, where: str) -> str:
    n = _ALIASES.get(name.strip(), name.strip())
    if n not in NIH_LABELS and n != "No Finding":
        raise ReaderError(f"{where}: unknown NIH label {name!r}")
    return n


def to_chexpert(nih: set) -> dict:
    out = {lab: 0 for lab in LABELS}
    for lab in UNKNOWN_IN_NIH:
        out[lab] = None
    for n in nih:
        if n in NIH_TO_CHEXPERT:
            out[NIH_TO_CHEXPERT[n]] = 1
    if any(out[c] == 1 for c in _CHILDREN):
        out["Lung Opacity"] = 1
    out["No Finding"] = int("No Finding" in nih or not any(out[k] == 1 for k in LABELS if k != "No Finding"))
    return out


def _parse_finding_labels(s: str, where: str) -> set:
    labs = {normalise_nih_label(x, where) for x in s.split("|") if x.strip()}
    if not labs:
        raise ReaderError(f"{where}: empty Finding Labels")
    if "No Finding" in labs and len(labs) > 1:
        raise ReaderError(f"{where}: 'No Finding' together with findings {sorted(labs)}")
    return labs


def read_nih_labels(path, image_root=None) -> list[dict]:
    """Either the official Data_Entry_2017(_v2020).csv or the shared sample's manifest.csv."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") if path.is_file() else _missing(path) as fh:
        header = next(csv.reader(fh), [])
    official = "Image Index" in header
    req = ("Image Index", "Finding Labels") if official else ("image_path", "image_id", "finding_labels")
    out = []
    for i, row in read_csv_rows(path, req):
        where = f"{path}:{i}"
        nih = _parse_finding_labels(row["Finding Labels" if official else "finding_labels"], where)
        if not official:  # the manifest also has one 0/1 column per label: they must agree
            for lab in NIH_LABELS:
                if lab in row and row[lab].strip() not in ("0", "1"):
                    raise ReaderError(f"{where}: column {lab!r} must be 0/1, got {row[lab]!r}")
                if lab in row and (row[lab].strip() == "1") != (lab in nih):
                    raise ReaderError(f"{where}: column {lab!r} disagrees with finding_labels")
        image_id = row["Image Index" if official else "image_id"]
        rel = row.get("image_path") or image_id
        rec = {
            "image_id": image_id,
            "nih_labels": sorted(nih),
            "labels": to_chexpert(nih),
            "view": row.get("View Position") or row.get("view_position") or None,
            "patient_id": row.get("Patient ID") or row.get("patient_id"),
        }
        if image_root is not None:
            rec["image"] = str(check_file(Path(image_root) / rel, where))
        out.append(rec)
    return out


def read_nih_boxes(path, image_root=None) -> list[dict]:
    """Boxes as [x1, y1, x2, y2] in image pixels, with the NIH label and its CheXpert label.
    Official BBox_List_2017.csv (Image Index, Finding Label, Bbox [x, y, w, h]) or the shared manifest
    (image_path, image_id, finding_label, x, y, w, h, ...)."""
    path = Path(path)
    if not path.is_file():
        _missing(path)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ReaderError(f"{path}: empty file")
    header = rows[0]
    official = header[0].strip() == "Image Index"
    if not official:
        need = ("image_id", "finding_label", "x", "y", "w", "h")
        missing = [c for c in need if c not in header]
        if missing:
            raise ReaderError(f"{path}: missing columns {missing}")
        col = {c: header.index(c) for c in header}
    out = []
    for i, r in enumerate(rows[1:], 2):
        where = f"{path}:{i}"
        if not any(x.strip() for x in r):
            continue
        try:
            if official:
                image_id, lab, vals = r[0], r[1], r[2:6]
            else:
                image_id, lab = r[col["image_id"]], r[col["finding_label"]]
                vals = [r[col[k]] for k in ("x", "y", "w", "h")]
            x, y, w, h = (float(v) for v in vals)
        except (IndexError, ValueError):
            raise ReaderError(f"{where}: expected image id, label and numeric x, y, w, h") from None
        if w <= 0 or h <= 0:
            raise ReaderError(f"{where}: box has non-positive size")
        nih = normalise_nih_label(lab, where)
        rec = {"image_id": image_id, "nih_label": nih, "label": NIH_TO_CHEXPERT.get(nih), "box": [x, y, x + w, y + h]}
        if image_root is not None:
            rel = r[col["image_path"]] if not official and "image_path" in col else image_id
            rec["image"] = str(check_file(Path(image_root) / rel, where))
        out.append(rec)
    return out


def _missing(path):
    raise ReaderError(f"{path}: file missing")
