"""Per-label real-film figures stamped into a bundle manifest (reliability.real_metrics)."""

import json

import pytest

from gkmvlp.eval.real_metrics import (
    HOLDOUT_SET,
    NIH_DEV_SET,
    NIH_TEST_SET,
    manifest_real_metrics,
    stamp_manifest,
    stamp_other_set,
)

METRICS = {
    "corpus_test": {
        "pneumonia_vs_normal_nih": {
            "auc": 0.88,
            "ci_low": 0.82,
            "ci_high": 0.94,
            "perm_p": 0.001,
            "shuffled_labels_auc": 0.5,
            "n_pos": 69,
            "n_neg": 63,
        },
        "nodule_jsrt": {"auc": 0.77, "ci_low": 0.6, "ci_high": 0.9, "n_pos": 26, "n_neg": 11},
    },
    "nih_dev": {
        "per_label": {
            "Cardiomegaly": {"auc": 0.75, "ci_low": 0.48, "ci_high": 0.95, "n_pos": 6, "n_neg": 44},
            "Pneumonia": {"auc": 0.6, "n_pos": 3, "n_neg": 47},
            "Fracture": {"auc": None},
        }
    },
}


def test_corpus_figures_win_over_the_small_evaluation_sample_and_unscored_labels_are_left_out():
    got = manifest_real_metrics(METRICS)
    assert list(got) == ["Cardiomegaly", "Lung Lesion", "Pneumonia"]
    assert (
        got["Pneumonia"]["n_pos"] == 69 and got["Pneumonia"]["baseline_auc"] == 0.5 and "NIH" in got["Pneumonia"]["set"]
    )
    assert got["Cardiomegaly"] == {
        "auc": 0.75,
        "ci_low": 0.48,
        "ci_high": 0.95,
        "n_pos": 6,
        "n_neg": 44,
        "set": NIH_DEV_SET,
    }


def test_stamping_writes_only_the_reliability_figures(tmp_path):
    manifest = {"format_version": 2, "reliability": {"graph": "input_check", "validated_on_real": ["Pneumonia"]}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    stamp_manifest(tmp_path, METRICS)
    after = json.loads((tmp_path / "manifest.json").read_text())
    assert set(after["reliability"].pop("real_metrics")) == {"Cardiomegaly", "Lung Lesion", "Pneumonia"}
    assert after == manifest


def test_a_bundle_without_a_reliability_section_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"format_version": 1}))
    with pytest.raises(ValueError, match="no reliability section"):
        stamp_manifest(tmp_path, METRICS)


HELD_OUT = {
    "auc": 0.62,
    "ci_low": 0.53,
    "ci_high": 0.70,
    "perm_p": 0.003,
    "shuffled_labels_auc": 0.5,
    "n_pos": 118,
    "n_neg": 74,
}


def _bundle(tmp_path):
    manifest = {"format_version": 2, "reliability": {"graph": "input_check"}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    stamp_manifest(tmp_path, METRICS)
    return tmp_path


def test_a_second_set_is_stamped_beside_the_main_figure_and_replaces_an_older_figure_of_the_same_set(tmp_path):
    b = _bundle(tmp_path)
    stamp_other_set(b, "Pneumonia", {**HELD_OUT, "auc": 0.7}, HOLDOUT_SET)
    entry = stamp_other_set(b, "Pneumonia", HELD_OUT, HOLDOUT_SET)
    stored = json.loads((b / "manifest.json").read_text())["reliability"]["real_metrics"]["Pneumonia"]
    assert stored == entry and stored["auc"] == 0.88  # the main figure is untouched
    assert stored["other_sets"][0]["set"] == NIH_DEV_SET  # the evaluation sample's 3 positives, then the new set
    assert stored["other_sets"][1:] == [
        {
            "auc": 0.62,
            "ci_low": 0.53,
            "ci_high": 0.70,
            "perm_p": 0.003,
            "n_pos": 118,
            "n_neg": 74,
            "baseline_auc": 0.5,
            "set": HOLDOUT_SET,
        }
    ]


def test_restamping_the_corpus_figures_keeps_the_other_sets(tmp_path):
    b = _bundle(tmp_path)
    stamp_other_set(b, "Pneumonia", HELD_OUT, HOLDOUT_SET)
    stamp_manifest(b, {**METRICS, "corpus_test": {**METRICS["corpus_test"], "pneumonia_vs_normal_nih": {"auc": 0.9}}})
    stored = json.loads((b / "manifest.json").read_text())["reliability"]["real_metrics"]["Pneumonia"]
    assert stored["auc"] == 0.9 and [e["set"] for e in stored["other_sets"]] == [NIH_DEV_SET, HOLDOUT_SET]


def test_a_second_set_needs_the_labels_main_figure_first(tmp_path):
    b = _bundle(tmp_path)
    with pytest.raises(ValueError, match="no real_metrics entry for Edema"):
        stamp_other_set(b, "Edema", HELD_OUT, HOLDOUT_SET)


def test_the_largest_set_gives_the_main_figure_and_the_others_follow():
    metrics = {
        **METRICS,
        "corpus_heldout": {
            "nih_test": {
                "per_label": {
                    "Cardiomegaly": {"auc": 0.83, "ci_low": 0.76, "ci_high": 0.89, "n_pos": 45, "n_neg": 1496},
                    "Pneumonia": {"auc": 0.67, "n_pos": 71, "n_neg": 1484},
                }
            }
        },
    }
    got = manifest_real_metrics(metrics)
    assert got["Cardiomegaly"]["set"] == NIH_TEST_SET and got["Cardiomegaly"]["n_pos"] == 45
    assert [e["set"] for e in got["Cardiomegaly"]["other_sets"]] == [NIH_DEV_SET]
    assert got["Pneumonia"]["n_pos"] == 69  # the task's own test set first
    assert [e["set"] for e in got["Pneumonia"]["other_sets"]] == [NIH_TEST_SET, NIH_DEV_SET]
    assert "other_sets" not in got["Lung Lesion"]
