"""Small-sample statistics of the real-film evaluation: rank AUC, bootstrap CIs, permutation p."""

import numpy as np
import pytest

from gkmvlp.eval.stats import auc, auc_ci, auc_difference_ci, auc_permutation_p, macro_auc_ci, mean_ci


def test_rank_auc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)  # rounded: many ties
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert np.isnan(auc(np.ones(5), np.arange(5)))


def test_ci_brackets_the_estimate_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    small_y, big_y = rng.integers(0, 2, 40), rng.integers(0, 2, 400)
    small = auc_ci(small_y, small_y + rng.normal(0, 1, 40))
    big = auc_ci(big_y, big_y + rng.normal(0, 1, 400))
    assert small[0] < auc(small_y, small_y + 0) <= 1 and big[1] - big[0] < small[1] - small[0]


def test_permutation_p_separates_signal_from_noise():
    rng = np.random.default_rng(2)
    y = np.array([0] * 30 + [1] * 30)
    p_signal, null_mean = auc_permutation_p(y, y + rng.normal(0, 0.5, 60), n_perm=300)
    p_noise, _ = auc_permutation_p(y, rng.normal(size=60), n_perm=300)
    assert p_signal < 0.01 < p_noise and null_mean == pytest.approx(0.5, abs=0.03)


def test_macro_ci_and_mean_ci():
    rng = np.random.default_rng(3)
    ys = [rng.integers(0, 2, 80) for _ in range(3)]
    ss = [y + rng.normal(0, 1, 80) for y in ys]
    point, lo, hi = macro_auc_ci(ys, ss, n_boot=200)
    assert lo < point < hi
    m, lo, hi = mean_ci([0.0, 1.0] * 20)
    assert m == 0.5 and lo < 0.5 < hi


def test_paired_auc_difference_is_zero_for_the_same_scores_and_its_interval_excludes_zero_for_a_clear_gain():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(80), np.zeros(80)].astype(bool)
    noise = rng.normal(size=160)
    weak, strong = y * 0.3 + noise, y * 1.5 + noise
    assert auc_difference_ci(y, weak, weak) == (0.0, 0.0, 0.0)
    d, lo, hi = auc_difference_ci(y, strong, weak)
    assert d == pytest.approx(auc(y, strong) - auc(y, weak)) and 0 < lo < d < hi
    # the same gain on unrelated noise is not claimed: the interval spans zero
    d2, lo2, hi2 = auc_difference_ci(y, weak + rng.normal(size=160) * 0.01, weak)
    assert lo2 <= 0 <= hi2
