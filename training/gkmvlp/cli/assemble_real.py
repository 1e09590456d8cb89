"""Assemble the real-film training corpus from local clones of public repositories:

  python -m gkmvlp.cli.assemble_real --clones /work/.mirror --out ../.local/real-corpus

or, for a local copy of NIH ChestX-ray14 / CheXpert / MIMIC-CXR-JPG, with --nih14 / --chexpert /
--mimic-jpg DIR (alone or beside --clones). --clones holds one folder per source: `<owner>+<name>/repo` (a bare git directory, or a folder with
`.git`), `<owner>/<name>/` or `<name>/` (a clone with a work tree, or unpacked files). Sources and
licences: gkmvlp/data/real/sources.py. Every film within 12 bits (dHash) of an evaluation film is left
out (shared/tools/near_duplicates.py). Writes manifest.jsonl, reports.jsonl, excluded.jsonl,
corpus.json, LICENCES.md, images/ and masks/ into --out (atomically). Exit 0 when at least one source
was usable (the missing ones are listed), 2 when none was.
"""

from __future__ import annotations

import argparse
import json
import sys

from ._guard_args import add_eval_guard_args, eval_guard_kwargs


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="gkmvlp.cli.assemble_real", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--clones", help="folder with the source clones")
    p.add_argument("--nih14", help="NIH ChestX-ray14 folder (Data_Entry_2017*.csv + the images, any depth)")
    p.add_argument("--chexpert", help="CheXpert folder (train.csv, valid.csv and the train/ valid/ folders)")
    p.add_argument(
        "--mimic-jpg",
        help="MIMIC-CXR-JPG folder (unpacked mimic-cxr-2.0.0-metadata.csv and "
        "-chexpert.csv, files/; the MIMIC-CXR report .txt files there are used too)",
    )
    p.add_argument("--out", required=True, help="corpus folder (replaced atomically)")
    add_eval_guard_args(p)
    p.add_argument("--max-side", type=int, default=512, help="long side of stored films (default 512)")
    p.add_argument(
        "--dup-bits",
        type=int,
        help="films this close (dHash bits) to an already kept film are duplicates (default: the "
        "tool's 12, as for evaluation copies; 0 drops exact copies only)",
    )
    p.add_argument(
        "--second-copies",
        action="store_true",
        help="also add SIMHADRI29/Chest-Disease-Detection's 256 px copies of the corpus's own NIH training and "
        "validation films (the same films through another pipeline; gkmvlp/data/real/holdout.py says why)",
    )
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    datasets = {"nih14": args.nih14, "chexpert": args.chexpert, "mimic": args.mimic_jpg}
    if not args.clones and not any(datasets.values()):
        p.error("give --clones and/or a dataset folder (--nih14, --chexpert, --mimic-jpg)")

    from ..data.real.assemble import assemble
    from ..data.real.holdout import HOLDOUT_KEY, SECOND_COPY_SOURCES

    copies = {"sources": SECOND_COPY_SOURCES, "second_copies": (HOLDOUT_KEY,)} if args.second_copies else {}
    try:
        s = assemble(
            args.clones,
            args.out,
            **copies,
            datasets=datasets,
            **eval_guard_kwargs(args),
            max_side=args.max_side,
            dup_bits=args.dup_bits,
            progress=not args.no_progress,
        )
    except (FileNotFoundError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    for repo, info in s["sources"].items():
        if not info["found"]:
            print(f"MISSING  {repo}: {info.get('problem')}")
            continue
        miss, n = info.get("missing_blobs") or [], info.get("missing_count", 0)
        kept = f"{info['kept']} films kept of {info.get('candidates', 0)}" if "kept" in info else ""
        reps = f"{info['reports']} reports" if "reports" in info else ""
        print(
            f"found    {repo} @ {info.get('commit') or '(no commit)'} ({info['kind']}): "
            f"{', '.join(x for x in (kept, reps) if x)}; {n} needed files missing"
            f"{': ' + ', '.join(miss[:5]) if miss else ''}{' ...' if n > 5 else ''}"
        )
    for key, per in s["counts"].items():
        print(f"{key:11s} " + "  ".join(f"{sp} {d['films']}" for sp, d in per.items()))
    print(f"excluded {s['exclusions']['total']}: {json.dumps(s['exclusions']['by_reason'])}")
    if s["missing"]:
        print("missing sources: " + ", ".join(s["missing"]))
    print(
        json.dumps(
            {
                "out": args.out,
                "films": s["films"],
                "reports": s["reports"],
                "excluded": s["exclusions"]["total"],
                "missing_sources": s["missing"],
                "laterals": s["laterals"],
                "seconds": s["seconds"],
                "manifest_sha256": s["sha256"]["manifest.jsonl"],
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
