"""Generate the synthetic chest X-ray set (docs/contracts/synthetic-dataset.md).

    python -m gkmvlp.cli.generate --out data/synth --seed 0 --train 2000 --val 300 --test 500 \
        --image-size 224 --dicom 10
"""

from __future__ import annotations

import argparse
import sys
import time

from ..data.dataset import read_dataset_json, read_split
from ..data.synthetic import GeneratorConfig, generate_dataset
from ..data.synthetic.preview import write_previews


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (written via <out>.tmp, then renamed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--val", type=int, default=300)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--dicom", type=int, default=10, help="how many (test) samples also as DICOM")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--previews", type=int, default=16, help="images in the preview grids (0 = none)")
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    try:
        cfg = GeneratorConfig(image_size=a.image_size)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.time()
    try:
        out = generate_dataset(
            cfg,
            a.out,
            {"train": a.train, "val": a.val, "test": a.test},
            seed=a.seed,
            dicom_subset=a.dicom,
            workers=a.workers,
            progress=not a.no_progress,
            overwrite=a.overwrite,
        )
    except (FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    dt = time.time() - t0
    n = a.train + a.val + a.test
    print(f"wrote {n} studies to {out} in {dt:.1f} s ({n / max(dt, 1e-9):.1f} img/s)")
    if a.previews > 0:
        meta = read_dataset_json(out)
        split = next(s for s in ("test", "val", "train") if meta["counts"][s] > 0) if n else None
        if split:
            paths = write_previews(
                out, read_split(out, split, check_files=False, meta=meta), out / "previews", a.previews
            )
            print("previews: " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
