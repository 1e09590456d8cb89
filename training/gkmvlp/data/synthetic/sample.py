"""One synthetic study: geometry -> findings -> anatomy layers -> drawing -> film -> ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ontology import LABELS
from .anatomy import compose, region_boxes, render_layers
from .config import GeneratorConfig
from .exposure import expose
from .findings_draw import draw_finding, zone_masks
from .findings_sample import OPACITY_CHILDREN, apply_to_geometry, sample_findings
from .geometry import sample_geometry
from .raster import bbox_of, clip_box
from .report import write_report
from .vqa import make_triplets, make_vqa

# independent random streams of one sample, so that e.g. drawing no findings keeps the anatomy
STREAM_ANATOMY, STREAM_TEXTURE, STREAM_FINDINGS, STREAM_NOISE, STREAM_TEXT, STREAM_VQA = range(6)
FILM_WIDTH_MM = 400.0


def sample_id(seed: int, index: int) -> str:
    return f"syn-{seed}-{index:06d}"


@dataclass
class SyntheticSample:
    record: dict  # contract record (image/mask paths relative to the dataset root)
    image: np.ndarray  # uint8 HxW
    masks: list  # bool HxW per record["findings"] entry
    image_float: np.ndarray  # float32 HxW in [0, 1] before 8-bit quantisation (for 16-bit DICOM)

    def __iter__(self):  # allows: record, image, masks = generate_sample(...)
        return iter((self.record, self.image, self.masks))


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(index), stream])


def generate_sample(cfg: GeneratorConfig, seed: int, index: int, draw_findings: bool = True) -> SyntheticSample:
    """Sample `index` of the set made with `seed`; depends only on (cfg, seed, index).

    draw_findings=False renders the same patient, positioning and noise without any finding
    (and a record saying so): the difference image shows exactly what the findings changed.
    """
    S = cfg.image_size
    g = sample_geometry(_rng(seed, index, STREAM_ANATOMY), S, cfg.p_ap)
    specs = sample_findings(_rng(seed, index, STREAM_FINDINGS), cfg, g.view) if draw_findings else []
    apply_to_geometry(specs, g)
    L = render_layers(g, _rng(seed, index, STREAM_TEXTURE))
    zones = zone_masks(g, L)
    drawn = []
    for spec in specs:
        mask, regs = draw_finding(spec, g, L, zones)
        drawn.append((spec, mask, regs))
    A = compose(g, L)
    image, image_f = expose(A, g.exposure, _rng(seed, index, STREAM_NOISE), cfg.noise_scale)
    regions = region_boxes(g, L)

    sid = sample_id(seed, index)
    findings, masks, details = [], [], []
    px_mm = FILM_WIDTH_MM / (S * g.frame.scale)
    for spec, mask, regs in drawn:
        box = bbox_of(mask)
        box = clip_box(box, S, 1.0) if box is not None else None
        if box is None:  # nothing of it is visible on this film: not a finding of this study
            continue
        k = len(findings)
        f = {
            "label": spec.label,
            "side": spec.side,
            "severity": spec.severity,
            "regions": [r for r in regs if r in regions] or regs,
            "box": box,
            "mask": f"masks/{sid}_{k}.png",
        }
        if spec.kind:
            f["kind"] = spec.kind
        findings.append(f)
        masks.append(mask)
        d = dict(f, **spec.extra)
        if spec.label == "Lung Lesion":
            diam_px = 2.0 * np.sqrt(mask.sum() / np.pi)
            d["size_mm"] = int(max(4, round(diam_px * px_mm)))
            d["size_cm"] = round(diam_px * px_mm / 10.0, 1)
        if spec.label == "Fracture":
            d["rib"] = int(np.random.default_rng(spec.seed).integers(3, 8)) + 2
        details.append(d)
    labels = {lab: 0 for lab in LABELS}
    for f in findings:
        labels[f["label"]] = 1
    if any(labels[c] for c in OPACITY_CHILDREN):
        labels["Lung Opacity"] = 1
    labels["No Finding"] = int(not any(v for k, v in labels.items() if k not in ("No Finding", "Support Devices")))
    report = write_report(_rng(seed, index, STREAM_TEXT), details, labels)
    record = {
        "id": sid,
        "image": f"images/{sid}.png",
        "width": S,
        "height": S,
        "view": g.view,
        "labels": labels,
        "regions": regions,
        "findings": findings,
        "report": report,
        "vqa": make_vqa(_rng(seed, index, STREAM_VQA), labels, findings, g.view, cfg.closed_questions_per_image),
        "triplets": make_triplets(labels, findings),
    }
    return SyntheticSample(record, image, masks, image_f)
