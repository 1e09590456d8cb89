"""Assemble the held-out NIH pneumonia-vs-normal set (gkmvlp/data/real/holdout.py says what and why):

  python -m gkmvlp.cli.assemble_holdout --clones /work/.mirror --corpus ../.local/real-corpus \\
      --out ../.local/nih-holdout

--clones holds SIMHADRI29/Chest-Disease-Detection (and qqto2008/capstone for NIH's labels) as for assemble_real.
Films whose patients are among --corpus's training or validation films are left out; every kept film is in split
"test", so gkmvlp.cli.holdout_eval (or any reader of the corpus format) reads it like a corpus. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys

from ._guard_args import add_eval_guard_args, eval_guard_kwargs


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="gkmvlp.cli.assemble_holdout", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--clones", required=True, help="folder with the source clones")
    p.add_argument("--corpus", required=True, help="the training corpus the set is held out from")
    p.add_argument("--out", required=True, help="held-out set folder (replaced atomically)")
    add_eval_guard_args(p)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)

    from ..data.real.holdout import assemble_holdout

    try:
        s = assemble_holdout(
            args.clones,
            args.corpus,
            args.out,
            **eval_guard_kwargs(args),
            progress=not args.no_progress,
        )
    except (FileNotFoundError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    labels = s["counts"].get("nih256", {}).get("test", {}).get("labels", {})
    print(
        json.dumps(
            {
                "out": args.out,
                "films": s["films"],
                "pneumonia": labels.get("Pneumonia", {}),
                "no_finding": labels.get("No Finding", {}),
                "excluded": s["exclusions"]["by_reason"],
                "missing_sources": s["missing"],
                "manifest_sha256": s["sha256"]["manifest.jsonl"],
                "held_out_of": s["parameters"]["held_out_of"],
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
