"""Writes a synthetic set in the contract layout (docs/contracts/synthetic-dataset.md), atomically:
everything goes to <out>.tmp and is renamed to <out> only when complete; dataset.json is written
last, so a folder with a dataset.json is always a complete set."""

from __future__ import annotations

import datetime as _dt
import json
import multiprocessing as mp
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from ...ontology import LABELS, REGIONS
from .config import GeneratorConfig
from .dicom import write_dicom
from .sample import generate_sample

SPLITS = ("train", "val", "test")
FORMAT_VERSION = 1


def _plan(counts: dict, dicom_subset: int):
    """(split, index, write_dicom) for every sample; DICOMs are the first test samples."""
    unknown = set(counts) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown splits {sorted(unknown)}; expected {SPLITS}")
    plan, start = [], 0
    for split in SPLITS:
        n = int(counts.get(split, 0))
        if n < 0:
            raise ValueError(f"count of {split} must be >= 0")
        plan += [[split, start + i, False] for i in range(n)]
        start += n
    order = (
        [p for p in plan if p[0] == "test"] + [p for p in plan if p[0] == "val"] + [p for p in plan if p[0] == "train"]
    )
    for p in order[: max(0, int(dicom_subset))]:
        p[2] = True
    return plan


def _work(args):
    cfg_dict, seed, index, root, want_dicom = args
    cfg = GeneratorConfig.from_dict(cfg_dict)
    s = generate_sample(cfg, seed, index)
    rec = s.record
    rootp = Path(root)
    Image.fromarray(s.image, mode="L").save(rootp / rec["image"], compress_level=3)
    for f, m in zip(rec["findings"], s.masks):
        Image.fromarray((m.astype(np.uint8) * 255), mode="L").save(rootp / f["mask"], compress_level=3)
    if want_dicom:
        rec["dicom"] = f"dicom/{rec['id']}.dcm"
        write_dicom(rootp / rec["dicom"], s.image_float, rec, seed)
    return json.dumps(rec, separators=(",", ":"))


def generate_dataset(
    cfg: GeneratorConfig,
    out_dir,
    counts: dict,
    seed: int = 0,
    dicom_subset: int = 0,
    workers: int = 1,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Generate train/val/test into out_dir; returns the final path.

    Raises FileExistsError if out_dir exists and overwrite is False. A stale <out>.tmp from an
    interrupted run is removed first.
    """
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists (pass overwrite=True / --overwrite to replace it)")
    tmp = Path(str(out) + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    for sub in ("images", "masks", "dicom"):
        (tmp / sub).mkdir(parents=True)
    plan = _plan(counts, dicom_subset)
    jobs = [(cfg.to_dict(), int(seed), idx, str(tmp), dic) for _, idx, dic in plan]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="synthetic CXR", unit="img")
    files = {s: open(tmp / f"{s}.jsonl", "w") for s in SPLITS}
    n_dicom = 0
    try:
        if workers > 1:
            with mp.get_context("fork").Pool(workers) as pool:
                results = pool.imap(_work, jobs, chunksize=8)
                for (split, _, dic), line in zip(plan, results):
                    files[split].write(line + "\n")
                    n_dicom += dic
                    if bar:
                        bar.update(1)
        else:
            for (split, _, dic), job in zip(plan, jobs):
                files[split].write(_work(job) + "\n")
                n_dicom += dic
                if bar:
                    bar.update(1)
    finally:
        for fh in files.values():
            fh.close()
        if bar:
            bar.close()
    meta = {
        "format_version": FORMAT_VERSION,
        "generator": "gkmvlp-synthetic",
        "seed": int(seed),
        "image_size": cfg.image_size,
        "counts": {s: int(counts.get(s, 0)) for s in SPLITS},
        "labels": list(LABELS),
        "regions": list(REGIONS),
        "splits": {s: f"{s}.jsonl" for s in SPLITS},
        "license": "synthetic, CC0",
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "dicom_count": n_dicom,
        "generator_config": cfg.to_dict(),
    }
    with open(tmp / "dataset.json.part", "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp / "dataset.json.part", tmp / "dataset.json")
    if out.exists():
        old = Path(str(out) + ".old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old)
    else:
        os.replace(tmp, out)
    return out
