"""Choose among trial arms by their validation figures: python -m gkmvlp.cli.choose_arm VAL_JSONL

VAL_JSONL holds one gkmvlp.cli.val_scores object per arm. The rule (run-resolution.sh, fixed before any figure):
the arm with the highest validation pneumonia-vs-normal AUC, unless its validation NIH macro AUC is more than
`--macro-slack` below the best macro among the arms; then the arm with the best macro. Prints the chosen
checkpoint; the reasons go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._common import main_wrapper


def choose(arms: list[dict[str, Any]], macro_slack: float = 0.01) -> tuple[dict[str, Any], str]:
    """The chosen arm and why. Arms without both figures cannot be chosen."""
    ok = [a for a in arms if a.get("pneumonia_vs_normal_nih") is not None and a.get("nih_macro_auc") is not None]
    if not ok:
        raise ValueError("no arm has both a validation pneumonia-vs-normal and a NIH macro AUC")
    best_macro = max(a["nih_macro_auc"] for a in ok)
    top = max(ok, key=lambda a: a["pneumonia_vs_normal_nih"])
    if top["nih_macro_auc"] >= best_macro - macro_slack:
        return top, f"highest validation pneumonia vs normal ({top['pneumonia_vs_normal_nih']})"
    by_macro = max(ok, key=lambda a: a["nih_macro_auc"])
    return by_macro, (
        f"the pneumonia leader's macro {top['nih_macro_auc']} is more than {macro_slack} below the best "
        f"{best_macro}: the best macro"
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="gkmvlp.cli.choose_arm", description=__doc__)
    p.add_argument("val_jsonl", help="one val_scores JSON object per line")
    p.add_argument("--macro-slack", type=float, default=0.01)
    args = p.parse_args(argv)

    def body():
        lines = Path(args.val_jsonl).read_text().splitlines()
        arms = [json.loads(line) for line in lines if line.startswith("{")]  # skip any log line
        arm, why = choose(arms, args.macro_slack)
        print(f"[choose_arm] {arm['checkpoint']}: {why}", file=sys.stderr)
        print(arm["checkpoint"])

    main_wrapper(body)


if __name__ == "__main__":
    main()
