"""Which findings a study has (labels, sides, severities, shape parameters) and how they change
the patient geometry. Sampling uses its own random stream, separate from the anatomy's."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import SEVERITIES, GeneratorConfig
from .geometry import Geometry

SIDED = {
    "Lung Lesion",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
}
# Opacities that imply CheXpert's parent label "Lung Opacity".
OPACITY_CHILDREN = ("Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis")
DEVICE_KINDS = ("endotracheal tube", "central venous catheter", "pacemaker")


@dataclass
class FindingSpec:
    label: str
    side: str  # "left" | "right" | "bilateral" | "none"  (patient's side)
    severity: str  # "mild" | "moderate" | "severe"
    kind: str = ""  # finer type used by the drawing and the report ("nodule", "mass", device names...)
    seed: int = 0  # seed of this instance's own shape randomness
    amp: float = 1.0  # contrast multiplier (severity-dependent, jittered)
    extra: dict = field(default_factory=dict)


_AMP = {"mild": (0.22, 0.34), "moderate": (0.45, 0.65), "severe": (0.8, 1.0)}


def sample_findings(rng: np.random.Generator, cfg: GeneratorConfig, view: str) -> list[FindingSpec]:
    labels = list(cfg.finding_weights)
    weights = np.array([cfg.finding_weights[k] for k in labels])
    chosen: list[str] = []
    if rng.random() >= cfg.p_normal:
        for _ in range(100):
            chosen = [lab for lab, w in zip(labels, weights) if rng.random() < w]
            if chosen:
                break
        if not chosen:
            chosen = [labels[int(rng.integers(len(labels)))]]
        if len(chosen) > cfg.max_pathologies:
            idx = rng.choice(len(chosen), cfg.max_pathologies, replace=False)
            chosen = [chosen[i] for i in sorted(idx)]
    sev_p = np.array(cfg.severity_weights) / sum(cfg.severity_weights)
    specs: list[FindingSpec] = []
    for lab in chosen:
        sev = SEVERITIES[int(rng.choice(3, p=sev_p))]
        if lab == "Edema":
            side = "bilateral"
        elif lab in ("Cardiomegaly", "Enlarged Cardiomediastinum"):
            side = "none"
        elif lab == "Pleural Effusion" and rng.random() < 0.25:
            side = "bilateral"
        else:
            side = "left" if rng.random() < 0.5 else "right"
        kind = ""
        if lab == "Lung Lesion":
            kind = "mass" if sev == "severe" else "nodule"
        lo, hi = _AMP[sev]
        specs.append(FindingSpec(lab, side, sev, kind, int(rng.integers(2**31 - 1)), float(rng.uniform(lo, hi))))
    # a pneumothorax and an effusion on the same side would be a hydropneumothorax: keep them apart
    sides = {s.side for s in specs if s.label == "Pleural Effusion"}
    for s in specs:
        if s.label == "Pneumothorax" and (s.side in sides or "bilateral" in sides):
            s.side = "left" if s.side == "right" else "right"
            if "bilateral" in sides:
                s.label, s.kind = "Atelectasis", ""
    p_dev = cfg.p_devices_ap if view == "AP" else cfg.p_devices_pa
    if rng.random() < p_dev:
        kinds = [k for k in DEVICE_KINDS if rng.random() < 0.5] or [DEVICE_KINDS[int(rng.integers(3))]]
        for k in kinds:
            specs.append(FindingSpec("Support Devices", "none", "moderate", k, int(rng.integers(2**31 - 1)), 1.0))
    # merge duplicates of the same label (e.g. a pneumothorax turned atelectasis)
    seen: set = set()
    out = []
    for s in specs:
        key = (s.label, s.kind) if s.label == "Support Devices" else s.label
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def apply_to_geometry(specs: list[FindingSpec], g: Geometry) -> None:
    """Findings that change the anatomy itself: heart size, mediastinal width, volume loss."""
    for s in specs:
        r = np.random.default_rng(s.seed + 7)
        if s.label == "Cardiomegaly":
            lo, hi = {"mild": (0.52, 0.55), "moderate": (0.56, 0.60), "severe": (0.61, 0.67)}[s.severity]
            g.ctr = float(r.uniform(lo, hi))
        elif s.label == "Enlarged Cardiomediastinum":
            lo, hi = {"mild": (0.012, 0.018), "moderate": (0.022, 0.03), "severe": (0.034, 0.05)}[s.severity]
            g.ecm_extra = float(r.uniform(lo, hi))
        elif s.label == "Atelectasis" and s.severity != "mild":
            g.dome_raise[s.side] = 0.015 if s.severity == "moderate" else 0.03
