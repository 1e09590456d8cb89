"""Evaluate a checkpoint on the held-out split: python -m gkmvlp.cli.evaluate

Thresholds (per-label decision, heatmap box) are chosen on the validation split, metrics are
computed on the test split; writes metrics.json, roc.png, roc_zero_shot.png, report_samples.json and
examples.png (a grid of test images with heatmaps, boxes and generated reports; --examples 0 skips it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import main_wrapper, print_json


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="gkmvlp.cli.evaluate", description=__doc__)
    p.add_argument("--checkpoint", required=True, help="checkpoint file or run folder")
    p.add_argument("--data", required=True, help="dataset folder")
    p.add_argument("--out", required=True, help="folder for metrics.json and plots")
    p.add_argument("--split", default="test")
    p.add_argument("--calib-split", default="val")
    p.add_argument("--max-eval", type=int, default=0, help="use only the first N records of each split")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--examples", type=int, default=8, help="images in examples.png (0 = no figure)")
    args = p.parse_args(argv)

    def body():
        import torch

        from ..eval.evaluate import calibrate, evaluate
        from ..train.batches import build_tensors, read_split
        from ..train.checkpoint import load_model

        torch.set_num_threads(args.threads)
        model, tok, answers, _ = load_model(args.checkpoint)

        def split(name):
            recs = read_split(args.data, name)
            recs = recs[: args.max_eval] if args.max_eval else recs
            return build_tensors(args.data, recs, model.cfg, tok, answers, name)

        calib = calibrate(model, split(args.calib_split))
        test = split(args.split)
        metrics = evaluate(model, tok, answers, test, calib, args.out, args.split)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        if args.examples > 0:
            from ..eval.examples import plot_examples

            plot_examples(model, tok, test, calib, out / "examples.png", n=args.examples, split_name=args.split)
            metrics["examples_png"] = str(out / "examples.png")
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
        print_json({k: v for k, v in metrics.items() if not isinstance(v, dict)})

    main_wrapper(body)


if __name__ == "__main__":
    main()
