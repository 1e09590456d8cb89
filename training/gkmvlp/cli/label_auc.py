"""AUC of one label on one source's films of a bundle, pooled over corpus splits (more films than one split has):
python -m gkmvlp.cli.label_auc --bundle ../models/X --corpus ../.local/real-corpus --splits val,test \
  --source jsrt --label "Lung Lesion"
Prints one JSON object (AUC, bootstrap CI, permutation p-value, shuffled-label baseline, counts)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import main_wrapper, print_json


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="gkmvlp.cli.label_auc", description=__doc__)
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--corpus", required=True, type=Path, help="assembled corpus (python -m gkmvlp.cli.assemble_real)")
    p.add_argument("--splits", default="val,test", help="comma-separated corpus splits to pool")
    p.add_argument("--source", required=True, help="film id prefix: jsrt, nih, openist, ...")
    p.add_argument("--label", required=True, help="one of the bundle's labels")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    def body():
        from ..eval.film_runner import FilmRunner
        from ..eval.real_films import pooled_label_auc

        run = FilmRunner(args.bundle, threads=args.threads)
        if args.label not in run.m["labels"]:
            raise ValueError(f"label {args.label!r} is not one of the bundle's: {', '.join(run.m['labels'])}")
        splits = [s for s in args.splits.split(",") if s]
        print_json({"bundle": str(args.bundle), **pooled_label_auc(run, args.corpus, splits, args.source, args.label)})

    main_wrapper(body)


if __name__ == "__main__":
    main()
