"""Fine-tune a pre-trained GK-MVLP on a fraction of the labels: python -m gkmvlp.cli.finetune

--label-fraction 0.01 / 0.1 / 1.0 trains on that seeded share of the labelled training images.
--image-size N fine-tunes at N px from a pre-training at another size (the learned positions are resized).
Zero-shot classification (knowledge prompts, no fine-tuning) is reported by gkmvlp.cli.evaluate.
"""

from __future__ import annotations

import argparse

from ..train.config import resolve
from ._common import add_train_args, main_wrapper, train_dict


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="gkmvlp.cli.finetune", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_train_args(p)
    p.add_argument("--init-from", help="pre-trained checkpoint (file or run folder)")
    p.add_argument("--label-fraction", type=float, help="share of labelled training images (0, 1]")
    args = p.parse_args(argv)

    def body():
        from ..train.loop import run

        d = train_dict(args, "finetune")
        if args.init_from:
            d["init_from"] = args.init_from
        if args.image_size:  # the pre-training's size otherwise (its model config is inherited)
            d["finetune_image_size"] = args.image_size
        if args.label_fraction is not None:
            d["label_fraction"] = args.label_fraction
        cfg = resolve(d)
        print(f"[finetune] checkpoint: {run(cfg, resume=not args.no_resume)}")

    main_wrapper(body)


if __name__ == "__main__":
    main()
