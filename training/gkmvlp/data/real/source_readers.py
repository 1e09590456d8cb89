"""How each public repository's folders and metadata become corpus items and labels (as data, each with the
reason). sources.py says which reader serves which repository."""

from __future__ import annotations

import re

from .source_types import (
    COVID,
    CXNET_NORMAL_FILM,
    JSRT_NODULE,
    JSRT_NON_NODULE,
    NIH_PNEUMONIA,
    NORMAL,
    Item,
    _csv,
    _images_under,
    _stem,
    nih_copy,
    safe_name,
)
from .trees import Tree

# --- muhammedtalo/COVID-19 -------------------------------------------------------------------------
TALO = "X-Ray Image DataSet"
NIH_NAME = re.compile(r"^(\d{8})_(\d{3})$")


def covid_group(stem: str) -> str:
    """Films of one case share a group (patients are not given): a figure of a publication, or one
    name with day/view/panel suffixes. Over-grouping only coarsens the split; under-grouping leaks."""
    s = stem.lower()
    m = re.match(r"^(.{5,}?)[._-](?:f|fig|gr|g)[-_]?\d+", s)
    if m:
        return m.group(1)
    s = re.sub(r"(?<=[-_.])[a-h]\d?(?=[-_.])", "", s)  # a panel letter inside: auntminnie-a-2020_01_28...
    prev = None
    while prev != s:
        prev = s
        s = re.sub(r"([-_.](day-?\d+|pa|ap|admission|\d+-(hours|days)|left|right|[a-h]\d?)|(?<=\d)[a-h]\d?)$", "", s)
    return s


def talo_items(tree: Tree) -> list[Item]:
    out = []
    for folder, labels in (("No_findings", NORMAL), ("Pneumonia", NIH_PNEUMONIA)):
        for p in _images_under(tree, f"{TALO}/{folder}"):
            stem = _stem(p)
            m = NIH_NAME.match(stem)
            # NIH file names carry the patient; the README says these are frontal films, views not given
            out.append(
                Item("nih", stem, p, patient=m.group(1) if m else stem, patient_known=bool(m), labels=dict(labels))
            )
    for p in _images_under(tree, f"{TALO}/Covid-19"):
        stem = _stem(p)
        view = "PA" if re.search(r"(^|[-_.])pa([-_.]|$)", stem.lower()) else "unknown"
        out.append(
            Item(
                "talo-covid",
                safe_name(stem),
                p,
                patient=covid_group(stem),
                patient_known=False,
                view=view,
                labels=dict(COVID),
                diagnosis="COVID-19",
            )
        )
    return out


# --- NIH ChestX-ray14 labels (qqto2008/capstone: the official Data_Entry_2017.csv, first 40,000 rows) ---------
# The NIH films of the other sources carry only their folder's label; where NIH's own label file lists a film, its
# full finding list (mapped to CheXpert by data/readers/nih14.py) replaces that: known positives and negatives for
# every label NIH grades, unknown for the three it does not (Enlarged Cardiomediastinum, Fracture, Support Devices).
NIH_ENTRY = "Data_Entry_2017.csv"


def nih_entry_labels(tree: Tree) -> dict[str, dict]:
    from ..readers.common import ReaderError
    from ..readers.nih14 import _parse_finding_labels, to_chexpert

    out = {}
    for r in _csv(tree, NIH_ENTRY):
        name = (r.get("Image Index") or "").strip()
        if not NIH_NAME.match(name.rsplit(".", 1)[0]):
            continue
        try:
            labels = to_chexpert(_parse_finding_labels(r.get("Finding Labels") or "", name))
        except ReaderError:
            continue  # a malformed row (e.g. the file's last, cut-off line): its film keeps its folder label
        out[name.rsplit(".", 1)[0]] = {k: v for k, v in labels.items() if v is not None}
    return out


def nih_entry_views(tree: Tree) -> dict[str, str]:
    """NIH's View Position of every film its Data_Entry file lists (the selection in muhammedtalo/COVID-19 has
    no view of its own, and view is a known confounder of NIH findings: portable AP films of sicker patients)."""
    out = {}
    for r in _csv(tree, NIH_ENTRY):
        name = (r.get("Image Index") or "").strip().rsplit(".", 1)[0]
        view = {"PA": "PA", "AP": "AP"}.get((r.get("View Position") or "").strip().upper())
        if NIH_NAME.match(name) and view:
            out[name] = view
    return out


