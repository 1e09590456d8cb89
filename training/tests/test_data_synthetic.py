"""The synthetic generator draws what its ground truth says, deterministically."""

import numpy as np
import pytest

from gkmvlp.data.synthetic import GeneratorConfig, generate_sample
from gkmvlp.ontology import LABELS, REGIONS
from gkmvlp.text.labeller import label_report

CFG = GeneratorConfig(image_size=96)
N = 50


@pytest.fixture(scope="module")
def samples():
    return [generate_sample(CFG, 11, i) for i in range(N)]


def test_same_seed_and_index_give_identical_samples():
    a, b = generate_sample(CFG, 5, 3), generate_sample(CFG, 5, 3)
    assert np.array_equal(a.image, b.image)
    assert a.record == b.record
    c = generate_sample(CFG, 6, 3)
    assert not np.array_equal(a.image, c.image)


def test_images_are_uint8_of_configured_size(samples):
    for s in samples:
        assert s.image.dtype == np.uint8 and s.image.shape == (96, 96)
        assert s.image.std() > 10  # not blank


def test_record_has_all_labels_and_known_regions(samples):
    for s in samples:
        r = s.record
        assert list(r["labels"]) == list(LABELS)
        assert set(r["regions"]) <= set(REGIONS)
        assert len(r["regions"]) >= 25


def test_boxes_lie_inside_the_image_and_contain_their_masks(samples):
    for s in samples:
        for b in list(s.record["regions"].values()) + [f["box"] for f in s.record["findings"]]:
            x1, y1, x2, y2 = b
            assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 96
        for f, m in zip(s.record["findings"], s.masks):
            ys, xs = np.nonzero(m)
            x1, y1, x2, y2 = f["box"]
            assert xs.min() >= x1 and xs.max() < x2 and ys.min() >= y1 and ys.max() < y2


def test_labels_follow_chexpert_conventions(samples):
    for s in samples:
        lab = s.record["labels"]
        drawn = {f["label"] for f in s.record["findings"]}
        assert {k for k, v in lab.items() if v == 1} - {"No Finding", "Lung Opacity"} == drawn
        children = {"Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis"}
        assert lab["Lung Opacity"] == int(bool(drawn & children))
        assert lab["No Finding"] == int(not (drawn - {"Support Devices"}))


def test_findings_change_the_pixels_inside_their_masks():
    """Same seed rendered without findings: the difference sits inside each finding's mask."""
    checked = 0
    for i in range(30):
        s, n = generate_sample(CFG, 21, i), generate_sample(CFG, 21, i, draw_findings=False)
        assert n.record["findings"] == [] and n.record["labels"]["No Finding"] == 1
        d = np.abs(s.image.astype(float) - n.image.astype(float))
        if not s.record["findings"]:
            assert d.max() == 0
        for f, m in zip(s.record["findings"], s.masks):
            assert d[m].mean() > 0.1, f
            if len(s.record["findings"]) == 1:
                assert d[m].mean() > 5 * d[~m].mean(), f
            checked += 1
    assert checked > 15


def test_severity_sets_conspicuity():
    """Mild findings differ less from the finding-free film than severe ones (on average)."""
    by_sev = {"mild": [], "severe": []}
    for i in range(40):
        s, n = generate_sample(CFG, 31, i), generate_sample(CFG, 31, i, draw_findings=False)
        d = np.abs(s.image.astype(float) - n.image.astype(float))
        for f, m in zip(s.record["findings"], s.masks):
            if f["severity"] in by_sev and f["label"] != "Support Devices":
                by_sev[f["severity"]].append(d[m].mean() * m.sum())
    assert np.median(by_sev["mild"]) < np.median(by_sev["severe"])


def test_report_mentions_exactly_the_positive_findings(samples):
    for s in samples:
        r = s.record
        text = r["report"]["findings"] + " " + r["report"]["impression"]
        got = label_report(text, propagate=True)
        assert {k for k, v in got.items() if v == 1} == {k for k, v in r["labels"].items() if v == 1}, text
        assert not any(v == -1 for v in got.values()), text
        for k, v in got.items():
            if v == 0:
                assert r["labels"][k] == 0, (k, text)


def test_sentence_labels_match_sentence_text(samples):
    for s in samples:
        for sent in s.record["report"]["sentences"]:
            got = {k for k, v in label_report(sent["text"], propagate=True).items() if v == 1}
            assert got - {"No Finding"} == set(sent["labels"]) - {"No Finding"}, sent
            for lab in sent.get("negated", []):
                assert label_report(sent["text"])[lab] in (0, None), (lab, sent["text"])


def test_vqa_answers_match_labels_and_yes_no_is_balanced(samples):
    yes = no = 0
    for s in samples:
        lab = s.record["labels"]
        for q in s.record["vqa"]:
            assert q["type"] in ("closed", "open")
            if q["kind"] == "presence":
                assert q["answer"] == ("yes" if lab[q["label"]] else "no")
                yes += q["answer"] == "yes"
                no += q["answer"] == "no"
            if q["kind"] == "side":
                assert q["answer"] in {f["side"] for f in s.record["findings"] if f["label"] == q["label"]}
            if q["kind"] == "view":
                assert q["answer"] == s.record["view"]
    assert 0.4 < yes / (yes + no) < 0.6


def test_triplets_agree_with_labels(samples):
    for s in samples:
        lab = s.record["labels"]
        for finding, region, status in s.record["triplets"]:
            assert region in REGIONS
            if status == "present":
                assert lab[finding] == 1
            elif lab[finding] == 1:  # absent on the other side of a one-sided finding
                assert any(f["label"] == finding and f["side"] in ("left", "right") for f in s.record["findings"])


def test_prevalence_is_sensible():
    cfg = GeneratorConfig(image_size=64)
    recs = [generate_sample(cfg, 2, i).record for i in range(300)]
    normal = np.mean([r["labels"]["No Finding"] for r in recs])
    assert 0.2 < normal < 0.4
    for lab in LABELS:
        if lab not in ("No Finding", "Lung Opacity"):
            p = np.mean([r["labels"][lab] for r in recs])
            assert 0.04 < p < 0.25, (lab, p)


def test_image_size_is_validated():
    with pytest.raises(ValueError):
        GeneratorConfig(image_size=1024)
    assert generate_sample(GeneratorConfig(image_size=512), 0, 0).image.shape == (512, 512)
