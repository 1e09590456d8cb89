"""Readers of the real formats on hand-written fixtures and on the shared real samples."""

from pathlib import Path

import pytest

from gkmvlp.data.readers import ReaderError
from gkmvlp.data.readers.chexpert_labels import read_chexpert_csv, read_mimic_chexpert_csv
from gkmvlp.data.readers.imagenome import read_scene_graph
from gkmvlp.data.readers.iu_xray import read_iu_text_jsonl, read_openi_xml
from gkmvlp.data.readers.mimic_cxr import read_metadata_csv, read_report, report_path
from gkmvlp.data.readers.nih14 import read_nih_boxes, read_nih_labels
from gkmvlp.data.readers.vqa import read_nih_derived_qa, read_slake, read_vqa_rad

FIX = Path(__file__).parent / "fixtures"
SHARED = Path("/work/shared/data")
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared real samples not present")


def test_mimic_labels_reports_and_metadata():
    labels = read_mimic_chexpert_csv(FIX / "mimic/mimic-cxr-2.0.0-chexpert.csv")
    a = labels[(10000001, 50000001)]
    assert a["Cardiomegaly"] == 1 and a["Edema"] == 0 and a["Pneumonia"] == -1 and a["Atelectasis"] is None
    assert labels[(10000002, 50000002)]["No Finding"] == 1
    rep = read_report(report_path(FIX / "mimic", 10000001, 50000001))
    assert rep["findings"].startswith("The heart is moderately enlarged.")
    assert rep["impression"].startswith("Cardiomegaly with small right pleural effusion.")
    assert read_report(report_path(FIX / "mimic", 10000002, 50000002))["findings"] == ""
    meta = read_metadata_csv(FIX / "mimic/mimic-cxr-2.0.0-metadata.csv")
    assert [m["view"] for m in meta] == ["PA", "AP"]


def test_mimic_missing_report_and_bad_label_value(tmp_path):
    with pytest.raises(ReaderError, match="s99.txt: report file missing"):
        read_report(report_path(FIX / "mimic", 10000001, 99))
    bad = tmp_path / "c.csv"
    text = (FIX / "mimic/mimic-cxr-2.0.0-chexpert.csv").read_text().replace(",1.0,,-1.0", ",2.0,,-1.0")
    bad.write_text(text)
    with pytest.raises(ReaderError, match=r"c\.csv:2 column 'Pleural Effusion'"):
        read_mimic_chexpert_csv(bad)


def test_chexpert_csv_values():
    rows = read_chexpert_csv(FIX / "chexpert/valid.csv")
    assert len(rows) == 3
    assert rows[0]["labels"]["Atelectasis"] == -1 and rows[0]["labels"]["Support Devices"] == 1
    assert rows[0]["labels"]["Lung Lesion"] is None and rows[0]["view"] == "AP" and rows[0]["age"] == 73
    assert rows[2]["view"] is None and rows[2]["frontal_lateral"] == "Lateral"


def test_imagenome_scene_graph_boxes_and_triplets():
    g = read_scene_graph(FIX / "imagenome/aaaa1111-bbbb2222-cccc3333-dddd4444-eeee5555_SceneGraph.json")
    assert g["boxes"]["right lung"] == [442, 331, 1160, 1878]
    assert "left arm" in g["other_boxes"] and "left arm" not in g["boxes"]
    assert ["Cardiomegaly", "cardiac silhouette", "present"] in g["triplets"]
    assert ["Pneumothorax", "right lung", "absent"] in g["triplets"]
    assert ["Pneumonia", "right lung", "present"] in g["triplets"]
    small = read_scene_graph(
        FIX / "imagenome/aaaa1111-bbbb2222-cccc3333-dddd4444-eeee5555_SceneGraph.json", original=False
    )
    assert small["boxes"]["right lung"] == [40, 30, 105, 170]


def test_imagenome_bad_object_names_file(tmp_path):
    p = tmp_path / "x_SceneGraph.json"
    p.write_text('{"objects": [{"bbox_name": "right lung", "original_x1": 5}]}')
    with pytest.raises(ReaderError, match=r"x_SceneGraph\.json: objects\[0\]: missing keys"):
        read_scene_graph(p)


