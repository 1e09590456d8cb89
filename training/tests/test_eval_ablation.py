"""Ablation summaries (gkmvlp/eval/ablation.py)."""

import json
import math

import pytest

from gkmvlp.eval import ablation


def test_mean_and_sample_sd_over_seeds():
    m, sd = ablation.mean_sd([0.8, 0.82, 0.84])
    assert math.isclose(m, 0.82) and math.isclose(sd, 0.02)


def test_gap_smaller_than_the_spread_is_not_called_a_difference():
    a, b = {"mean": 0.83, "sd": 0.02}, {"mean": 0.82, "sd": 0.01}
    assert ablation.verdict(a, b) == "within spread"
    assert ablation.verdict({"mean": 0.90, "sd": 0.01}, b) == "higher"
    assert ablation.verdict(b, {"mean": 0.90, "sd": 0.01}) == "lower"


def test_cli_writes_json_and_a_table_per_metric(tmp_path):
    files = {}
    for variant, base in (("gk", 0.8), ("no_gk", 0.7)):
        files[variant] = []
        for seed in range(3):
            f = tmp_path / f"{variant}{seed}.json"
            f.write_text(json.dumps({"auc_macro": base + 0.01 * seed, "pointing_game": 0.5}))
            files[variant].append(str(f))
    ablation.main(
        ["--variant", "gk", *files["gk"], "--variant", "no_gk", *files["no_gk"], "--out", str(tmp_path / "o")]
    )
    s = json.loads((tmp_path / "o" / "ablation.json").read_text())
    assert s["n_seeds"] == {"gk": 3, "no_gk": 3}
    assert math.isclose(s["metrics"]["auc_macro"]["gk"]["mean"], 0.81)
    table = (tmp_path / "o" / "ablation.md").read_text()
    assert "| auc_macro | 0.810 ± 0.010 | 0.710 ± 0.010 | +0.100 | gk higher |" in table
    assert "| pointing_game |" in table and "within spread" in table


def test_label_fraction_curve_orders_fractions_and_plots(tmp_path):
    from gkmvlp.eval import label_fraction

    runs = []
    for frac, auc in (("1.0", 0.9), ("0.01", 0.6), ("0.1", 0.75)):
        f = tmp_path / f"m{frac}.json"
        f.write_text(json.dumps({"auc_macro": auc, "zero_shot_auc_macro": 0.6, "ce_f1": 0.4}))
        runs += ["--run", frac, str(f)]
    label_fraction.main(runs + ["--out", str(tmp_path / "o")])
    c = json.loads((tmp_path / "o" / "label_fraction.json").read_text())
    assert c["fractions"] == [0.01, 0.1, 1.0] and c["auc_macro"] == [0.6, 0.75, 0.9]
    assert (tmp_path / "o" / "label_fraction.png").stat().st_size > 5000


def test_per_label_means_over_seeds_and_the_gap_plot(tmp_path):
    args = []
    for variant, base in (("gk", 0.8), ("no_gk", 0.7)):
        args.append("--variant")
        args.append(variant)
        for seed in range(2):
            f = tmp_path / f"{variant}{seed}.json"
            f.write_text(
                json.dumps({"auc_macro": base, "auc_per_label": {"Edema": base + 0.02 * seed, "Fracture": 0.5}})
            )
            args.append(str(f))
    ablation.main(args + ["--out", str(tmp_path / "o"), "--plot-pairs", "gk:no_gk"])
    s = json.loads((tmp_path / "o" / "ablation.json").read_text())
    assert math.isclose(s["auc_per_label"]["gk"]["Edema"][0], 0.81)
    assert math.isclose(s["auc_per_label"]["no_gk"]["Fracture"][1], 0.0)
    assert (tmp_path / "o" / "ablation_labels.png").stat().st_size > 5000
    with pytest.raises(SystemExit):
        ablation.main(args + ["--out", str(tmp_path / "o"), "--plot-pairs", "gk:nope"])
