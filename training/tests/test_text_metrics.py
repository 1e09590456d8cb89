"""BLEU, ROUGE-L and clinical efficacy against hand-computed values."""

import math

import pytest

from gkmvlp.metrics.text_metrics import (
    clinical_efficacy,
    corpus_bleu,
    lcs_length,
    report_metrics,
    rouge_l,
    rouge_l_pair,
    tokenize,
)


def test_identical_text_scores_one():
    s = "The heart is enlarged. Small left pleural effusion."
    assert corpus_bleu([s], [s]) == {"bleu1": 1.0, "bleu2": 1.0, "bleu3": 1.0, "bleu4": 1.0}
    assert rouge_l([s], [s]) == 1.0


def test_tokenizer_drops_punctuation_and_case():
    assert tokenize("No pneumothorax, ET-tube.") == ["no", "pneumothorax", "et", "tube"]


def test_bleu_clipping_papineni_example():
    # "the" x7 against a reference with "the" twice: p1 = 2/7, no 2-gram matches
    b = corpus_bleu(["the the the the the the the"], ["the cat is on the mat"])
    assert b["bleu1"] == pytest.approx(2 / 7) and b["bleu2"] == 0.0


def test_bleu_brevity_penalty_and_bigrams():
    # hyp "the cat" (c=2) vs ref "the cat sat on the mat" (r=6): p1 = p2 = 1, BP = exp(1 - 6/2)
    b = corpus_bleu(["the cat"], ["the cat sat on the mat"])
    assert b["bleu1"] == pytest.approx(math.exp(-2)) and b["bleu2"] == pytest.approx(math.exp(-2))
    assert b["bleu3"] == 0.0  # no trigram in a two-word hypothesis


def test_bleu_corpus_pools_counts_and_smoothing():
    # pair 1: 3/3 unigrams, 2/2 bigrams; pair 2: 1/2 unigrams, 0/1 bigrams -> p1 = 4/5, p2 = 2/3
    b = corpus_bleu(["a b c", "x y"], ["a b c", "x z"])
    assert b["bleu1"] == pytest.approx(0.8)
    assert b["bleu2"] == pytest.approx(math.sqrt(0.8 * 2 / 3))
    assert corpus_bleu(["a b"], ["a c"])["bleu2"] == 0.0
    assert corpus_bleu(["a b"], ["a c"], smoothing="epsilon")["bleu2"] == pytest.approx(math.sqrt(0.5 * 0.1))


def test_bleu_multiple_references_use_max_counts_and_closest_length():
    # refs of length 2 and 5 for a 4-token hypothesis: the closest (5) sets BP = exp(1 - 5/4)
    b = corpus_bleu(["a b c d"], [["a b", "a b c d e"]])
    assert b["bleu1"] == pytest.approx(math.exp(1 - 5 / 4))
    # ties in distance go to the shorter reference: lengths 3 and 5 for 4 tokens -> r = 3, BP = 1
    assert corpus_bleu(["a b c d"], [["a b c", "a b c d e"]])["bleu1"] == pytest.approx(1.0)


def test_rouge_l_hand_values():
    assert lcs_length("a b c d".split(), "a c d e".split()) == 3
    # LCS 3 of hyp 4 and ref 4: P = R = 0.75
    assert rouge_l_pair("police killed the gunman", "police kill the gunman") == pytest.approx(0.75)
    # hyp 2 tokens, ref 4: LCS 2 -> P = 1, R = 0.5, F1 = 2/3
    assert rouge_l_pair("the gunman", "police kill the gunman") == pytest.approx(2 / 3)
    assert rouge_l(["a", "b"], ["a", "c"]) == pytest.approx(0.5)
    assert rouge_l_pair("", "a") == 0.0


def test_clinical_efficacy_micro_counts():
    hyp = ["Large left pleural effusion. Cardiomegaly.", "No acute cardiopulmonary process."]
    ref = ["Small left pleural effusion. No cardiomegaly. Small right pneumothorax.", "Normal chest."]
    ce = clinical_efficacy(hyp, ref)
    # TP: effusion; FP: cardiomegaly; FN: pneumothorax. No Finding (pair 2) is excluded.
    assert (ce["precision"], ce["recall"], ce["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert ce["per_label"]["Pleural Effusion"]["tp"] == 1 and "No Finding" not in ce["per_label"]


def test_uncertain_counts_as_negative_in_clinical_efficacy():
    ce = clinical_efficacy(["Possible pneumonia."], ["Pneumonia."])
    assert ce["per_label"]["Pneumonia"] == {"tp": 0, "fp": 0, "fn": 1, "precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_report_metrics_keys_and_length_mismatch():
    m = report_metrics(["No effusion."], ["No effusion."])
    assert set(m) == {"bleu1", "bleu2", "bleu3", "bleu4", "rougeL", "ce_precision", "ce_recall", "ce_f1"}
    with pytest.raises(ValueError):
        corpus_bleu(["a"], ["a", "b"])
