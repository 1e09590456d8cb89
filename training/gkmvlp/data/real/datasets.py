"""Large datasets a user may hold locally (downloaded, not cloned): NIH ChestX-ray14, CheXpert,
MIMIC-CXR-JPG. Their labels come from the readers in gkmvlp.data.readers; each is given to the CLI by
its own flag (--nih14 DIR, --chexpert DIR, --mimic-jpg DIR) and read as a plain folder.

Uncertain (-1) and unmentioned (blank) CheXpert/MIMIC labels are unknown: absent from the row, as on
every other source ("U-ignore"). NIH films of the full set share the split key "nih" with the NIH films
of muhammedtalo/COVID-19, so a patient lands in one split whichever copy is used; "nih14" sorts first,
so when both hold a film, its official labels are the ones kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..readers.chexpert_labels import read_chexpert_csv, read_mimic_chexpert_csv
from ..readers.common import ReaderError
from ..readers.mimic_cxr import parse_report_sections, read_metadata_csv
from ..readers.nih14 import read_nih_labels
from .source_types import Item, Source, safe_name
from .trees import Tree

VIEW = {
    "PA": "PA",
    "AP": "AP",
    "AP SUPINE": "AP supine",
    "LATERAL": "lateral",
    "LL": "lateral",
    "RL": "lateral",
    "LAT": "lateral",
    "LEFT LATERAL": "lateral",
}


def _known(labels: dict) -> dict:
    return {k: int(v) for k, v in labels.items() if v in (0, 1)}


def _first(tree: Tree, *names: str) -> Path:
    for n in names:
        if n in tree.paths:
            return Path(tree.location) / n
    raise ReaderError(f"{tree.location}: none of {list(names)} found (unpack the .csv.gz files first)")


def nih14_items(tree: Tree) -> list[Item]:
    recs = read_nih_labels(_first(tree, "Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv"))
    where = {p.rsplit("/", 1)[-1]: p for p in tree.paths if p.endswith(".png")}  # images_001/images/... too
    out = []
    for r in recs:
        stem = r["image_id"].rsplit(".", 1)[0]
        m = re.match(r"^(\d{8})_\d{3}$", stem)
        view = VIEW.get((r.get("view") or "").upper(), "unknown")
        out.append(
            Item(
                "nih14",
                stem,
                where.get(r["image_id"], f"images/{r['image_id']}"),
                patient=m.group(1) if m else stem,
                patient_known=bool(m),
                view=view,
                frontal=view != "lateral",
                labels=_known(r["labels"]),
                split_key="nih",
            )
        )
    return out


def chexpert_items(tree: Tree, prefix: str = "") -> list[Item]:
    """CheXpert's train.csv / valid.csv under `prefix` (a folder of the tree), read through the tree so that a
    git snapshot works as well as an unpacked download."""
    import tempfile

    out, have = [], set(tree.paths)
    for name in ("train.csv", "valid.csv"):
        data = tree.read(prefix + name) if prefix + name in have else None
        if data is None:
            continue
        with tempfile.TemporaryDirectory() as tmp:  # the reader checks a file's columns and rows by path
            (Path(tmp) / name).write_bytes(data)
            recs = read_chexpert_csv(Path(tmp) / name)
        for r in recs:
            rel = r["path"]
            if rel not in have and "/" in rel:
                rel = prefix + rel.split("/", 1)[1]  # Path starts with the folder name (CheXpert-v1.0-small/)
            m = re.search(r"(patient\d+)/(study\d+)/(view\d+_\w+)", rel)
            lateral = (r.get("frontal_lateral") or "").strip().lower() == "lateral"
            view = "lateral" if lateral else VIEW.get((r.get("view") or "").upper(), "unknown")
            name_ = safe_name("_".join(m.groups()) if m else rel.rsplit(".", 1)[0].replace("/", "_"))
            out.append(
                Item(
                    "chexpert",
                    name_,
                    rel,
                    patient=m.group(1) if m else name_,
                    patient_known=bool(m),
                    view=view,
                    frontal=not lateral,
                    labels=_known(r["labels"]),
                )
            )
    return out


def mimic_items(tree: Tree) -> list[Item]:
    labels = read_mimic_chexpert_csv(_first(tree, "mimic-cxr-2.0.0-chexpert.csv"))
    out = []
    for r in read_metadata_csv(_first(tree, "mimic-cxr-2.0.0-metadata.csv")):
        s = str(r["subject_id"])
        rel = f"files/p{s[:2]}/p{s}/s{r['study_id']}/{r['dicom_id']}.jpg"
        view = VIEW.get((r.get("view") or "").upper(), "unknown")
        out.append(
            Item(
                "mimic",
                safe_name(r["dicom_id"]),
                rel,
                patient=s,
                patient_known=True,
                view=view,
                frontal=view != "lateral",
                labels=_known(labels.get((r["subject_id"], r["study_id"]), {})),
            )
        )
    return out


def mimic_reports(tree: Tree) -> list[dict]:
    """MIMIC-CXR free-text reports (files/pXX/pNNN/sMMM.txt, from the MIMIC-CXR package) when present."""
    out = []
    for p in tree.paths:
        m = re.match(r"^files/p\d\d/p(\d+)/s(\d+)\.txt$", p)
        if not m:
            continue
        data = tree.read(p)
        sec = parse_report_sections((data or b"").decode("utf-8", errors="replace"))
        if sec["findings"] or sec["impression"]:
            out.append(
                {
                    "id": f"mimic:s{m.group(2)}",
                    "uid": int(m.group(2)),
                    "patient": m.group(1),
                    "findings": sec["findings"],
                    "impression": sec["impression"],
                    "indication": sec.get("indication", ""),
                    "mesh": [],
                    "problems": [],
                    "projections": [],
                }
            )
    return out


DATASETS: dict[str, Source] = {
    "nih14": Source(
        "NIH ChestX-ray14",
        ("nih14",),
        "112,120 frontal films, 14 text-mined labels",
        "NIH Clinical Center: unrestricted use; cite Wang et al., CVPR 2017",
        "Wang et al., CVPR 2017",
        False,
        items=nih14_items,
    ),
    "chexpert": Source(
        "CheXpert",
        ("chexpert",),
        "224,316 films of 65,240 patients, 14 labels",
        "Stanford CheXpert Dataset Research Use Agreement (non-commercial research)",
        "Irvin et al., AAAI 2019",
        False,
        items=chexpert_items,
    ),
    "mimic": Source(
        "MIMIC-CXR-JPG",
        ("mimic",),
        "377,110 films of 227,827 studies, CheXpert labels",
        "PhysioNet Credentialed Health Data License 1.5.0 (credentialed access; do not share)",
        "Johnson et al., MIMIC-CXR-JPG, PhysioNet 2019",
        False,
        items=mimic_items,
        reports=mimic_reports,
    ),
}
