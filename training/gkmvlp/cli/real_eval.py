"""The real-film evaluation of a bundle: python -m gkmvlp.cli.real_eval --bundle ../models/NAME

Needs the assembled corpus (gkmvlp.cli.assemble_real) for the patient-split test films; the parts
on ../shared/data and on test/fixtures/reliability run whenever those folders exist. Writes
metrics.json and a reliability diagram into --out; prints the headline figures as one JSON object
on the last line (the issue's keys), each beside its baseline. --stamp writes the per-label figures into
the bundle's manifest (reliability.real_metrics), where the API and the console show them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import main_wrapper, print_json

REPO = Path(__file__).resolve().parents[3]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="gkmvlp.cli.real_eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--bundle", default=None, help="bundle folder (default: models/DEFAULT)")
    p.add_argument("--corpus", default=str(REPO / ".local" / "real-corpus"))
    p.add_argument("--shared-data", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--fixtures", default=str(REPO / "test" / "fixtures" / "reliability"))
    p.add_argument("--out", default=str(REPO / "training" / "runs" / "real-eval"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--stamp",
        action="store_true",
        help="write the per-label figures into the bundle manifest's reliability.real_metrics (changes its hash)",
    )
    args = p.parse_args(argv)

    def body():
        from ..eval import real_films as rf
        from ..eval.film_runner import FilmRunner
        from ..eval.plots_real import reliability_diagram
        from ..eval.real_anatomy import anatomy, covid_lung_boxes
        from ..eval.real_splits import corpus_extra

        bundle = (
            Path(args.bundle) if args.bundle else REPO / "models" / (REPO / "models" / "DEFAULT").read_text().strip()
        )
        corpus, shared, out = Path(args.corpus), Path(args.shared_data), Path(args.out)
        if not (corpus / "manifest.jsonl").is_file():
            raise FileNotFoundError(
                f"real corpus not found at {corpus}: assemble it first "
                "(cd training && python -m gkmvlp.cli.assemble_real --clones DIR --out ../.local/real-corpus)"
            )
        run = FilmRunner(bundle, args.threads)
        m: dict = {"bundle": {"name": run.m["name"], "version": run.m["version"], "trained_on": run.m["trained_on"]}}
        # which corpus the figures come from: the assembler's manifest checksum names it exactly
        info = json.loads((corpus / "corpus.json").read_text()) if (corpus / "corpus.json").is_file() else {}
        m["corpus"] = {"films": info.get("films"), "manifest_sha256": info.get("sha256", {}).get("manifest.jsonl")}
        m["corpus_test"] = rf.corpus_tasks(run, corpus)
        curve = m["corpus_test"].pop("_curve")
        # the 37 JSRT test films give a nodule interval about 0.4 wide; the validation films double them (AUC is
        # rank-based, so the calibration fitted on those films does not move it)
        m["corpus_val_test_pooled"] = {
            "nodule_jsrt": rf.pooled_label_auc(run, corpus, ["val", "test"], "jsrt", "Lung Lesion")
        }
        m["anatomy"] = anatomy(run, corpus)
        m["report_agreement"] = rf.report_agreement(run, corpus)
        if (shared / "classification_nih14").is_dir():
            m["nih_dev"] = rf.nih_dev(run, shared / "classification_nih14")
            m["covid_lung_boxes"] = covid_lung_boxes(run, shared / "localization_covid_lungs", corpus)
            m["vqa_nih_derived"] = rf.vqa(run, shared / "vqa_derived_from_nih_labels")
        m["ood_fixtures"] = rf.ood_fixtures(run, Path(args.fixtures))
        m["corpus_heldout"] = corpus_extra(run, corpus)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(m, indent=1, default=float))
        reliability_diagram(*curve, out / "reliability-diagram.png", title=f"{run.m['name']} {run.m['version']}")
        ct, nd = m["corpus_test"], m.get("nih_dev", {})
        card = nd.get("per_label", {}).get("Cardiomegaly", {})
        head = {
            "nih_dev_macro_auc": nd.get("macro_auc"),
            "nih_dev_macro_auc_ci_low": nd.get("macro_ci_low"),
            "nih_dev_macro_auc_ci_high": nd.get("macro_ci_high"),
            "nih_dev_labels": nd.get("labels_scored"),
            "cardiomegaly_auc": card.get("auc"),
            "cardiomegaly_auc_ci": [card.get("ci_low"), card.get("ci_high")],
            "pneumonia_vs_normal_auc": ct["pneumonia_vs_normal_nih"].get("auc"),
            "pneumonia_vs_normal_ci": [
                ct["pneumonia_vs_normal_nih"].get("ci_low"),
                ct["pneumonia_vs_normal_nih"].get("ci_high"),
            ],
            # a film's pixel-to-pixel grain alone, as the pneumonia score: a trivial baseline that reads the
            # selection, not the finding (gkmvlp/eval/pixel_baselines.py)
            "pneumonia_vs_normal_grain_baseline": (ct["pneumonia_vs_normal_nih"].get("pixel_baselines") or {}).get(
                "more_grain_auc"
            ),
            "nodule_auc": ct["nodule_jsrt"].get("auc"),
            "nodule_auc_ci": [ct["nodule_jsrt"].get("ci_low"), ct["nodule_jsrt"].get("ci_high")],
            "nodule_auc_val_test_pooled": m["corpus_val_test_pooled"]["nodule_jsrt"].get("auc"),
            "nodule_auc_val_test_pooled_ci": [
                m["corpus_val_test_pooled"]["nodule_jsrt"].get("ci_low"),
                m["corpus_val_test_pooled"]["nodule_jsrt"].get("ci_high"),
            ],
            "lung_dice": m["anatomy"]["lung"].get("dice_mask", [None])[0],
            "lung_dice_box_as_mask": m["anatomy"]["lung"]["dice_box_as_mask"][0],
            "lung_dice_template": m["anatomy"]["lung"]["dice_template"][0],
            "heart_dice": m["anatomy"]["heart"].get("dice_mask", [None])[0],
            "heart_dice_box_as_mask": m["anatomy"]["heart"]["dice_box_as_mask"][0],
            "heart_dice_template": m["anatomy"]["heart"]["dice_template"][0],
            "covid_lung_dice": (m.get("covid_lung_boxes") or {}).get("lung_mask_dice", [None])[0],
            "lung_box_iou_minus_template": (m.get("covid_lung_boxes") or {}).get("minus_oracle_template", [None])[0],
            "closed_vqa_minus_majority": (m.get("vqa_nih_derived") or {}).get("minus_majority", [None])[0],
            "vqa_same_as_blank_share": (m.get("vqa_nih_derived") or {}).get("same_as_blank_share"),
            "ece": ct["calibration"]["ece"],
            "ece_uncalibrated": ct["calibration"]["ece_raw"],
            "ood_flagged": m["ood_fixtures"].get("flagged"),
            "cxr_accepted": ct["cxr_accepted"],
            "report_pneumonia_agreement": m["report_agreement"]["pneumonia_agreement"][0],
            "report_fixed_majority_agreement": m["report_agreement"]["fixed_majority_report_agreement"],
            "bundle": f"{run.m['name']}-{run.m['version']}",
            "corpus_manifest_sha256": m["corpus"]["manifest_sha256"],
        }
        ch = m["corpus_heldout"]
        for name in ("nih_test", "chexpert_heldout"):
            if ch[name].get("n"):
                head[f"{name}_macro_auc"] = ch[name]["macro_auc"]
                head[f"{name}_macro_auc_ci"] = [ch[name]["macro_ci_low"], ch[name]["macro_ci_high"]]
                head[f"{name}_n"] = ch[name]["n"]
        lat = ch["real_laterals"]
        if lat.get("flagged"):
            head["real_laterals_flagged"] = lat["flagged"][0]
            head["real_laterals_flagged_ci"] = list(lat["flagged"][1:])
            head["real_laterals_n"] = lat["n"]
        if args.stamp:
            from ..eval.real_metrics import stamp_manifest

            head["stamped_labels"] = sorted(stamp_manifest(bundle, m))
        print_json(head)

    main_wrapper(body)


if __name__ == "__main__":
    main()
