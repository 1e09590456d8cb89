"""Radiology report writer: FINDINGS + IMPRESSION with varied phrasing, laterality, severity,
negations and the redundant normal statements, with per-sentence labels and regions.

Every positive finding is stated definitely (no hedging), so the report's mentions match the
labels exactly; the rule-based labeller (gkmvlp.text.labeller) is tested against this.
"""

from __future__ import annotations

import numpy as np

from .findings_sample import OPACITY_CHILDREN

SEV_ADJ = {"mild": ["mild", "minimal", "slight"], "moderate": ["moderate"], "severe": ["severe", "marked"]}
SIZE_ADJ = {"mild": ["small", "trace"], "moderate": ["moderate", "moderate-sized"], "severe": ["large"]}
ZONE_TEXT = {
    "upper lung zone": ["{s} upper lung zone", "{s} upper lung"],
    "mid lung zone": ["{s} mid lung zone", "{s} mid lung"],
    "lower lung zone": ["{s} lower lung zone", "{s} lung base", "{s} base"],
    "apical zone": ["{s} apex", "{s} apical zone"],
}


def _c(rng, options):
    return options[int(rng.integers(len(options)))]


def _where(rng, f) -> str:
    """Text location of a lung finding from its most involved zone."""
    for r in f["regions"]:
        for z, opts in ZONE_TEXT.items():
            if r.endswith(z):
                return _c(rng, opts).format(s=r.split(" ")[0])
    return f"{f['side']} lung"


