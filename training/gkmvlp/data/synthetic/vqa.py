"""VQA pairs and knowledge triplets from the ground truth of one study."""

from __future__ import annotations

import numpy as np

from ...ontology import LABELS
from .findings_sample import OPACITY_CHILDREN

NOUN = {
    "Enlarged Cardiomediastinum": "an enlarged cardiomediastinum",
    "Cardiomegaly": "cardiomegaly",
    "Lung Opacity": "a lung opacity",
    "Lung Lesion": "a lung lesion",
    "Edema": "pulmonary edema",
    "Consolidation": "consolidation",
    "Pneumonia": "pneumonia",
    "Atelectasis": "atelectasis",
    "Pneumothorax": "a pneumothorax",
    "Pleural Effusion": "a pleural effusion",
    "Pleural Other": "pleural thickening",
    "Fracture": "a fracture",
    "Support Devices": "a support device",
}
BARE = {k: v.split(" ", 1)[1] if v.startswith(("a ", "an ")) else v for k, v in NOUN.items()}
PRESENCE = ["Is there {n}?", "Is {n} present?", "Does this chest X-ray show {n}?", "Is there evidence of {n}?"]
ABSENT_REGIONS = {
    "Enlarged Cardiomediastinum": ["mediastinum"],
    "Cardiomegaly": ["cardiac silhouette"],
    "Lung Opacity": ["right lung", "left lung"],
    "Lung Lesion": ["right lung", "left lung"],
    "Edema": ["right lung", "left lung"],
    "Consolidation": ["right lung", "left lung"],
    "Pneumonia": ["right lung", "left lung"],
    "Atelectasis": ["right lower lung zone", "left lower lung zone"],
    "Pneumothorax": ["right lung", "left lung"],
    "Pleural Effusion": ["right costophrenic angle", "left costophrenic angle"],
    "Pleural Other": ["right lung", "left lung"],
    "Fracture": ["right lung", "left lung"],
    "Support Devices": ["trachea", "svc"],
}
PATHOLOGIES = [lab for lab in LABELS if lab not in ("No Finding", "Support Devices")]


def count_findings(labels: dict) -> int:
    """Distinct pathologies: positive labels except No Finding, Support Devices and the derived
    parent Lung Opacity."""
    return sum(1 for lab in PATHOLOGIES if lab != "Lung Opacity" and labels[lab] == 1)


def make_vqa(rng: np.random.Generator, labels: dict, findings: list[dict], view: str, n_closed: int) -> list[dict]:
    qa: list[dict] = []
    candidates = [lab for lab in LABELS if lab != "No Finding"]
    pos = [lab for lab in candidates if labels[lab] == 1]
    neg = [lab for lab in candidates if labels[lab] == 0]
    n_yes = min(len(pos), max(n_closed // 2, 1))
    n_no = max(n_yes, 1)
    asked = list(rng.choice(pos, n_yes, replace=False)) if n_yes else []
    asked += list(rng.choice(neg, min(n_no, len(neg)), replace=False))
    order = rng.permutation(len(asked))
    for i in order:
        lab = str(asked[i])
        q = PRESENCE[int(rng.integers(len(PRESENCE)))].format(n=NOUN[lab])
        qa.append(
            {
                "question": q,
                "answer": "yes" if labels[lab] else "no",
                "type": "closed",
                "kind": "presence",
                "label": lab,
            }
        )
    if labels["No Finding"] == 1:
        qa.append(
            {
                "question": "Is this chest X-ray normal?",
                "answer": "yes",
                "type": "closed",
                "kind": "presence",
                "label": "No Finding",
            }
        )
    present = [lab for lab in PATHOLOGIES if labels[lab] == 1]
    qa.append(
        {
            "question": rng.choice(["Which findings are present?", "What abnormalities are seen in this image?"]),
            "answer": ", ".join(BARE[lab] for lab in present) if present else "none",
            "type": "open",
            "kind": "abnormality",
        }
    )
    qa.append(
        {
            "question": "How many findings are there?",
            "answer": str(count_findings(labels)),
            "type": "open",
            "kind": "count",
        }
    )
    qa.append({"question": "Is this a PA or an AP view?", "answer": view, "type": "open", "kind": "view"})
    patho = [f for f in findings if f["label"] != "Support Devices"]
    for j in rng.permutation(len(patho))[:2]:
        f = patho[int(j)]
        n = BARE[f["label"]]
        if f["side"] in ("left", "right", "bilateral"):
            qa.append(
                {
                    "question": f"Which side is the {n} on?",
                    "answer": f["side"],
                    "type": "open",
                    "kind": "side",
                    "label": f["label"],
                }
            )
        if f["regions"]:
            qa.append(
                {
                    "question": f"Where is the {n} located?",
                    "answer": f["regions"][0],
                    "type": "open",
                    "kind": "region",
                    "label": f["label"],
                }
            )
        qa.append(
            {
                "question": f"How severe is the {n}?",
                "answer": f["severity"],
                "type": "open",
                "kind": "severity",
                "label": f["label"],
            }
        )
    return qa


def make_triplets(labels: dict, findings: list[dict]) -> list[list[str]]:
    out: list[list[str]] = []
    seen = set()

    def add(t):
        if tuple(t) not in seen:
            seen.add(tuple(t))
            out.append(t)

    for f in findings:
        for r in f["regions"]:
            add([f["label"], r, "present"])
            if f["label"] in OPACITY_CHILDREN and ("lung" in r or "zone" in r):
                add(["Lung Opacity", r, "present"])
        if f["side"] in ("left", "right") and f["label"] in ABSENT_REGIONS:
            other = "right" if f["side"] == "left" else "left"
            for r in ABSENT_REGIONS[f["label"]]:
                if r.startswith(other) and labels[f["label"]] == 1:
                    if not any(g["label"] == f["label"] and g["side"] in (other, "bilateral") for g in findings):
                        add([f["label"], r, "absent"])
    for lab in LABELS:
        if lab != "No Finding" and labels[lab] == 0:
            for r in ABSENT_REGIONS[lab]:
                add([lab, r, "absent"])
    return out
