"""Mention, negation, uncertainty and normal-statement patterns (lower-cased text).

Modelled on the CheXpert labeller's phrase lists (Irvin et al., 2019), shortened and written as
regular expressions; see labeller.py for how they are combined.
"""

from __future__ import annotations

import re

_ENL = r"(?:enlarged|enlargement|large|increased|prominent|big)"

MENTIONS: dict[str, list[str]] = {
    "Enlarged Cardiomediastinum": [
        r"widen(?:ed|ing)\s+(?:of\s+the\s+)?(?:superior\s+|upper\s+)?mediastin\w*",
        r"mediastin\w*(?:\s+\w+){0,4}?\s+(?:is|are|appears?|remains?)?\s*(?:\w+\s+)?(?:not\s+)?widen\w*",
        r"(?:enlarged|widened|prominent)\s+(?:cardio)?mediastin\w*(?:\s+silhouette|\s+contours?)?",
        r"cardiomediastinal\s+silhouette\s+(?:is|are|appears?|remains?)?\s*(?:\w+\s+)?(?:not\s+)?" + _ENL,
        r"enlargement\s+of\s+the\s+cardiomediastinal\s+silhouette",
        r"mediastinal\s+(?:widening|enlargement|mass|lymphadenopathy)",
    ],
    "Cardiomegaly": [
        r"cardiomegaly",
        r"(?:heart|cardiac\s+(?:silhouette|size|shadow|contours?))(?:\s+size)?\s+(?:is|are|appears?|remains?|seems?)?\s*"
        r"(?:\w+\s+){0,2}?(?:not\s+)?" + _ENL,
        r"(?:enlarged|large|enlargement\s+of\s+the)\s+(?:heart|cardiac\s+silhouette|cardiac\s+shadow)",
        r"cardiac\s+enlargement",
        r"(?:heart|cardiac)\s+(?:size|silhouette)[^.]{0,20}?upper\s+limits?\s+of\s+normal",
    ],
    "Lung Opacity": [
        r"opaci\w*",
        r"infiltrat\w*",
        r"air\s*-?\s*space\s+(?:disease|process)",
        r"ground\s*-?\s*glass",
        r"hazy|haziness",
        r"reticula\w*",
        r"interstitial\s+(?:markings?|pattern|prominence|thickening|disease|lung\s+disease)",
        r"increased\s+(?:density|densities|markings)",
        r"densit(?:y|ies)\s+in\s+the\s+(?:right|left|lung|bilateral)",
        r"(?:parenchymal\s+)?scarring",
    ],
    "Lung Lesion": [
        r"nodul\w*",
        r"\bmass(?:es)?\b",
        r"cavitary\s+lesion",
        r"(?:lung|pulmonary)\s+lesions?",
        r"\blesions?\b",
        r"tumou?r",
        r"neoplasm",
        r"carcinoma",
        r"metasta\w*",
    ],
    "Edema": [
        r"edema",
        r"oedema",
        r"heart\s+failure",
        r"\bchf\b",
        r"(?:vascular|pulmonary)\s+congestion",
        r"fluid\s+overload",
        r"kerley",
        r"vascular\s+(?:indistinctness|prominence)",
    ],
    "Consolidation": [r"consolidat\w*"],
    "Pneumonia": [r"pneumonia", r"pneumonitis", r"infectious\s+process", r"\binfection\b"],
    "Atelectasis": [r"atelecta\w*", r"\bcollapse[sd]?\b", r"volume\s+loss"],
    "Pneumothorax": [r"pneumothora(?:x|ces)", r"hydropneumothorax"],
    "Pleural Effusion": [
        r"(?:pleural\s+)?effusions?",
        r"pleural\s+fluid",
        r"hydrothorax",
        r"blunt(?:ing|ed)\s+(?:of\s+)?(?:the\s+)?(?:right\s+|left\s+|bilateral\s+)?(?:posterior\s+)?costophrenic",
        r"costophrenic\s+(?:angles?|sulc\w+)\s+(?:is|are)?\s*(?:\w+\s+)?blunt\w*",
    ],
    "Pleural Other": [
        r"pleural\s+(?:thickening|plaques?|scarring|calcification|based\s+(?:opacity|density))",
        r"apical\s+(?:pleural\s+)?cap",
        r"fibrothorax",
        r"pleural\s+(?:and\s+parenchymal\s+)?thickening",
    ],
    "Fracture": [r"fractur\w*"],
    "Support Devices": [
        r"(?:endotracheal|tracheostomy|nasogastric|orogastric|enteric|feeding|chest|et|ng|og)\s+tubes?",
        r"catheters?",
        r"(?:central|venous|picc|arterial|swan-?ganz|midline)\s+(?:venous\s+)?(?:line|catheter)s?",
        r"\bpicc\b",
        r"pacemaker",
        r"\bpacer\b",
        r"stimulator",
        r"defibrillator",
        r"\baicd\b",
        r"\bicd\b",
        r"\bport-?a-?cath\b",
        r"\bport\b",
        r"stents?",
        r"sternotomy\s+wires?",
        r"(?:median\s+)?sternotomy",
        r"(?:prosthetic|replacement)\s+valve",
        r"valve\s+replacement",
        r"\bdrains?\b",
    ],
}

