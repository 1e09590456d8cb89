"""Export a checkpoint as an ONNX model bundle (docs/contracts/model-bundle.md):
python -m gkmvlp.cli.export --checkpoint RUN --out models/NAME-VERSION --metrics EVAL/metrics.json

Refuses to write anything if onnxruntime and PyTorch differ by more than --tolerance.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import main_wrapper, print_json


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="gkmvlp.cli.export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True, help="bundle folder to create")
    p.add_argument("--metrics", help="metrics.json from gkmvlp.cli.evaluate (thresholds + metrics)")
    p.add_argument("--data", help="dataset folder: golden images are taken from its test split")
    p.add_argument("--name", default=None, help="bundle name (default gkmvlp-<size>-<trained_on>)")
    p.add_argument("--version", default="0.1.0")
    p.add_argument("--trained-on", default="synthetic", choices=["synthetic", "real", "mixed"])
    p.add_argument("--tolerance", type=float, default=1e-3)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument(
        "--reliability",
        help="folder from gkmvlp.cli.fit_reliability: writes a format-2 bundle "
        "(input_check graph, calibration, derived findings)",
    )
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    def body():
        import torch

        from ..export.bundle import write_bundle
        from ..train.batches import read_split
        from ..train.checkpoint import load_model

        torch.set_num_threads(args.threads)
        model, tok, answers, blob = load_model(args.checkpoint)
        metrics = None
        if args.metrics:
            mp = Path(args.metrics)
            if not mp.is_file():
                raise FileNotFoundError(f"metrics file not found: {mp}")
            metrics = json.loads(mp.read_text())
        sources = []
        if args.data:
            sources = [Path(args.data) / r["image"] for r in read_split(args.data, "test")[:3]]
        reliability = None
        if args.reliability:
            from ..reliability.fit import load as load_reliability

            c = model.cfg
            reliability = load_reliability(Path(args.reliability), c.dim, c.mean, c.std)
        name = args.name or f"gkmvlp-{model.cfg.size}-{args.trained_on}"
        config = {**blob["model_config"], "training": {k: v for k, v in blob["config"].items() if k != "model"}}
        path, parity = write_bundle(
            model,
            tok,
            answers,
            args.out,
            name=name,
            version=args.version,
            config=config,
            metrics=metrics,
            golden_sources=sources,
            trained_on=args.trained_on,
            tolerance=args.tolerance,
            overwrite=args.overwrite,
            reliability=reliability,
        )
        print_json({"bundle": str(path), "parity_max_abs": parity})

    main_wrapper(body)


if __name__ == "__main__":
    main()
