"""The public repositories the real-film corpus is assembled from: what each holds, its licence, its citation and
which reader of source_readers.py turns its folders and metadata into labels (as data, each with the reason).

Labels use the CheXpert names of gkmvlp.ontology.LABELS. A label a source does not establish is
absent (unknown), never 0: the training losses mask unknown labels out.
"""

from __future__ import annotations

from .source_readers import (
    CANCER_DETECTION_COMMIT,
    CHEXPERT_SMALL,
    NIH_ENTRY,
    cancer_detection_items,
    chexpert_valid_items,
    cxnet_items,
    hannover_items,
    iu_reports,
    jsrt_items,
    kcr_items,
    nih_entry_labels,
    nih_entry_views,
    openist_items,
    talo_items,
)
from .source_types import Source

# Every corpus key whose films are NIH ChestX-ray14 copies: they share NIH's patient numbers (split_key "nih"), so
# split assignment, patient exclusion and the NIH evaluations treat them as one source.
NIH_COPY_KEYS = ("nih", "nih14", "nih128", "nih64")
NIH_LICENCE = (
    "NIH ChestX-ray14 (NIH Clinical Center): unrestricted use; cite Wang et al., ChestX-ray8, "
    "CVPR 2017 and credit the NIH Clinical Center"
)
SOURCES: tuple[Source, ...] = (
    Source(
        "muhammedtalo/COVID-19",
        ("nih", "talo-covid"),
        "500 NIH ChestX-ray14 'No Finding' and 500 'Pneumonia' films; 125 COVID-19 films copied from "
        "ieee8023/covid-chestxray-dataset",
        NIH_LICENCE + ". The Covid-19 folder: images from ieee8023/covid-chestxray-dataset, licences vary "
        "per image (many from publications): research use only, do not redistribute",
        "Ozturk et al., Comput Biol Med 2020 (doi:10.1016/j.compbiomed.2020.103792); Cohen et al., "
        "COVID-19 image data collection (arXiv:2003.11597)",
        False,
        items=talo_items,
    ),
    Source(
        "dinbe0527/kcr2019d1",
        ("nih64",),
        "1,000 NIH ChestX-ray14 films as 64 x 64 thumbnails (500 normal, 500 abnormal), NIH file names",
        NIH_LICENCE,
        "Wang et al., ChestX-ray8, CVPR 2017 (NIH Clinical Center); thumbnails by dinbe0527/kcr2019d1",
        False,
        items=kcr_items,
    ),
    Source(
        "qqto2008/capstone",
        (),
        "NIH's Data_Entry_2017.csv (the first 40,000 rows): the full finding labels of NIH films",
        NIH_LICENCE,
        "Wang et al., ChestX-ray8, CVPR 2017 (NIH Clinical Center)",
        False,
        (NIH_ENTRY,),
        labels_for=("nih", "nih128", "nih64"),
        labels=nih_entry_labels,
        views=nih_entry_views,
    ),
    Source(
        "pelagecha/Cancer-Detection",
        ("nih128",),
        "10,000 NIH ChestX-ray14 films at 128 x 128 with their full finding lists (folder per finding), "
        "in commit ec0b2b9e only (deleted later)",
        NIH_LICENCE,
        "Wang et al., ChestX-ray8, CVPR 2017 (NIH Clinical Center); copies by pelagecha/Cancer-Detection",
        False,
        items=cancer_detection_items,
        commit=CANCER_DETECTION_COMMIT,
    ),
    Source(
        "rishabhbhardwaj/ChestXRay-Classification",
        ("chexpert",),
        "CheXpert-v1.0-small's validation set: 234 films (202 frontal, 32 lateral) of 200 patients, radiologist labels",
        "Stanford CheXpert Dataset Research Use Agreement (non-commercial research; do not redistribute)",
        "Irvin et al., CheXpert, AAAI 2019",
        False,
        (CHEXPERT_SMALL + "valid.csv",),
        items=chexpert_valid_items,
    ),
    Source(
        "AnishHota/JSRT-Segmentation",
        ("jsrt",),
        "247 JSRT films (154 with a lung nodule, 93 without) with SCR masks",
        "JSRT database: research use (Japanese Society of Radiological Technology); SCR masks: research use",
        "Shiraishi et al., AJR 2000 (JSRT); van Ginneken et al., Med Image Anal 2006 (SCR masks)",
        False,
        items=jsrt_items,
    ),
    Source(
        "pi-null-mezon/OpenIST",
        ("openist",),
        "normal frontal films with both-lung masks",
        "no licence file in the repository (none for the code or Datasets/); images from the chestx-ray.com "
        "normal-CXR teaching module, licence unstated: research use only, do not redistribute",
        "OpenIST, Alex A. Taranov (github.com/pi-null-mezon/OpenIST); images: chestx-ray.com",
        False,
        items=openist_items,
    ),
    Source(
        "ml-workgroup/covid-19-image-repository",
        ("hannover",),
        "COVID-19 films of Hannover Medical School patients (data.csv: patient, projection)",
        "CC BY 3.0 (images and metadata)",
        "Winther et al., COVID-19 Image Repository, Hannover Medical School (doi:10.6084/m9.figshare.12275009)",
        True,
        ("data.csv",),
        items=hannover_items,
    ),
    Source(
        "armiro/COVID-CXNet",
        ("cxnet",),
        "900 COVID-19 films from public sources (metadata.csv for about half)",
        "CC BY 4.0 (dataset; repository code MIT)",
        "Haghanifar et al., COVID-CXNet (doi:10.6084/m9.figshare.12580328)",
        True,
        ("metadata.csv",),
        items=cxnet_items,
    ),
    Source(
        "SaadSubhaniTheProgrammerVersion/Textual-Report-Generation-from-Chest-X-rays-Indiana-Dataset",
        ("iu",),
        "3,851 IU X-ray reports (findings, impression, MeSH), no images",
        "IU chest X-ray collection (Open-i): CC BY-NC-ND 4.0, non-commercial, no derivatives",
        "Demner-Fushman et al., JAMIA 2016",
        False,
        ("indiana_reports.csv", "indiana_projections.csv"),
        reports=iu_reports,
    ),
)