# --- dinbe0527/kcr2019d1: 1,000 NIH films at 64 x 64 (NIH1000/{train,valid,test}/{0_normal,1_abnormal}) ------
KCR = "NIH1000"


def kcr_items(tree: Tree) -> list[Item]:
    out = []
    for split in ("train", "valid", "test"):
        for folder, labels in (("0_normal", NORMAL), ("1_abnormal", {"No Finding": 0})):
            for p in _images_under(tree, f"{KCR}/{split}/{folder}"):
                stem = _stem(p)
                m = NIH_NAME.match(stem)
                if not m:
                    continue
                # the same patients as the other NIH films: one split namespace, so a patient is never on both sides
                out.append(nih_copy("nih64", stem, p, m.group(1), labels, "64 x 64 thumbnail"))
    return out


# --- pelagecha/Cancer-Detection @ec0b2b9e: 10,000 NIH films at 128 x 128 (dataset/<split>/<NIH finding>/<file>) ------
# The films were deleted from the repository later; the commit is pinned. A film with several findings lies in each
# of their folders: its labels are the union (this matches Data_Entry_2017.csv for the films both list). The
# repository's own train/validate/test folders split by image, not patient: they are ignored, and the films join
# the NIH patient namespace of the other NIH sources.
CANCER_DETECTION = "dataset"
CANCER_DETECTION_COMMIT = "ec0b2b9e2c176f51098156e79f2de2ffbe0fa643"


def cancer_detection_items(tree: Tree) -> list[Item]:
    from ..readers.common import ReaderError
    from ..readers.nih14 import _parse_finding_labels, to_chexpert

    found: dict[str, tuple[str, set[str]]] = {}
    for p in tree.paths:
        parts = p.split("/")
        if len(parts) != 4 or parts[0] != CANCER_DETECTION or not p.lower().endswith(".png"):
            continue
        stem = _stem(p)
        if not NIH_NAME.match(stem):
            continue
        path, folders = found.setdefault(stem, (p, set()))
        folders.add(parts[2])
    out = []
    for stem, (path, folders) in sorted(found.items()):
        try:
            labels = to_chexpert(_parse_finding_labels("|".join(sorted(folders)), stem))
        except ReaderError:
            continue  # e.g. "No Finding" and a finding folder for one film: contradictory, left out
        known = {k: v for k, v in labels.items() if v is not None}
        out.append(nih_copy("nih128", stem, path, NIH_NAME.match(stem).group(1), known, "128 x 128 copy"))
    return out


# --- rishabhbhardwaj/ChestXRay-Classification: CheXpert-v1.0-small's validation set (valid.csv + 234 films) -------
# 200 patients, frontal and lateral views, labels by a consensus of three radiologists (not text-mined). Its real
# lateral films are what the input check learns to refuse; read with the CheXpert reader of datasets.py.
CHEXPERT_SMALL = "CheXpert-v1.0-small/"


def chexpert_valid_items(tree: Tree) -> list[Item]:
    from .datasets import chexpert_items

    return chexpert_items(tree, CHEXPERT_SMALL)


# --- AnishHota/JSRT-Segmentation -------------------------------------------------------------------
JSRT_IMAGES = "JSRT/jsrt_images/images"
# SCR mask folders -> ontology regions. SCR's "right lung" is the patient's right (image left on a PA
# film); assemble.py checks that side on every film.
JSRT_MASKS = {
    "right_lung_png": "right lung",
    "left_lung_png": "left lung",
    "heart_png": "cardiac silhouette",
    "right_clavicle_png": "right clavicle",
    "left_clavicle_png": "left clavicle",
}


def jsrt_items(tree: Tree) -> list[Item]:
    out, have = [], set(tree.paths)
    for p in _images_under(tree, JSRT_IMAGES):
        stem = _stem(p).split(".")[0]  # JPCLN001.IMG.png -> JPCLN001
        if not stem.startswith(("JPCLN", "JPCNN")):
            continue
        masks = {
            region: f"JSRT/masks/masks/{folder}/{stem}.png"
            for folder, region in JSRT_MASKS.items()
            if f"JSRT/masks/masks/{folder}/{stem}.png" in have
        }
        labels = JSRT_NODULE if stem.startswith("JPCLN") else JSRT_NON_NODULE
        # one film per patient in JSRT; all are PA
        out.append(Item("jsrt", stem, p, patient=stem, patient_known=True, view="PA", labels=dict(labels), masks=masks))
    return out


