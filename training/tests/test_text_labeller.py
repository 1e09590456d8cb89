"""Rule-based CheXpert-style labeller on hand-written sentences and on real IU X-Ray reports."""

from pathlib import Path

import pytest

from gkmvlp.text.labeller import label_report, split_sentences

IU = Path("/work/shared/data/report_iu_xray_text_only/reports_sample100.jsonl")


@pytest.mark.parametrize(
    "text,label,value",
    [
        ("Heart size is enlarged.", "Cardiomegaly", 1),
        ("Cardiomegaly.", "Cardiomegaly", 1),
        ("The heart is not enlarged.", "Cardiomegaly", 0),
        ("Heart size is normal.", "Cardiomegaly", 0),
        ("Borderline cardiomegaly.", "Cardiomegaly", -1),
        ("No pneumothorax.", "Pneumothorax", 0),
        ("There is no pleural effusion or pneumothorax.", "Pneumothorax", 0),
        ("Negative for pneumothorax.", "Pneumothorax", 0),
        ("The lungs are free of consolidation.", "Consolidation", 0),
        ("Lungs are clear of focal consolidation.", "Consolidation", 0),
        ("The left effusion has resolved.", "Pleural Effusion", 0),
        ("Resolved right lower lobe pneumonia.", "Pneumonia", 0),
        ("Without evidence of edema.", "Edema", 0),
        ("Pneumothorax cannot be excluded.", "Pneumothorax", -1),
        ("Opacity may represent pneumonia.", "Pneumonia", -1),
        ("Opacity may represent pneumonia.", "Lung Opacity", 1),
        ("No focal opacity to suggest pneumonia.", "Pneumonia", 0),
        ("Small left pleural effusion.", "Pleural Effusion", 1),
        ("Blunting of the right costophrenic angle.", "Pleural Effusion", 1),
        ("The mediastinum is widened.", "Enlarged Cardiomediastinum", 1),
        ("Right internal jugular central venous catheter in the SVC.", "Support Devices", 1),
        ("Left basilar atelectasis.", "Atelectasis", 1),
        ("A 3.5 cm mass in the right upper lobe.", "Lung Lesion", 1),
        ("Healed left rib fractures.", "Fracture", 1),
        ("No pneumothorax, but there is a small right effusion.", "Pleural Effusion", 1),
        ("Mild pulmonary vascular congestion.", "Edema", 1),
        ("Apical pleural thickening.", "Pleural Other", 1),
    ],
)
def test_mentions_negations_and_uncertainty(text, label, value):
    assert label_report(text)[label] == value


def test_unmentioned_is_none_and_no_finding_follows_pathologies():
    r = label_report("Pacemaker in place. No pneumothorax.")
    assert r["Edema"] is None and r["Support Devices"] == 1 and r["No Finding"] == 1
    assert label_report("Small effusion.")["No Finding"] == 0


def test_uncertain_mapping_and_propagation():
    assert label_report("Possible pneumonia.", uncertain="positive")["Pneumonia"] == 1
    assert label_report("Possible pneumonia.", uncertain="negative")["Pneumonia"] == 0
    assert label_report("Left lower lobe consolidation.")["Lung Opacity"] is None
    assert label_report("Left lower lobe consolidation.", propagate=True)["Lung Opacity"] == 1


def test_sentence_split_keeps_decimals_and_splits_glued_sentences():
    assert split_sentences("A 3.5 cm mass. No effusion.") == ["A 3.5 cm mass.", "No effusion."]
    assert len(split_sentences("lesion in the apex.There are opacities.")) == 2


@pytest.mark.skipif(not IU.is_file(), reason="IU sample not present")
def test_real_iu_reports():
    from gkmvlp.data.readers.iu_xray import read_iu_text_jsonl
    from gkmvlp.text.agreement import agreement

    reps = {r["report_id"]: r for r in read_iu_text_jsonl(IU)}

    def text(i):
        return reps[i]["findings"] + " " + reps[i]["impression"]

    # "There is no evidence of pneumothorax." / "There is no pulmonary edema."
    r1 = label_report(text(1))
    assert r1["Pneumothorax"] == 0 and r1["Edema"] == 0 and r1["No Finding"] == 1
    # every report saying "cardiomegaly" or "heart size is enlarged" without negation is positive
    for r in reps.values():
        t = (r["findings"] + " " + r["impression"]).lower()
        if "heart size is enlarged" in t or (
            "cardiomegaly" in t
            and "no cardiomegaly" not in t
            and "borderline" not in t
            and "without cardiomegaly" not in t
        ):
            assert label_report(t)["Cardiomegaly"] == 1, t
        if "no pneumothorax" in t and "pneumothorax" not in t.replace("no pneumothorax", ""):
            assert label_report(t)["Pneumothorax"] == 0, t
    stats = agreement(list(reps.values()))
    # against IU's manual MeSH coding: recall on the main findings, few false positives
    for lab in ("Cardiomegaly", "Pleural Effusion", "Atelectasis", "Edema", "Pneumothorax"):
        s = stats[lab]
        assert s["tp"] >= 1 and s["fp"] <= 2, (lab, s)
    assert stats["Lung Opacity"]["recall"] >= 0.9
