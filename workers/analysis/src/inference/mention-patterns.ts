/**
 * Port of training/gkmvlp/text/patterns.py (CheXpert-style mention, negation and uncertainty rules
 * for lower-cased text), so that the worker reads a generated report the way the Python labeller
 * (and therefore the clinical-efficacy metric) does. Keep the two files in step.
 */

const ENL = "(?:enlarged|enlargement|large|increased|prominent|big)";

export const MENTIONS: Record<string, string[]> = {
  "Enlarged Cardiomediastinum": [
    "widen(?:ed|ing)\\s+(?:of\\s+the\\s+)?(?:superior\\s+|upper\\s+)?mediastin\\w*",
    "mediastin\\w*(?:\\s+\\w+){0,4}?\\s+(?:is|are|appears?|remains?)?\\s*(?:\\w+\\s+)?(?:not\\s+)?widen\\w*",
    "(?:enlarged|widened|prominent)\\s+(?:cardio)?mediastin\\w*(?:\\s+silhouette|\\s+contours?)?",
    `cardiomediastinal\\s+silhouette\\s+(?:is|are|appears?|remains?)?\\s*(?:\\w+\\s+)?(?:not\\s+)?${ENL}`,
    "enlargement\\s+of\\s+the\\s+cardiomediastinal\\s+silhouette",
    "mediastinal\\s+(?:widening|enlargement|mass|lymphadenopathy)",
  ],
  Cardiomegaly: [
    "cardiomegaly",
    "(?:heart|cardiac\\s+(?:silhouette|size|shadow|contours?))(?:\\s+size)?\\s+(?:is|are|appears?|remains?|seems?)?\\s*" +
      "(?:\\w+\\s+){0,2}?(?:not\\s+)?" +
      ENL,
    "(?:enlarged|large|enlargement\\s+of\\s+the)\\s+(?:heart|cardiac\\s+silhouette|cardiac\\s+shadow)",
    "cardiac\\s+enlargement",
    "(?:heart|cardiac)\\s+(?:size|silhouette)[^.]{0,20}?upper\\s+limits?\\s+of\\s+normal",
  ],
  "Lung Opacity": [
    "opaci\\w*",
    "infiltrat\\w*",
    "air\\s*-?\\s*space\\s+(?:disease|process)",
    "ground\\s*-?\\s*glass",
    "hazy|haziness",
    "reticula\\w*",
    "interstitial\\s+(?:markings?|pattern|prominence|thickening|disease|lung\\s+disease)",
    "increased\\s+(?:density|densities|markings)",
    "densit(?:y|ies)\\s+in\\s+the\\s+(?:right|left|lung|bilateral)",
    "(?:parenchymal\\s+)?scarring",
  ],
  "Lung Lesion": [
    "nodul\\w*",
    "\\bmass(?:es)?\\b",
    "cavitary\\s+lesion",
    "(?:lung|pulmonary)\\s+lesions?",
    "\\blesions?\\b",
    "tumou?r",
    "neoplasm",
    "carcinoma",
    "metasta\\w*",
  ],
  Edema: [
    "edema",
    "oedema",
    "heart\\s+failure",
    "\\bchf\\b",
    "(?:vascular|pulmonary)\\s+congestion",
    "fluid\\s+overload",
    "kerley",
    "vascular\\s+(?:indistinctness|prominence)",
  ],
  Consolidation: ["consolidat\\w*"],
  Pneumonia: ["pneumonia", "pneumonitis", "infectious\\s+process", "\\binfection\\b"],
  Atelectasis: ["atelecta\\w*", "\\bcollapse[sd]?\\b", "volume\\s+loss"],
  Pneumothorax: ["pneumothora(?:x|ces)", "hydropneumothorax"],
  "Pleural Effusion": [
    "(?:pleural\\s+)?effusions?",
    "pleural\\s+fluid",
    "hydrothorax",
    "blunt(?:ing|ed)\\s+(?:of\\s+)?(?:the\\s+)?(?:right\\s+|left\\s+|bilateral\\s+)?(?:posterior\\s+)?costophrenic",
    "costophrenic\\s+(?:angles?|sulc\\w+)\\s+(?:is|are)?\\s*(?:\\w+\\s+)?blunt\\w*",
  ],
  "Pleural Other": [
    "pleural\\s+(?:thickening|plaques?|scarring|calcification|based\\s+(?:opacity|density))",
    "apical\\s+(?:pleural\\s+)?cap",
    "fibrothorax",
    "pleural\\s+(?:and\\s+parenchymal\\s+)?thickening",
  ],
  Fracture: ["fractur\\w*"],
  "Support Devices": [
    "(?:endotracheal|tracheostomy|nasogastric|orogastric|enteric|feeding|chest|et|ng|og)\\s+tubes?",
    "catheters?",
    "(?:central|venous|picc|arterial|swan-?ganz|midline)\\s+(?:venous\\s+)?(?:line|catheter)s?",
    "\\bpicc\\b",
    "pacemaker",
    "\\bpacer\\b",
    "stimulator",
    "defibrillator",
    "\\baicd\\b",
    "\\bicd\\b",
    "\\bport-?a-?cath\\b",
    "\\bport\\b",
    "stents?",
    "sternotomy\\s+wires?",
    "(?:median\\s+)?sternotomy",
    "(?:prosthetic|replacement)\\s+valve",
    "valve\\s+replacement",
    "\\bdrains?\\b",
  ],
};