def test_openi_xml_sections_images_and_mesh():
    r = read_openi_xml(FIX / "openi/9001.xml")
    assert r["findings"].startswith("The heart size is enlarged.") and r["impression"].startswith("Cardiomegaly")
    assert r["image_ids"] == ["CXR9001_IM-9999-1001", "CXR9001_IM-9999-2001"]
    assert r["mesh_major"] == ["Cardiomegaly/moderate", "Pleural Effusion/left/small"] and r["report_id"] == 9001
    with pytest.raises(ReaderError, match="broken.xml: malformed XML"):
        read_openi_xml(FIX / "openi/broken.xml")


def test_nih_official_csv_formats():
    rows = read_nih_labels(FIX / "nih/Data_Entry_2017.csv")
    assert rows[0]["labels"]["Cardiomegaly"] == 1 and rows[0]["labels"]["Pleural Effusion"] == 1
    assert rows[0]["labels"]["Fracture"] is None and rows[1]["labels"]["No Finding"] == 1
    third = rows[2]["labels"]
    assert third["Lung Opacity"] == 1 and third["Lung Lesion"] == 1 and third["Pleural Other"] == 1
    boxes = read_nih_boxes(FIX / "nih/BBox_List_2017.csv")
    assert boxes[0]["box"] == [300.5, 400.25, 720.5, 700.25]
    assert boxes[1]["nih_label"] == "Infiltration" and boxes[1]["label"] == "Lung Opacity"


def test_nih_bad_label_is_reported(tmp_path):
    p = tmp_path / "Data_Entry_2017.csv"
    p.write_text((FIX / "nih/Data_Entry_2017.csv").read_text().replace("Cardiomegaly|Effusion", "Cardiomegaly|Flu"))
    with pytest.raises(ReaderError, match=r"Data_Entry_2017\.csv:2: unknown NIH label 'Flu'"):
        read_nih_labels(p)


@needs_shared
def test_nih_shared_samples():
    rows = read_nih_labels(SHARED / "classification_nih14/manifest.csv", SHARED / "classification_nih14")
    assert len(rows) >= 40 and all(Path(r["image"]).is_file() for r in rows)
    assert sum(r["labels"]["Cardiomegaly"] for r in rows) >= 3
    boxes = read_nih_boxes(SHARED / "localization_nih_bbox/manifest.csv", SHARED / "localization_nih_bbox")
    assert boxes and all(b["box"][0] < b["box"][2] <= 1024 for b in boxes)


def test_vqa_rad_and_slake_fixtures():
    rad = read_vqa_rad(FIX / "vqa/vqa_rad.json")
    assert [q["answer_type"] for q in rad] == ["closed", "open", "open"] and rad[2]["answer"] == "2"
    slake = read_slake(FIX / "vqa/slake.json")
    assert len(slake) == 2 and slake[1]["question_type"] == "Position" and slake[0]["location"] == "Lung"
    assert len(read_slake(FIX / "vqa/slake.json", lang=None)) == 3
    with pytest.raises(ReaderError, match="item 0: referenced file missing"):
        read_vqa_rad(FIX / "vqa/vqa_rad.json", image_root=FIX)


@needs_shared
def test_vqa_derived_sample_and_missing_images():
    path = SHARED / "vqa_derived_from_nih_labels/qa.jsonl"
    qa = read_nih_derived_qa(path, missing="skip")
    assert len(qa) > 100 and {q["answer_type"] for q in qa} == {"closed", "open"}
    assert all(Path(q["image"]).is_file() for q in qa)
    with pytest.raises(ReaderError, match=r"qa\.jsonl:\d+: referenced file missing"):
        read_nih_derived_qa(path)


@needs_shared
def test_iu_text_sample():
    reps = read_iu_text_jsonl(SHARED / "report_iu_xray_text_only/reports_sample100.jsonl")
    assert len(reps) == 100 and all(r["findings"] and r["impression"] for r in reps)


def test_iu_text_bad_line(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text('{"report_id": 1, "findings": "a", "impression": "b", "mesh_major": []}\n{"report_id": 2}\n')
    with pytest.raises(ReaderError, match=r"r\.jsonl:2: missing keys"):
        read_iu_text_jsonl(p)
