"""Evaluate a model bundle (ONNX, onnxruntime) on the real chest X-ray samples:
python -m gkmvlp.cli.evaluate_real --bundle DIR --data ../shared/data --out DIR

Parts: NIH ChestX-ray14 classification (AUC), NIH radiologist boxes (pointing game, heatmap IoU),
COVID lung boxes (region-box IoU), IU X-Ray report text (language statistics, tokenizer coverage);
a part whose folder is absent is skipped with a note. Writes real_metrics.json and
real_examples.png in --out; prints the metrics without per-item lists as its last line. A model
trained on synthetic images only: the figures say nothing about diagnostic accuracy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import main_wrapper, print_json


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="gkmvlp.cli.evaluate_real", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--bundle", required=True, help="model bundle folder (with manifest.json)")
    p.add_argument("--data", required=True, help="folder of the real samples (shared/data)")
    p.add_argument("--out", required=True, help="folder for real_metrics.json and real_examples.png")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = p.parse_args(argv)

    def body():
        from ..eval.real import evaluate_real, examples_figure, without_items

        metrics, examples = evaluate_real(args.bundle, args.data, args.threads)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        if examples:
            bn = metrics["bundle"]
            examples_figure(
                examples,
                out / "real_examples.png",
                f"{bn['name']} {bn['version']} (trained on {bn['trained_on']} images) on real NIH "
                "chest X-rays: not diagnostic",
            )
            metrics["examples_png"] = str(out / "real_examples.png")
        else:
            metrics["examples_png"] = None
            metrics["examples_note"] = "no NIH images found: real_examples.png not written"
        (out / "real_metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
        print_json(without_items(metrics))

    main_wrapper(body)


if __name__ == "__main__":
    main()
