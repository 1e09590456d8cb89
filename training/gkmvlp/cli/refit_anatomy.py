"""Copy a format-2 bundle with anatomy boxes and presence answers, its derived Cardiomegaly refitted on the measured
boxes from its own ONNX graphs (no checkpoint needed):
python -m gkmvlp.cli.refit_anatomy --bundle ../models/X --corpus ../.local/real-corpus --out ../models/Y --version V
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import main_wrapper, print_json


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="gkmvlp.cli.refit_anatomy", description=__doc__)
    p.add_argument("--bundle", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    def body():
        from ..reliability.refit_anatomy import refit

        print_json(refit(Path(args.bundle), Path(args.corpus), Path(args.out), args.version, args.threads))

    main_wrapper(body)


if __name__ == "__main__":
    main()
