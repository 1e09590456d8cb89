"""Pre-train GK-MVLP (ITC, ITM, LM, ECLS, grounding, mask, box, VQA): python -m gkmvlp.cli.pretrain"""

from __future__ import annotations

import argparse

from ..train.config import resolve
from ._common import add_train_args, main_wrapper, train_dict


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="gkmvlp.cli.pretrain", description=__doc__)
    add_train_args(p)
    args = p.parse_args(argv)

    def body():
        from ..train.loop import run

        cfg = resolve(train_dict(args, "pretrain"))
        print(f"[pretrain] checkpoint: {run(cfg, resume=not args.no_resume)}")

    main_wrapper(body)


if __name__ == "__main__":
    main()
