"""Fit calibration, thresholds and the input check of a checkpoint on the real corpus:
python -m gkmvlp.cli.fit_reliability --checkpoint RUN --corpus ../.local/real-corpus --synthetic DATA --out RUN/reliability

The exporter (gkmvlp.cli.export --reliability RUN/reliability) turns the result into a
format-version-2 bundle. Prints the fit report (acceptance of real validation films, rejection of
held-out generated inputs, calibration error before and after) as its last line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import main_wrapper, print_json


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="gkmvlp.cli.fit_reliability", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--corpus", required=True, help="assembled real corpus (gkmvlp.cli.assemble_real)")
    p.add_argument("--synthetic", help="synthetic dataset: some of its training films join the frontal positives")
    p.add_argument("--n-synthetic", type=int, default=300)
    p.add_argument("--per-kind", type=int, default=120, help="generated negatives of each kind")
    p.add_argument(
        "--learned-corpus",
        help="the corpus the checkpoint was fine-tuned on, for which labels it learned from real films "
        "(default: the checkpoint's own config.json real_corpus when that folder exists, else --corpus)",
    )
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    def body():
        import torch

        from ..model.preprocess import decode_gray
        from ..reliability.fit import fit_reliability, save
        from ..train.batches import read_split
        from ..train.checkpoint import load_model
        from ..train.real_batches import read_corpus

        torch.set_num_threads(args.threads)
        model, _, _, _ = load_model(args.checkpoint)
        syn = []
        if args.synthetic:
            recs = read_split(args.synthetic, "train")[: args.n_synthetic]
            syn = [decode_gray(Path(args.synthetic) / r["image"]) for r in recs]
        learned = args.learned_corpus or _trained_corpus(Path(args.checkpoint)) or args.corpus
        learned_rows = read_corpus(learned, "train")
        print(f"[fit_reliability] labels learned from real films: per {learned} ({len(learned_rows)} training films)")
        ic, rel, report = fit_reliability(
            model, Path(args.corpus), syn, seed=args.seed, per_kind=args.per_kind, learned_rows=learned_rows
        )
        save(Path(args.out), ic, rel, report)
        print_json(report)

    main_wrapper(body)


def _trained_corpus(checkpoint: Path) -> str | None:
    import json

    cfg = checkpoint / "config.json"
    if not cfg.is_file():
        return None
    real = json.loads(cfg.read_text()).get("real_corpus") or ""
    return real if real and (Path(real) / "manifest.jsonl").is_file() else None


if __name__ == "__main__":
    main()
