"""Chest ImaGenome scene graphs (<dicom_id>_SceneGraph.json): anatomical boxes and the
finding attributes attached to them.

objects[]: {"object_id", "bbox_name", "original_x1", "original_y1", "original_x2", "original_y2",
            "x1".."y2" (224-px resized), "width", "height"}
attributes[]: {"bbox_name", "attributes": [["anatomicalfinding|yes|lung opacity", ...], ...]}
"""

from __future__ import annotations

from ...ontology import LABELS, REGIONS
from .common import ReaderError, read_json, require

_REGIONS = set(REGIONS)
_FINDING_TO_LABEL = {lab.lower(): lab for lab in LABELS}
_FINDING_TO_LABEL.update(
    {
        "pleural effusion": "Pleural Effusion",
        "lung lesion": "Lung Lesion",
        "enlarged cardiac silhouette": "Cardiomegaly",
        "mass/nodule (not otherwise specified)": "Lung Lesion",
        "enlarged hilum": None,
        "fracture": "Fracture",
        "rib fracture": "Fracture",
        "pulmonary edema/hazy opacity": "Edema",
        "costophrenic angle blunting": "Pleural Effusion",
    }
)


def read_scene_graph(path, original: bool = True) -> dict:
    """{"image_id", "boxes": {region: [x1, y1, x2, y2]}, "other_boxes": {...}, "triplets": [...]}.

    original=True uses the original_* (full-resolution) coordinates, else the 224-px ones.
    Boxes named outside the 29 regions (e.g. "left arm") go to other_boxes.
    """
    g = read_json(path)
    if not isinstance(g, dict):
        raise ReaderError(f"{path}: expected a JSON object")
    require(g, ("objects",), str(path))
    pre = "original_" if original else ""
    boxes, other = {}, {}
    for i, o in enumerate(g["objects"]):
        where = f"{path}: objects[{i}]"
        keys = ("bbox_name", pre + "x1", pre + "y1", pre + "x2", pre + "y2")
        require(o, keys, where)
        try:
            b = [float(o[k]) for k in keys[1:]]
        except (TypeError, ValueError):
            raise ReaderError(f"{where}: box coordinates must be numbers") from None
        if not (b[0] < b[2] and b[1] < b[3]):
            raise ReaderError(f"{where}: empty box {b}")
        (boxes if o["bbox_name"] in _REGIONS else other)[o["bbox_name"]] = b
    triplets = []
    for i, a in enumerate(g.get("attributes", [])):
        region = a.get("bbox_name")
        for group in a.get("attributes", []):
            for att in group:
                parts = str(att).split("|")
                if len(parts) != 3:
                    raise ReaderError(f"{path}: attributes[{i}]: malformed attribute {att!r}")
                _, yn, name = parts
                lab = _FINDING_TO_LABEL.get(name.strip().lower())
                if lab and region in _REGIONS:
                    t = [lab, region, "present" if yn == "yes" else "absent"]
                    if t not in triplets:
                        triplets.append(t)
    image_id = g.get("image_id") or str(path).rsplit("/", 1)[-1].replace("_SceneGraph.json", "")
    return {"image_id": image_id, "boxes": boxes, "other_boxes": other, "triplets": triplets}