# --- pi-null-mezon/OpenIST -------------------------------------------------------------------------
OPENIST = "Datasets/Chest_x-ray"


def openist_items(tree: Tree) -> list[Item]:
    out, have = [], set(tree.paths)
    for p in _images_under(tree, OPENIST):
        stem = _stem(p)
        if stem.endswith("@"):
            continue
        mask = f"{OPENIST}/{stem}@.png"
        # Datasets/README.md: "x-ray images of normal human chest" from a normal-CXR teaching module;
        # no patient ids, so each film is its own patient. The @ mask holds both lungs (0/255).
        out.append(
            Item(
                "openist",
                safe_name(stem),
                p,
                patient=safe_name(stem),
                patient_known=False,
                labels=dict(NORMAL),
                both_lungs_mask=mask if mask in have else None,
            )
        )
    return out


# --- armiro/COVID-CXNet ----------------------------------------------------------------------------
CXNET = "chest_xray_images/covid19"
META_VIEW = {
    "pa": "PA",
    "ap": "AP",
    "ap supine": "AP supine",
    "ap_supine": "AP supine",
    "l": "lateral",
    "ll": "lateral",
    "lateral": "lateral",
    "lat": "lateral",
}


def cxnet_items(tree: Tree) -> list[Item]:
    # metadata.csv names some files with another extension case (374.png for 374.PNG): match by stem
    meta = {r.get("filename", "").rsplit(".", 1)[0].lower(): r for r in _csv(tree, "metadata.csv")}
    out = []
    for p in _images_under(tree, CXNET):
        stem = _stem(p)
        r = meta.get(stem.lower())
        view = META_VIEW.get((r or {}).get("view", "").strip().lower(), "unknown")
        pid = (r or {}).get("patient_id", "").strip()
        # the folder is COVID-19 unless the metadata row says otherwise (one row has no label, PCR negative)
        covid = r is None or r.get("label", "").strip() == "COVID-19"
        labels = dict(COVID) if covid else {}
        note = None
        if stem.rstrip("p").endswith("-"):
            labels = dict(CXNET_NORMAL_FILM)
            note = "COVID-19 patient, film without visible abnormality (name ends in '-')"
        if re.search(r"p-?$", stem):
            note = ((note + "; ") if note else "") + "paediatric patient"
        out.append(
            Item(
                "cxnet",
                safe_name(stem),
                p,
                patient=pid or safe_name(stem),
                patient_known=bool(pid),
                view=view,
                frontal=view != "lateral",
                labels=labels,
                diagnosis="COVID-19" if covid else None,
                note=note,
            )
        )
    return out


# --- ml-workgroup/covid-19-image-repository --------------------------------------------------------
def hannover_items(tree: Tree) -> list[Item]:
    out = []
    for r in _csv(tree, "data.csv"):
        iid, pid = r.get("image_id", "").strip(), r.get("patient_id", "").strip()
        if not iid:
            continue
        view = META_VIEW.get(r.get("projection", "").strip().lower(), "unknown")
        out.append(
            Item(
                "hannover",
                safe_name(iid),
                f"png/{iid}.png",
                patient=pid or iid,
                patient_known=bool(pid),
                view=view,
                frontal=view != "lateral",
                labels=dict(COVID),
                diagnosis="COVID-19",
            )
        )
    return sorted(out, key=lambda it: it.name)


# --- IU X-ray reports (text only) ------------------------------------------------------------------
def _split_list(s: str) -> list[str]:
    return [x.strip() for x in (s or "").split(";") if x.strip()]


def iu_reports(tree: Tree) -> list[dict]:
    proj: dict[str, list[str]] = {}
    for r in _csv(tree, "indiana_projections.csv"):
        proj.setdefault(r.get("uid", "").strip(), []).append(r.get("projection", "").strip())
    out = []
    for r in _csv(tree, "indiana_reports.csv"):
        uid = r.get("uid", "").strip()
        findings, impression = (r.get("findings") or "").strip(), (r.get("impression") or "").strip()
        if not uid.isdigit() or not (findings or impression):
            continue
        out.append(
            {
                "id": f"iu:{uid}",
                "uid": int(uid),
                "findings": findings,
                "impression": impression,
                "indication": (r.get("indication") or "").strip(),
                "mesh": _split_list(r.get("MeSH")),
                "problems": _split_list(r.get("Problems")),
                "projections": sorted(proj.get(uid, [])),
            }
        )
    return sorted(out, key=lambda x: x["uid"])
