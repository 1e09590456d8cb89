"""Average fine-tunes that share one pre-training into one checkpoint (gkmvlp/train/soup.py says when that works):
python -m gkmvlp.cli.soup --out runs/soup/finetune runs/a/finetune runs/b/finetune"""

from __future__ import annotations

import argparse

from ._common import main_wrapper


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="gkmvlp.cli.soup", description=__doc__)
    p.add_argument("checkpoints", nargs="+", help="checkpoint files or run folders (two or more)")
    p.add_argument("--out", required=True, help="folder for the averaged checkpoint.pt")
    args = p.parse_args(argv)

    def body():
        from ..train.soup import make_soup

        print(f"[soup] wrote {make_soup(args.checkpoints, args.out)} from {len(args.checkpoints)} checkpoints")

    main_wrapper(body)


if __name__ == "__main__":
    main()
