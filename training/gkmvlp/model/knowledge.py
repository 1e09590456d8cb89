"""Medical knowledge: one (finding, anatomical region, sentence) entry per label, and triplet text.

The GK module's 14 entity queries are initialised from the text encoder's encoding of these
sentences; the bundle manifest ships them ("knowledge") so the platform can show, per finding, the
knowledge it was grounded with. Triplets (finding, region, present/absent) from a record are turned
into sentences with `triplet_sentence` (used as extra text for the tokenizer and for zero-shot
prompts).
"""

from __future__ import annotations

from ..ontology import LABELS, REGIONS

KNOWLEDGE: dict[str, tuple[str, str]] = {
    "No Finding": ("right lung", "the lungs are clear and the heart is normal"),
    "Enlarged Cardiomediastinum": ("mediastinum", "the mediastinum is widened"),
    "Cardiomegaly": ("cardiac silhouette", "the cardiac silhouette is enlarged"),
    "Lung Opacity": ("right mid lung zone", "there is an opacity in the lung"),
    "Lung Lesion": ("right upper lung zone", "there is a nodule or mass in the lung"),
    "Edema": ("right hilar structures", "there is pulmonary edema with perihilar haziness"),
    "Consolidation": ("right lower lung zone", "there is consolidation of the lung"),
    "Pneumonia": ("right lower lung zone", "there is pneumonia with airspace disease"),
    "Atelectasis": ("left lower lung zone", "there is atelectasis with volume loss"),
    "Pneumothorax": ("right apical zone", "there is a pneumothorax with a visible pleural line"),
    "Pleural Effusion": ("right costophrenic angle", "the costophrenic angle is blunted by pleural effusion"),
    "Pleural Other": ("right lung", "there is pleural thickening"),
    "Fracture": ("right clavicle", "there is a fracture of a rib or clavicle"),
    "Support Devices": ("carina", "a support device such as a tube or line is present"),
}

assert tuple(KNOWLEDGE) == LABELS and all(r in REGIONS for r, _ in KNOWLEDGE.values())


def knowledge_sentences() -> list[str]:
    return [KNOWLEDGE[label][1] for label in LABELS]


def knowledge_manifest() -> list[dict[str, str]]:
    return [{"label": l, "region": KNOWLEDGE[l][0], "sentence": KNOWLEDGE[l][1]} for l in LABELS]


def triplet_sentence(finding: str, region: str, status: str) -> str:
    f = finding.lower()
    if status == "present":
        return f"{f} is present in the {region}"
    return f"no {f} in the {region}"


def zero_shot_prompts(label: str) -> tuple[str, str]:
    """(positive, negative) prompt for zero-shot classification via the knowledge sentences."""
    if label == "No Finding":
        return KNOWLEDGE[label][1], "there is an abnormal finding"
    return KNOWLEDGE[label][1], f"there is no {label.lower()}"