export const PRE_NEG = new RegExp(
  "\\b(?:no|not|without|negative\\s+for|free\\s+of|clear\\s+of|resolved|resolution\\s+of|absence\\s+of|absent|" +
    "rather\\s+than|nor|removal\\s+of|interval\\s+removal)\\b",
);
export const POST_NEG = new RegExp(
  "^\\s*(?:(?:is|are|has|have|was|were)\\s+)?(?:been\\s+)?(?:now\\s+)?(?:not\\s+(?:seen|present|identified|demonstrated|" +
    "appreciated|visualized|evident|enlarged|widened)|absent|resolved|removed)\\b",
);
export const PRE_UNC = new RegExp(
  "\\b(?:may|might|possibl[ey]|probabl[ey]|likely|question\\s+of|questionable|suspicious\\s+for|suspected|" +
    "concerning\\s+for|suggest\\w*|could|cannot\\s+(?:be\\s+)?(?:excluded|ruled\\s+out)|versus|vs|equivocal|borderline|" +
    "differential|worrisome|consider\\w*|raise\\w*\\s+the\\s+possibility|atypical|upper\\s+limits?\\s+of\\s+normal|" +
    "nonspecific|or\\s+less\\s+likely|underlying|evaluate\\s+for|rule\\s+out|to\\s+exclude)\\b",
);
export const POST_UNC = new RegExp(
  "^\\W*(?:\\w+\\s+){0,4}?(?:(?:is|are)\\s+(?:not\\s+excluded|possible|likely|suspected|questioned)|" +
    "cannot\\s+be\\s+(?:excluded|ruled\\s+out)|can\\s+not\\s+be\\s+excluded|not\\s+excluded|\\?)",
);
/** Words that end a negation/uncertainty scope inside a sentence. */
export const SCOPE_BREAK = new RegExp(
  "\\b(?:but|however|although|though|except|aside\\s+from|apart\\s+from|which|whereas|there\\s+(?:is|are)|" +
    "consistent\\s+with|compatible\\s+with|with\\s+(?:a|an|the)?\\s*(?:new|small|large|moderate|mild))\\b|[;:]",
  "g",
);
/** Words just before a mention that make it something else (a bone lesion is not a lung lesion). */
export const EXCLUDE_BEFORE: Record<string, RegExp> = {
  "Lung Lesion": /(?:osseous|bony|bone|lytic|sclerotic|blastic|skin|soft\s+tissue|mediastinal|hilar|breast)\s*$/,
  Atelectasis: /(?:vertebral|body|compression)\s*$/,
  "Lung Opacity": /(?:pleural|pleural\s+based)\s*$/,
  "Support Devices": /(?:no\s+longer|removal\s+of\s+the)\s*$/,
};
