"""Label and region vocabularies shared by the generator, the model, the metrics and the bundle.

The order of LABELS and REGIONS is the order of model outputs; changing it changes the bundle
contract (docs/contracts/model-bundle.md).
"""

from __future__ import annotations

# The 14 CheXpert observations, in CheXpert's own order.
LABELS: tuple[str, ...] = (
    "No Finding",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Opacity",
    "Lung Lesion",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
)

# The 29 Chest ImaGenome anatomical regions used for region-level features (RGRG's list).
REGIONS: tuple[str, ...] = (
    "right lung",
    "right upper lung zone",
    "right mid lung zone",
    "right lower lung zone",
    "right hilar structures",
    "right apical zone",
    "right costophrenic angle",
    "right hemidiaphragm",
    "left lung",
    "left upper lung zone",
    "left mid lung zone",
    "left lower lung zone",
    "left hilar structures",
    "left apical zone",
    "left costophrenic angle",
    "left hemidiaphragm",
    "trachea",
    "spine",
    "right clavicle",
    "left clavicle",
    "aortic arch",
    "mediastinum",
    "upper mediastinum",
    "svc",
    "cardiac silhouette",
    "cavoatrial junction",
    "right atrium",
    "carina",
    "abdomen",
)

LABEL_INDEX = {name: i for i, name in enumerate(LABELS)}
REGION_INDEX = {name: i for i, name in enumerate(REGIONS)}
