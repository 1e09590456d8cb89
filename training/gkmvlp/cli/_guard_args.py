"""The evaluation-guard flags shared by the corpus assemblers (assemble_real, assemble_holdout): where the
near-duplicate tool, the evaluation dHash list and the evaluation samples are. Kept apart from _common so these
CLIs start without importing torch."""

from __future__ import annotations

import argparse


def add_eval_guard_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tools", help="folder of near_duplicates.py (default: <repo>/../shared/tools)")
    p.add_argument("--eval-hashes", help="evaluation dHash list (default: the tool's ../data/evaluation-dhash.txt)")
    p.add_argument(
        "--shared-data",
        help="the evaluation samples (default: <tools>/../data): NIH patients and IU report ids found there are "
        "kept out too",
    )


def eval_guard_kwargs(args: argparse.Namespace) -> dict:
    return {"tools_dir": args.tools, "eval_hashes": args.eval_hashes, "shared_data": args.shared_data}
