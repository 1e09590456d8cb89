"""An ensemble bundle: the primary bundle plus other bundles' classifiers, whose logits the worker averages;
calibration, thresholds and the derived Cardiomegaly refitted on the real validation films for the combined value
(no checkpoint needed):
python -m gkmvlp.cli.ensemble --primary A --member B [--member C ...] --corpus ../.local/real-corpus --out OUT --version V
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import main_wrapper, print_json


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="gkmvlp.cli.ensemble", description=__doc__)
    p.add_argument("--primary", required=True, help="format-2 bundle whose every other output the ensemble keeps")
    p.add_argument("--member", action="append", required=True, help="another bundle's classifier (repeatable)")
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    def body():
        from ..reliability.ensemble import build

        print_json(
            build(
                Path(args.primary),
                [Path(m) for m in args.member],
                Path(args.corpus),
                Path(args.out),
                args.version,
                args.threads,
                args.seed,
            )
        )

    main_wrapper(body)


if __name__ == "__main__":
    main()