# Statements of normality that negate labels when nothing else mentions them.
NORMALS: list[tuple[str, tuple[str, ...]]] = [
    (
        r"(?:heart|cardiac)\s+size\s+(?:and\s+\w+\s+(?:\w+\s+)?)?(?:is|are)?\s*(?:within\s+normal\s+limits|normal|stable|unremarkable)",
        ("Cardiomegaly",),
    ),
    (r"normal\s+(?:heart|cardiac)\s+size", ("Cardiomegaly",)),
    (
        r"(?:heart|cardiac\s+(?:silhouette|contours?))\s+(?:is|are)\s+(?:within\s+normal\s+limits|normal)",
        ("Cardiomegaly",),
    ),
    (
        r"cardiomediastinal\s+(?:silhouette|contours?)\s+(?:\w+\s+){0,4}?(?:is|are)\s+(?:within\s+normal\s+limits|normal|unremarkable|stable)",
        ("Cardiomegaly", "Enlarged Cardiomediastinum"),
    ),
    (r"normal\s+cardiomediastinal", ("Cardiomegaly", "Enlarged Cardiomediastinum")),
    (
        r"(?:heart|cardiac)(?:\s*,?\s+\w+){0,4}\s+(?:and|,)\s+mediastin\w*(?:\s+\w+)?\s+(?:is|are)\s+(?:within\s+normal\s+limits|normal|unremarkable)",
        ("Cardiomegaly", "Enlarged Cardiomediastinum"),
    ),
    (
        r"mediastinal\s+(?:contours?|silhouettes?)\s+(?:is|are)\s+(?:within\s+normal\s+limits|normal|unremarkable)",
        ("Enlarged Cardiomediastinum",),
    ),
    (r"normal\s+(?:heart\s+size\s+and\s+)?mediastinal\s+contours?", ("Cardiomegaly", "Enlarged Cardiomediastinum")),
    (r"(?:the\s+)?lungs\s+are\s+(?:\w+\s+)?clear|clear\s+lungs", ("Lung Opacity", "Consolidation", "Edema")),
    (
        r"(?:osseous|bony)\s+(?:structures|thorax)\s+(?:is|are)\s+(?:intact|unremarkable|normal)|no\s+acute\s+(?:osseous|bony|bone)",
        ("Fracture",),
    ),
]

PRE_NEG = re.compile(
    r"\b(?:no|not|without|negative\s+for|free\s+of|clear\s+of|resolved|resolution\s+of|absence\s+of|absent|"
    r"rather\s+than|nor|removal\s+of|interval\s+removal)\b"
)
POST_NEG = re.compile(
    r"^\s*(?:(?:is|are|has|have|was|were)\s+)?(?:been\s+)?(?:now\s+)?(?:not\s+(?:seen|present|identified|demonstrated|"
    r"appreciated|visualized|evident|enlarged|widened)|absent|resolved|removed)\b"
)
PRE_UNC = re.compile(
    r"\b(?:may|might|possibl[ey]|probabl[ey]|likely|question\s+of|questionable|suspicious\s+for|suspected|"
    r"concerning\s+for|suggest\w*|could|cannot\s+(?:be\s+)?(?:excluded|ruled\s+out)|versus|vs|equivocal|borderline|"
    r"differential|worrisome|consider\w*|raise\w*\s+the\s+possibility|atypical|upper\s+limits?\s+of\s+normal|"
    r"nonspecific|or\s+less\s+likely|underlying|evaluate\s+for|rule\s+out|to\s+exclude)\b"
)
POST_UNC = re.compile(
    r"^\W*(?:\w+\s+){0,4}?(?:(?:is|are)\s+(?:not\s+excluded|possible|likely|suspected|questioned)|"
    r"cannot\s+be\s+(?:excluded|ruled\s+out)|can\s+not\s+be\s+excluded|not\s+excluded|\?)"
)
# Words that end a negation/uncertainty scope inside a sentence.
SCOPE_BREAK = re.compile(
    r"\b(?:but|however|although|though|except|aside\s+from|apart\s+from|which|whereas|there\s+(?:is|are)|"
    r"consistent\s+with|compatible\s+with|with\s+(?:a|an|the)?\s*(?:new|small|large|moderate|mild))\b|[;:]"
)

# Words just before a mention that make it something else (a bone lesion is not a lung lesion).
EXCLUDE_BEFORE: dict[str, re.Pattern] = {
    "Lung Lesion": re.compile(
        r"(?:osseous|bony|bone|lytic|sclerotic|blastic|skin|soft\s+tissue|mediastinal|hilar|breast)\s*$"
    ),
    "Atelectasis": re.compile(r"(?:vertebral|body|compression)\s*$"),
    "Lung Opacity": re.compile(r"(?:pleural|pleural\s+based)\s*$"),
    "Support Devices": re.compile(r"(?:no\s+longer|removal\s+of\s+the)\s*$"),
}
