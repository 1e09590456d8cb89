"""What a corpus source is (Source) and yields (Item), the label sets the sources' folders stand for, and the small
tree helpers the source readers share (sources.py lists the sources, source_readers.py reads them)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ...ontology import LABELS
from .trees import Tree

# The pathologies NIH ChestX-ray14's 14 labels cover once mapped to CheXpert (see data/readers/nih14.py):
# a film NIH calls "No Finding" is negative for these. NIH has no Enlarged Cardiomediastinum, Fracture or
# Support Devices label, so those stay unknown even on a normal film.
NIH_COVERED = tuple(
    lab for lab in LABELS if lab not in ("No Finding", "Enlarged Cardiomediastinum", "Fracture", "Support Devices")
)
NORMAL = {"No Finding": 1, **{k: 0 for k in NIH_COVERED}}
# NIH "Pneumonia" folder: pneumonia is an airspace opacity (CheXpert puts Pneumonia under Lung Opacity);
# the folder says nothing else about the film (other NIH labels may co-occur), so the rest is unknown.
NIH_PNEUMONIA = {"Pneumonia": 1, "Lung Opacity": 1, "No Finding": 0}
# JSRT: every JPCLN film has a lung nodule (a Lung Lesion, so not normal); JPCNN films have none, but
# JSRT does not grade anything else on them, so only Lung Lesion is known.
JSRT_NODULE = {"Lung Lesion": 1, "No Finding": 0}
JSRT_NON_NODULE = {"Lung Lesion": 0}
# COVID-19 collections: the films are of (mostly PCR-proven) COVID-19 pneumonia, an airspace opacity;
# nothing else is graded. The diagnosis itself is kept in the row's `diagnosis` field.
COVID = {"Pneumonia": 1, "Lung Opacity": 1, "No Finding": 0}

# COVID-CXNet's README: a name ending in "-" is a COVID-19 patient whose film "did not reveal any
# abnormalities"; "p" marks a paediatric patient. A normal-looking film of a COVID patient must not
# teach "pneumonia", and one remark in a README is too thin to call it No Finding: no label is known.
CXNET_NORMAL_FILM: dict = {}

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".jfif", ".bmp", ".tif", ".tiff", ".webp", ".gif")


@dataclass
class Item:
    """One candidate film, before decoding."""

    key: str  # short source name, the id prefix ("nih", "jsrt", ...)
    name: str  # id within the source (file stem, made path-safe)
    path: str  # path of the image in the repository
    patient: str
    patient_known: bool
    view: str = "unknown"
    frontal: bool = True
    labels: dict = field(default_factory=dict)
    diagnosis: str | None = None
    masks: dict = field(default_factory=dict)  # ontology region -> repository path of its mask
    both_lungs_mask: str | None = None  # one mask holding both lungs (split by side later)
    note: str | None = None
    split_key: str | None = None  # patient namespace of the split rule (default: key)

    @property
    def id(self) -> str:
        return f"{self.key}:{self.name}"


@dataclass(frozen=True)
class Source:
    repo: str  # owner/name on GitHub
    keys: tuple[str, ...]  # id prefixes it yields
    holds: str
    licence: str
    attribution: str
    redistributable: bool  # licence allows copying images elsewhere with attribution
    metadata: tuple[str, ...] = ()  # metadata files it needs (reported when absent)
    items: Callable[[Tree], list] | None = None  # image sources
    reports: Callable[[Tree], list] | None = None  # report sources
    # labels for other sources' films, by item name within the keys listed (e.g. NIH's label file)
    labels_for: tuple[str, ...] = ()
    labels: Callable[[Tree], dict] | None = None
    # views of those films where the label file records them (NIH's View Position: PA / AP)
    views: Callable[[Tree], dict] | None = None
    # the commit to read in a git snapshot, when the films are not at the default branch's head (a repository
    # that later deleted its data); a checkout with a work tree is read as the user checked it out
    commit: str | None = None


def nih_copy(key: str, stem: str, path: str, patient: str, labels: dict, note: str) -> Item:
    """An NIH ChestX-ray14 film as another repository copied it: NIH's patient number, and NIH's split namespace, so a
    patient is never on both sides of a split whichever copy holds the film."""
    return Item(key, stem, path, patient=patient, patient_known=True, labels=dict(labels), split_key="nih", note=note)


def safe_name(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem)


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _images_under(tree: Tree, folder: str) -> list[str]:
    return [
        p
        for p in tree.paths
        if p.startswith(folder + "/") and "/" not in p[len(folder) + 1 :] and p.lower().endswith(IMAGE_EXT)
    ]


def _csv(tree: Tree, path: str) -> list[dict]:
    data = tree.read(path)
    if data is None:
        return []
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig", errors="replace"))))
