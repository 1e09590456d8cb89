"""Shared bits of the thin CLIs: config assembly from JSON + flags, and clean error exits."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from ..model.config import ConfigError, load_json
from ..train.batches import DataError


def add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="JSON file with TrainConfig fields (flags below override it)")
    p.add_argument("--data", help="dataset folder (docs/contracts/synthetic-dataset.md)")
    p.add_argument("--out", help="run folder (checkpoint.pt, config.json, curves.png)")
    p.add_argument("--size", choices=["tiny", "small", "base"], help="model preset")
    p.add_argument("--image-size", type=int, help="model input size (multiple of the patch size)")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default 1)")
    p.add_argument("--max-train", type=int, help="use only the first N training records")
    p.add_argument("--teacher-forcing-steps", type=int)
    p.add_argument("--image-only-steps", type=int, help="first N steps train the image-side objectives only")
    p.add_argument("--seed", type=int)
    p.add_argument("--no-gk-module", action="store_true", help="ablation: GK module off, all else equal")
    p.add_argument(
        "--no-evidence-head",
        action="store_true",
        help="ablation: no dense evidence head (presence then comes from the knowledge tokens alone)",
    )
    p.add_argument("--device", help="cpu (default) or cuda[:N]")
    p.add_argument(
        "--time-budget-s", type=float, help="fit the joint phase into this many seconds (steps shrink; 0 = off)"
    )
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint in --out")
    p.add_argument(
        "--real-corpus",
        help="assembled real films (python -m gkmvlp.cli.assemble_real): fine-tune on them "
        "beside the synthetic set (unknown labels masked); pre-train learns their reports' words",
    )
    p.add_argument("--real-share", type=float, help="share of fine-tuning draws that are real films (default 0.5)")
    p.add_argument(
        "--decoder-steps", type=int, help="then N report-decoder-only steps on the frozen image side (decoder_steps)"
    )


def train_dict(args: argparse.Namespace, stage: str) -> dict[str, Any]:
    d: dict[str, Any] = load_json(args.config) if args.config else {}
    if not isinstance(d, dict):
        raise ConfigError(f"config file {args.config} must hold a JSON object")
    d["stage"] = stage
    flags = {
        "data": args.data,
        "out": args.out,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "threads": args.threads,
        "max_train": args.max_train,
        "seed": args.seed,
        "teacher_forcing_steps": args.teacher_forcing_steps,
        "image_only_steps": args.image_only_steps,
        "decoder_steps": args.decoder_steps,
        "real_corpus": args.real_corpus,
        "real_share": args.real_share,
        "device": args.device,
        "time_budget_s": args.time_budget_s,
    }
    d.update({k: v for k, v in flags.items() if v is not None})
    model = dict(d.get("model") or {})
    if args.size:
        model["size"] = args.size
    if args.image_size:
        model["image_size"] = args.image_size
    if args.no_gk_module:
        model["gk_module"] = False
    if args.no_evidence_head:
        model["evidence_head"] = False
    d["model"] = model
    return d


def main_wrapper(fn: Callable[[], Any]) -> None:
    """Run a CLI body; expected failures print one clear line and exit 2 (no traceback)."""
    try:
        fn()
    except (ConfigError, DataError, FileNotFoundError, FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted (the last checkpoint is intact; rerun to resume)", file=sys.stderr)
        sys.exit(130)


def print_json(obj: Any) -> None:
    print(json.dumps(obj, sort_keys=True, default=float))
