"""Pneumonia vs normal of a bundle on the held-out NIH set (gkmvlp.cli.assemble_holdout):

  python -m gkmvlp.cli.holdout_eval --bundle ../models/NAME --holdout ../.local/nih-holdout

Prints one JSON object (AUC, bootstrap 95 % interval, permutation p, the view baseline). Score each bundle once:
the set is only worth something while it has not been used to choose among candidates. --stamp writes the figure
into the bundle's manifest beside the corpus-test figure (reliability.real_metrics.Pneumonia.other_sets).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import main_wrapper, print_json

REPO = Path(__file__).resolve().parents[3]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="gkmvlp.cli.holdout_eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--bundle", required=True, help="bundle folder")
    p.add_argument("--holdout", default=str(REPO / ".local" / "nih-holdout"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--against",
        help="a control bundle (same recipe and seed, one lever changed): prints the AUC difference on the same "
        "films with a paired bootstrap CI",
    )
    p.add_argument(
        "--stamp",
        action="store_true",
        help="write the figure into the bundle manifest's reliability.real_metrics (Pneumonia's other_sets), where "
        "the API and the console show it beside the corpus-test figure (changes the bundle's hash)",
    )
    args = p.parse_args(argv)

    def body():
        from ..eval.film_runner import FilmRunner
        from ..eval.holdout import holdout_pneumonia

        holdout = Path(args.holdout)
        info_path = holdout / "corpus.json"
        if not info_path.is_file():
            raise FileNotFoundError(f"no held-out set at {holdout} (gkmvlp.cli.assemble_holdout builds it)")
        info = json.loads(info_path.read_text())
        held = info.get("parameters", {}).get("held_out_of") or {}
        seen = None
        corpus = Path(held["corpus"]) if held.get("corpus") else None
        if corpus is not None and (corpus / "manifest.jsonl").is_file():
            from ..data.real.holdout import seen_patients

            seen = seen_patients(corpus, ("test",)).get("nih", set())
        run = FilmRunner(Path(args.bundle), args.threads)
        res = holdout_pneumonia(run, holdout, seen)
        if args.against:
            from ..eval.holdout import paired_difference

            res["against"] = paired_difference(run, FilmRunner(Path(args.against), args.threads), holdout)
        if args.stamp:
            from ..eval.real_metrics import HOLDOUT_SET, stamp_other_set

            if "all" not in res:
                raise ValueError(f"nothing to stamp: {res.get('note')}")
            stamp_other_set(Path(args.bundle), "Pneumonia", res["all"], HOLDOUT_SET)
        print_json(
            {
                "bundle": f"{run.m['name']} {run.m['version']}",
                "holdout_manifest_sha256": info.get("sha256", {}).get("manifest.jsonl"),
                **res,
            }
        )

    main_wrapper(body)


if __name__ == "__main__":
    main()
