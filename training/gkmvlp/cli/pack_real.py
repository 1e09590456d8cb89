"""Pack the real corpus for a training machine lent for minutes: python -m gkmvlp.cli.pack_real
--corpus ../.local/real-corpus --out ../.local/real-pack --splits train,val [--size tiny] [--codec WEBP] [--quality 85]

The films are letterboxed and resized to the model's input size and WebP- (or JPEG-) coded into one file with their boxes
and anatomy grids (gkmvlp/train/real_pack.py); the folder then serves as --real-corpus for that input size.
"""

from __future__ import annotations

import argparse

from ..train.real_pack import CODECS
from ._common import main_wrapper, print_json


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="gkmvlp.cli.pack_real", description=__doc__)
    p.add_argument("--corpus", required=True, help="assembled corpus (gkmvlp.cli.assemble_real)")
    p.add_argument("--out", required=True)
    p.add_argument("--splits", default="train,val", help="comma-separated splits to pack (default train,val)")
    p.add_argument("--size", default="tiny", choices=["tiny", "small", "base"], help="model preset (input size)")
    p.add_argument("--codec", default="WEBP", choices=CODECS)
    p.add_argument("--quality", type=int, default=85, help="1..95 (WebP 85: about 2 kB a 128 px film)")
    args = p.parse_args(argv)

    def body():
        from ..data.real import SPLITS
        from ..model.config import ConfigError, preset
        from ..train.real_pack import pack_corpus

        splits = tuple(s for s in args.splits.split(",") if s)
        bad = [s for s in splits if s not in SPLITS]
        if bad or not splits or not 1 <= args.quality <= 95:
            raise ConfigError(f"--splits must name some of {SPLITS} (got {args.splits!r}); --quality in 1..95")
        cfg = preset(args.size, anatomy_head=True, anatomy_subcells=4)
        print_json(pack_corpus(args.corpus, args.out, cfg, splits, args.quality, args.codec))

    main_wrapper(body)


if __name__ == "__main__":
    main()
