"""Score training checkpoints on the corpus's validation films (choose among runs without the test split):
python -m gkmvlp.cli.val_scores --corpus ../.local/real-corpus --checkpoint runs/a/finetune [runs/b/finetune ...]
Prints one JSON object per checkpoint (gkmvlp/eval/val_scores.py says what is measured)."""

from __future__ import annotations

import argparse

from ._common import main_wrapper, print_json


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="gkmvlp.cli.val_scores", description=__doc__)
    p.add_argument("--corpus", required=True, help="assembled or packed corpus")
    p.add_argument("--checkpoint", required=True, nargs="+", help="checkpoint files or run folders")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    def body():
        import torch

        from ..eval.val_scores import val_scores

        torch.set_num_threads(args.threads)
        for ck in args.checkpoint:
            print_json({"checkpoint": ck, **val_scores(ck, args.corpus, args.device)})

    main_wrapper(body)


if __name__ == "__main__":
    main()
