"""Agreement of the labeller with IU X-Ray's manual MeSH coding (a weak reference: MeSH "major"
terms describe the report's main findings, not every mention).

    python -m gkmvlp.text.agreement /work/shared/data/report_iu_xray_text_only/reports_sample100.jsonl
"""

from __future__ import annotations

import sys

from ..data.readers.iu_xray import read_iu_text_jsonl
from .labeller import label_report

# MeSH major heading (text before the first "/") -> CheXpert label. Headings not listed have no
# CheXpert counterpart (e.g. Calcified Granuloma, Spondylosis, Emphysema) and are ignored.
MESH_TO_CHEXPERT = {
    "Cardiomegaly": "Cardiomegaly",
    "Pulmonary Atelectasis": "Atelectasis",
    "Pleural Effusion": "Pleural Effusion",
    "Opacity": "Lung Opacity",
    "Airspace Disease": "Lung Opacity",
    "Consolidation": "Consolidation",
    "Pneumonia": "Pneumonia",
    "Pulmonary Edema": "Edema",
    "Pulmonary Congestion": "Edema",
    "Heart Failure": "Edema",
    "Pneumothorax": "Pneumothorax",
    "Nodule": "Lung Lesion",
    "Mass": "Lung Lesion",
    "Fractures, Bone": "Fracture",
    "Implanted Medical Device": "Support Devices",
    "Catheters, Indwelling": "Support Devices",
    "Tube, Inserted": "Support Devices",
    "Stents": "Support Devices",
    "normal": "No Finding",
}


def mesh_labels(terms: list[str]) -> set:
    out = set()
    for t in terms:
        head = t.split("/")[0].strip()
        if head in MESH_TO_CHEXPERT:
            out.add(MESH_TO_CHEXPERT[head])
        if head == "Thickening" and "pleura" in t.lower():
            out.add("Pleural Other")
        if head == "Cardiac Shadow" and "enlarged" in t.lower():
            out.add("Cardiomegaly")
    return out


def agreement(reports: list[dict], uncertain: str = "negative") -> dict:
    labels = sorted(set(MESH_TO_CHEXPERT.values()) | {"Pleural Other"})
    stats = {lab: {"tp": 0, "fp": 0, "fn": 0, "tn": 0} for lab in labels}
    for r in reports:
        ref = mesh_labels(r["mesh_major"])
        pred = label_report(r["findings"] + " " + r["impression"], uncertain=uncertain)
        for lab in labels:
            p, t = pred[lab] == 1, lab in ref
            stats[lab]["tp" if p and t else "fp" if p else "fn" if t else "tn"] += 1
    for s in stats.values():
        s["precision"] = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else None
        s["recall"] = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else None
        s["accuracy"] = (s["tp"] + s["tn"]) / len(reports)
    return stats


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    reports = read_iu_text_jsonl(argv[0])
    for mode in ("negative", "positive"):
        print(f"uncertain -> {mode}  ({len(reports)} reports; reference = MeSH major terms)")
        print(f"{'label':28s} {'tp':>3s} {'fp':>3s} {'fn':>3s} {'prec':>5s} {'rec':>5s} {'acc':>5s}")
        for lab, s in agreement(reports, mode).items():

            def f(v):
                return "  -  " if v is None else f"{v:5.2f}"

            print(
                f"{lab:28s} {s['tp']:3d} {s['fp']:3d} {s['fn']:3d} {f(s['precision'])} {f(s['recall'])} {f(s['accuracy'])}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
