"""IU X-Ray (Open-i, NLMCXR): the original per-report XML files (ecgen-radiology/<n>.xml) and the
text-only JSONL sample in /work/shared/data/report_iu_xray_text_only.

XML: <eCitation><MedlineCitation><Article><Abstract><AbstractText Label="FINDINGS">...; images as
<parentImage id="CXR1_1_IM-0001-3001">; MeSH terms under <MeSH><major>...</major><automatic>.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .common import ReaderError, read_jsonl, require

SECTIONS = ("comparison", "indication", "findings", "impression")


def read_openi_xml(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ReaderError(f"{path}: file missing")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ReaderError(f"{path}: malformed XML: {e}") from None
    rec = {k: "" for k in SECTIONS}
    found = False
    for node in root.iter("AbstractText"):
        label = (node.get("Label") or "").strip().lower()
        if label in rec:
            rec[label] = (node.text or "").strip()
            found = True
    if not found:
        raise ReaderError(f"{path}: no AbstractText sections (not an Open-i report?)")
    rec["image_ids"] = [n.get("id") for n in root.iter("parentImage") if n.get("id")]
    rec["mesh_major"] = [(n.text or "").strip() for n in root.iter("major")]
    rec["mesh_automatic"] = [(n.text or "").strip() for n in root.iter("automatic")]
    pmc = root.find(".//pmcId")
    rec["report_id"] = int(pmc.get("id")) if pmc is not None and (pmc.get("id") or "").isdigit() else path.stem
    rec["xml_file"] = path.name
    return rec


def read_openi_dir(folder) -> list[dict]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ReaderError(f"{folder}: folder missing")
    files = sorted(folder.glob("*.xml"), key=lambda p: (len(p.stem), p.stem))
    return [read_openi_xml(p) for p in files]


def read_iu_text_jsonl(path) -> list[dict]:
    """The text-only sample: report_id, xml_file, image_ids, comparison, indication, findings,
    impression, mesh_major."""
    out = []
    for line, obj in read_jsonl(path):
        where = f"{path}:{line}"
        require(obj, ("report_id", "findings", "impression", "mesh_major"), where)
        if not isinstance(obj["findings"], str) or not isinstance(obj["impression"], str):
            raise ReaderError(f"{where}: findings/impression must be strings")
        if not isinstance(obj["mesh_major"], list):
            raise ReaderError(f"{where}: mesh_major must be a list")
        out.append(obj)
    return out