def _sentence(text, labels=(), regions=(), normal=False, negated=(), section="findings"):
    labels = list(labels)
    if any(lab in OPACITY_CHILDREN for lab in labels) and "Lung Opacity" not in labels:
        labels.append("Lung Opacity")
    return {
        "text": text,
        "labels": labels,
        "regions": list(regions),
        "normal": normal,
        "negated": list(negated),
        "section": section,
    }


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def finding_sentence(rng, f) -> str:
    lab, sev, side = f["label"], f["severity"], f["side"]
    if lab == "Cardiomegaly":
        return _c(
            rng,
            [
                f"{_cap(_c(rng, SEV_ADJ[sev]))} cardiomegaly.",
                f"The heart is {_c(rng, SEV_ADJ[sev])}ly enlarged.",
                f"The cardiac silhouette is {_c(rng, SEV_ADJ[sev])}ly enlarged.",
            ],
        )
    if lab == "Enlarged Cardiomediastinum":
        return _c(
            rng,
            [
                f"{_cap(_c(rng, SEV_ADJ[sev]))} widening of the superior mediastinum.",
                f"The mediastinum is {_c(rng, SEV_ADJ[sev])}ly widened.",
                f"{_cap(_c(rng, SEV_ADJ[sev]))} enlargement of the cardiomediastinal silhouette.",
            ],
        )
    if lab == "Pleural Effusion":
        if side == "bilateral":
            return _c(
                rng,
                [
                    f"{_cap(_c(rng, SIZE_ADJ[sev]))} bilateral pleural effusions.",
                    f"There are {_c(rng, SIZE_ADJ[sev])} bilateral pleural effusions.",
                ],
            )
        if sev == "mild":
            return _c(
                rng,
                [
                    f"Blunting of the {side} costophrenic angle consistent with a small pleural effusion.",
                    f"Small {side} pleural effusion.",
                ],
            )
        return _c(
            rng,
            [
                f"{_cap(_c(rng, SIZE_ADJ[sev]))} {side} pleural effusion.",
                f"There is a {_c(rng, SIZE_ADJ[sev])} {side} pleural effusion.",
            ],
        )
    if lab == "Pneumothorax":
        apical = " apical" if any("apical" in r for r in f["regions"][:3]) and sev == "mild" else ""
        return _c(
            rng,
            [
                f"{_cap(_c(rng, SIZE_ADJ[sev]))} {side}{apical} pneumothorax.",
                f"There is a {_c(rng, SIZE_ADJ[sev])} {side}{apical} pneumothorax.",
            ],
        )
    if lab == "Consolidation":
        w = _where(rng, f)
        tail = " with air bronchograms" if sev != "mild" else ""
        adj = {"mild": "small focal", "moderate": "", "severe": "dense"}[sev]
        return _c(
            rng,
            [
                f"{_cap((adj + ' consolidation').strip())} in the {w}{tail}.",
                f"There is {(adj + ' consolidation').strip()} in the {w}{tail}.",
            ],
        )
    if lab == "Pneumonia":
        w = _where(rng, f)
        adj = {"mild": "subtle patchy", "moderate": "patchy", "severe": "extensive patchy"}[sev]
        return _c(
            rng,
            [
                f"{_cap(adj)} airspace opacity in the {w}, consistent with pneumonia.",
                f"{_cap(adj)} opacity in the {w} compatible with pneumonia.",
            ],
        )
    if lab == "Atelectasis":
        w = _where(rng, f)
        if sev == "severe":
            return f"Collapse of the {side} lower lobe with volume loss (lobar atelectasis)."
        if sev == "moderate":
            return f"Subsegmental atelectasis in the {w} with slight elevation of the {side} hemidiaphragm."
        return _c(rng, [f"Linear atelectasis in the {w}.", f"Plate-like atelectasis at the {w}."])
    if lab == "Edema":
        return {
            "mild": _c(
                rng,
                [
                    "Mild interstitial pulmonary edema.",
                    "Mild pulmonary vascular congestion with perihilar haziness consistent with mild edema.",
                ],
            ),
            "moderate": "Moderate pulmonary edema with bilateral perihilar opacities.",
            "severe": _c(
                rng,
                [
                    "Severe bilateral alveolar pulmonary edema.",
                    "Marked pulmonary edema with confluent perihilar opacities.",
                ],
            ),
        }[sev]
    if lab == "Lung Lesion":
        w = _where(rng, f)
        if f.get("kind") == "mass":
            return _c(rng, [f"A {f.get('size_cm', 3)} cm mass is seen in the {w}.", f"Lobulated mass in the {w}."])
        return _c(
            rng,
            [
                f"A {f.get('size_mm', 8)} mm nodule is seen in the {w}.",
                f"There is a {f.get('size_mm', 8)} mm pulmonary nodule in the {w}.",
            ],
        )
    if lab == "Fracture":
        n = f.get("rib", 6)
        ordn = {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")
        adj = {"mild": "nondisplaced", "moderate": "minimally displaced", "severe": "displaced"}[sev]
        return _c(
            rng,
            [
                f"{_cap(adj)} fracture of the {side} {ordn} rib.",
                f"There is a {adj} fracture of the {side} lateral {ordn} rib.",
            ],
        )
    if lab == "Pleural Other":
        if f.get("where") == "apical":
            return f"{_cap(_c(rng, SEV_ADJ[sev]))} {side} apical pleural thickening."
        return _c(
            rng,
            [
                f"{_cap(_c(rng, SEV_ADJ[sev]))} pleural thickening along the {side} lateral chest wall.",
                f"There is {_c(rng, SEV_ADJ[sev])} {side} pleural thickening.",
            ],
        )
    if lab == "Support Devices":
        return {
            "endotracheal tube": _c(
                rng,
                [
                    "An endotracheal tube terminates above the carina.",
                    "Endotracheal tube in standard position above the carina.",
                ],
            ),
            "central venous catheter": _c(
                rng,
                [
                    "A right-sided central venous catheter terminates in the SVC.",
                    "Right central line with the tip at the cavoatrial junction.",
                ],
            ),
            "pacemaker": _c(
                rng,
                [
                    "A left-sided pacemaker with leads in the right atrium and right ventricle.",
                    "Left chest wall pacemaker device with intact leads.",
                ],
            ),
        }[f["kind"]]
    raise ValueError(f"no template for {lab}")


NORMALS = {
    "heart": (
        ["Cardiomegaly", "Enlarged Cardiomediastinum"],
        ["cardiac silhouette", "mediastinum"],
        [
            "The cardiomediastinal silhouette is within normal limits.",
            "Heart size and mediastinal contours are normal.",
            "Normal heart size and mediastinal contours.",
            "The heart and mediastinum are unremarkable.",
        ],
    ),
    "heart_only": (["Cardiomegaly"], ["cardiac silhouette"], ["Heart size is normal.", "The heart is not enlarged."]),
    "mediastinum_only": (
        ["Enlarged Cardiomediastinum"],
        ["mediastinum"],
        ["The mediastinal contours are normal.", "The mediastinum is not widened."],
    ),
    "lungs": (
        ["Lung Opacity", "Consolidation", "Pneumonia", "Lung Lesion", "Edema", "Atelectasis"],
        ["right lung", "left lung"],
        ["The lungs are clear.", "The lungs are clear without focal consolidation.", "No focal airspace opacity."],
    ),
    "consolidation": (
        ["Consolidation"],
        ["right lung", "left lung"],
        ["No focal consolidation.", "There is no focal consolidation."],
    ),
    "edema": (["Edema"], ["right lung", "left lung"], ["No pulmonary edema.", "There is no pulmonary edema."]),
    "lesion": (["Lung Lesion"], ["right lung", "left lung"], ["No suspicious pulmonary nodules or masses."]),
    "pleura": (
        ["Pleural Effusion", "Pneumothorax"],
        ["right costophrenic angle", "left costophrenic angle"],
        [
            "No pleural effusion or pneumothorax.",
            "There is no pleural effusion or pneumothorax.",
            "No pneumothorax or pleural effusion is seen.",
        ],
    ),
    "effusion": (
        ["Pleural Effusion"],
        ["right costophrenic angle", "left costophrenic angle"],
        ["No pleural effusion."],
    ),
    "pneumothorax": (["Pneumothorax"], ["right lung", "left lung"], ["No pneumothorax.", "There is no pneumothorax."]),
    "bones": (
        ["Fracture"],
        ["spine", "right clavicle", "left clavicle"],
        ["The osseous structures are unremarkable.", "No acute osseous abnormality.", "No displaced rib fracture."],
    ),
}
ORDER = [
    "Support Devices",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Lung Lesion",
    "Atelectasis",
    "Pleural Effusion",
    "Pneumothorax",
    "Pleural Other",
    "Fracture",
]
IMPRESSION_ORDER = [
    "Pneumothorax",
    "Pneumonia",
    "Consolidation",
    "Edema",
    "Pleural Effusion",
    "Lung Lesion",
    "Cardiomegaly",
    "Enlarged Cardiomediastinum",
    "Atelectasis",
    "Fracture",
    "Pleural Other",
    "Support Devices",
]


def write_report(rng: np.random.Generator, findings: list[dict], labels: dict) -> dict:
    pos = {f["label"] for f in findings}
    sents = []
    by_label = sorted(findings, key=lambda f: ORDER.index(f["label"]))
    for f in by_label:
        if f["label"] == "Support Devices":
            sents.append(_sentence(finding_sentence(rng, f), [f["label"]], f["regions"]))
    # heart and mediastinum
    for f in by_label:
        if f["label"] in ("Cardiomegaly", "Enlarged Cardiomediastinum"):
            sents.append(_sentence(finding_sentence(rng, f), [f["label"]], f["regions"]))
    heart_keys = {"Cardiomegaly", "Enlarged Cardiomediastinum"}
    if not heart_keys & pos:
        _normal(rng, sents, "heart", 0.95)
    elif "Cardiomegaly" in pos and "Enlarged Cardiomediastinum" not in pos:
        _normal(rng, sents, "mediastinum_only", 0.5)
    elif "Cardiomegaly" not in pos:
        _normal(rng, sents, "heart_only", 0.5)
    # lungs
    for f in by_label:
        if f["label"] in ("Edema", "Consolidation", "Pneumonia", "Lung Lesion", "Atelectasis"):
            sents.append(_sentence(finding_sentence(rng, f), [f["label"]], f["regions"]))
    lung_keys = set(NORMALS["lungs"][0])
    if not lung_keys & pos:
        _normal(rng, sents, "lungs", 0.9)
    else:
        for key in ("consolidation", "edema", "lesion"):
            if not set(NORMALS[key][0]) & pos:
                _normal(rng, sents, key, 0.35)
    # pleura
    for f in by_label:
        if f["label"] in ("Pleural Effusion", "Pneumothorax", "Pleural Other"):
            sents.append(_sentence(finding_sentence(rng, f), [f["label"]], f["regions"]))
    if not {"Pleural Effusion", "Pneumothorax"} & pos:
        _normal(rng, sents, "pleura", 0.9)
    elif "Pleural Effusion" not in pos:
        _normal(rng, sents, "effusion", 0.6)
    elif "Pneumothorax" not in pos:
        _normal(rng, sents, "pneumothorax", 0.7)
    # bones
    for f in by_label:
        if f["label"] == "Fracture":
            sents.append(_sentence(finding_sentence(rng, f), [f["label"]], f["regions"]))
    if "Fracture" not in pos:
        _normal(rng, sents, "bones", 0.6)
    impression = _impression(rng, findings, pos)
    return {
        "findings": " ".join(s["text"] for s in sents),
        "impression": " ".join(s["text"] for s in impression),
        "sentences": sents + impression,
    }


def _normal(rng, sents, key, p):
    if rng.random() < p:
        labs, regs, texts = NORMALS[key]
        sents.append(_sentence(_c(rng, texts), [], regs, normal=True, negated=labs))


def _impression(rng, findings, pos):
    pathologies = [f for f in findings if f["label"] != "Support Devices"]
    if not pathologies:
        text = _c(
            rng,
            [
                "No acute cardiopulmonary process.",
                "No acute cardiopulmonary abnormality.",
                "Normal chest radiograph." if "Support Devices" not in pos else "No acute cardiopulmonary process.",
            ],
        )
        return [_sentence(text, ["No Finding"], [], normal=True, section="impression")]
    ordered = sorted(pathologies, key=lambda f: IMPRESSION_ORDER.index(f["label"]))
    numbered = rng.random() < 0.5 and len(ordered) > 1
    out = []
    for i, f in enumerate(ordered):
        t = finding_sentence(rng, f)
        if numbered:
            t = f"{i + 1}. {t}"
        out.append(_sentence(t, [f["label"]], f["regions"], section="impression"))
    return out
