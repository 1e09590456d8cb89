"""The labeller's mention rules as data, for the model bundle's manifest (`mention_rules`).

The worker reads a generated report the way labeller.py does (so the report's findings agree with the
clinical-efficacy metric): it compiles these patterns instead of keeping its own copy. Patterns are
written in the subset of regular-expression syntax that Python's `re` and ECMAScript share.

How each part is applied (the contract the worker implements, docs/contracts/model-bundle.md):
- mentions[label]: searched in the lower-cased sentence, each prefixed with a word boundary; overlapping
  matches of one label keep the first found (patterns in list order).
- exclude_before[label]: searched in the 25 characters before a mention; a match drops the mention.
- scope_break: the clause of a mention starts after the last match ending before the mention.
- post_uncertainty, post_negation: matched at the start of the text after the mention.
- pre_negation, pre_uncertainty: searched in the clause up to the mention's end.
Order: post_uncertainty -> uncertain; pre_negation, then post_negation -> negative; pre_uncertainty ->
uncertain; else positive. Statuses of one label combine as positive > uncertain > negative.
"""

from __future__ import annotations

from . import patterns as P
from .labeller import extract_mentions

RULES_VERSION = 1
EXCLUDE_WINDOW = 25

# Sentences the parity cases are built from: each label, each negation and uncertainty form, scope
# breaks, exclusions, and the synthetic report writer's wording.
CASE_SENTENCES = (
    "The heart is mildly enlarged.",
    "The heart is not enlarged.",
    "Heart size is at the upper limits of normal.",
    "Cardiomegaly is stable.",
    "Mild cardiomegaly with small bilateral pleural effusions.",
    "Widened superior mediastinum.",
    "The cardiomediastinal silhouette is not enlarged.",
    "Mediastinal widening cannot be excluded.",
    "Small effusion in the right lower lung zone, no pneumothorax.",
    "Blunting of the left costophrenic angle consistent with a small pleural effusion.",
    "No pleural effusion or pneumothorax.",
    "Pneumothorax cannot be excluded.",
    "There is no evidence of pneumothorax.",
    "The previously seen pneumothorax has resolved.",
    "A lytic bone lesion.",
    "No effusion on the right, but a small left effusion.",
    "Nodule at the right base.",
    "A 1 cm nodule in the left upper lobe, possibly a granuloma.",
    "Pulmonary mass suspicious for malignancy.",
    "Patchy opacity in the right lower lobe may represent atelectasis or pneumonia.",
    "Left basilar opacity, likely atelectasis.",
    "No focal consolidation.",
    "Consolidation in the right middle lobe is concerning for pneumonia.",
    "Findings suggestive of early pneumonia.",
    "Pulmonary edema is present.",
    "Mild interstitial edema and vascular congestion.",
    "No evidence of heart failure.",
    "Kerley B lines consistent with fluid overload.",
    "Compression fracture of a vertebral body.",
    "Vertebral body collapse.",
    "Healed right rib fractures.",
    "No acute fracture is seen.",
    "Endotracheal tube terminates 4 cm above the carina.",
    "Interval removal of the nasogastric tube.",
    "Right internal jugular central venous catheter with tip in the SVC.",
    "Left chest wall pacemaker with leads in the right atrium and ventricle.",
    "Median sternotomy wires are intact.",
    "Pleural thickening at the left apex.",
    "Apical pleural cap on the right.",
    "Pleural based opacity in the left mid lung zone.",
    "Ground-glass opacities in both lungs.",
    "Increased interstitial markings, which may reflect chronic lung disease.",
    "Hazy opacity at the left base, though effusion is not excluded.",
    "The lungs are clear without consolidation, effusion or edema.",
    "There is a small left pleural effusion; no pneumothorax.",
    "Questionable small right pleural effusion.",
    "Bibasilar atelectasis versus scarring.",
    "Volume loss in the left lower lobe.",
    "Scarring in the right upper lung zone, otherwise no acute disease.",
    "No mediastinal mass or hilar lymphadenopathy.",
    "Skin fold overlies the right lung apex; no pneumothorax is identified.",
    "Evaluate for infection.",
    "Rule out pneumonia.",
    "No longer seen is the previously noted drain.",
    "Stent in the left main bronchus.",
    "Cavitary lesion in the right upper lobe.",
    "Metastatic disease is not excluded.",
    "Heart size normal and lungs clear.",
    "Opacity at the right base is absent on today's film.",
    "Atelectasis at the left base; however, no effusion.",
)


def mention_rules() -> dict:
    """The `mention_rules` section of a bundle manifest (JSON-serialisable)."""
    return {
        "version": RULES_VERSION,
        "exclude_window": EXCLUDE_WINDOW,
        "mentions": {label: list(rxs) for label, rxs in P.MENTIONS.items()},
        "exclude_before": {label: rx.pattern for label, rx in P.EXCLUDE_BEFORE.items()},
        "scope_break": P.SCOPE_BREAK.pattern,
        "pre_negation": P.PRE_NEG.pattern,
        "post_negation": P.POST_NEG.pattern,
        "pre_uncertainty": P.PRE_UNC.pattern,
        "post_uncertainty": P.POST_UNC.pattern,
    }


_STATUS = {1: "positive", 0: "negative", -1: "uncertain"}


def mention_cases() -> list[dict]:
    """What labeller.py finds in each case sentence: label, span and status of every mention."""
    cases = []
    for sentence in CASE_SENTENCES:
        found = extract_mentions(sentence)
        assert all(m.sentence == 0 for m in found), f"case is more than one sentence: {sentence!r}"
        cases.append(
            {
                "sentence": sentence,
                "mentions": [
                    {"label": m.label, "start": m.start, "end": m.end, "status": _STATUS[m.status]} for m in found
                ],
            }
        )
    return cases
