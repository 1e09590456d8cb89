"""Reads a grounded SR with pydicom (a reader we did not write) and prints what it says as JSON: the study and
patient it joins, each measurement group's finding label, probability and box (SCOORD on the source image), and
the report's sentences. Used by test/e2e/dicom-roundtrip.test.ts."""

import json
import sys

import pydicom


def meaning(item):
    seq = item.get("ConceptNameCodeSequence")
    return seq[0].CodeMeaning if seq else None


def walk(items, groups, sentences):
    for item in items:
        kind, name = item.ValueType, meaning(item)
        if kind == "CONTAINER" and name == "Measurement Group":
            group = {
                "label": None,
                "probability": None,
                "box": None,
                "referenced_sop": None,
            }
            for child in item.get("ContentSequence", []):
                child_name = meaning(child)
                if child.ValueType == "TEXT" and child_name == "Tracking Identifier":
                    group["label"] = child.TextValue
                elif child.ValueType == "NUM" and child_name == "Finding probability":
                    group["probability"] = float(
                        child.MeasuredValueSequence[0].NumericValue
                    )
                elif child.ValueType == "SCOORD":
                    group["box"] = [float(v) for v in child.GraphicData]
                    image = child.ContentSequence[0].ReferencedSOPSequence[0]
                    group["referenced_sop"] = str(image.ReferencedSOPInstanceUID)
            groups.append(group)
            continue
        if kind == "TEXT" and name == "Report sentence":
            sentences.append(item.TextValue)
        walk(item.get("ContentSequence", []), groups, sentences)


def main(path):
    ds = pydicom.dcmread(path)
    groups, sentences = [], []
    walk(ds.get("ContentSequence", []), groups, sentences)
    print(
        json.dumps(
            {
                "modality": ds.Modality,
                "study_uid": str(ds.StudyInstanceUID),
                "patient_id": str(ds.get("PatientID", "")),
                "findings": groups,
                "sentences": sentences,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
