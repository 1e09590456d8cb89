"""A packed real corpus: the films already letterboxed and resized to one model input size, WebP- (or JPEG-) coded, with
their region boxes and anatomy grids, in one file beside a manifest of the same rows.

Why: a training machine lent for minutes (a GPU) takes a few tens of MB, not the corpus's ~400 MB of
full-size PNGs; and it should spend its minutes training, not decoding 1024² films. A packed folder reads
like a corpus (`read_corpus`, `build_real_tensors`) for the sizes it was packed for; pixels differ from
the unpacked path only by the lossy coding (mean absolute error printed when packing).

    <out>/manifest.jsonl   the packed rows (same format, so splits and labels read as before)
    <out>/reports.jsonl    copied (the tokenizer learns the IU reports' words from it)
    <out>/pack.npz         ids, coded films + offsets, boxes, visibility, anatomy grids, meta (JSON)
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..model.config import ModelConfig
from ..model.heads import ANATOMY
from ..model.preprocess import decode_gray, letterbox_resize, mask_to_grid
from ..ontology import REGION_INDEX, REGIONS
from .batches import DataError

PACK = "pack.npz"
FORMAT = 1


def mask_box(mask: np.ndarray) -> list[float] | None:
    """Pixel xyxy of a binary mask's extent (None when empty)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def film_gray(root: Path, row: dict[str, Any], cfg: ModelConfig):
    """One corpus film's pixels as the model sees them (letterboxed and resized, in [0, 1]) and its letterbox."""
    try:
        gray = decode_gray(root / row["image"])
    except (FileNotFoundError, ValueError, OSError) as e:
        raise DataError(f"real film {row['id']}: {e}") from e
    return letterbox_resize(gray, cfg.image_size)  # preprocess_array's square, before normalization


def film_arrays(root: Path, row: dict[str, Any], cfg: ModelConfig) -> dict[str, np.ndarray]:
    """One corpus film as the model sees it: `gray` (the letterboxed, resized image in [0, 1]), region boxes
    in model coordinates with their visibility, and anatomy coverage grids with what is known."""
    R, a_grid = len(REGIONS), cfg.grid * cfg.anatomy_subcells
    gray, lb = film_gray(root, row, cfg)
    out = {
        "gray": gray,
        "boxes": np.zeros((R, 4), np.float32),
        "vis": np.zeros(R, np.float32),
        "anat": np.zeros((len(ANATOMY), a_grid, a_grid), np.float32),
        "anat_known": np.zeros(len(ANATOMY), np.float32),
    }
    for region, rel in (row.get("masks") or {}).items():
        k = REGION_INDEX.get(region)
        if k is None:
            continue
        m = np.asarray(Image.open(root / rel).convert("L")) > 127
        b = mask_box(m)
        if b is not None:
            out["boxes"][k] = np.clip(lb.box_to_model(b), 0, 1)
            out["vis"][k] = 1
        if cfg.anatomy_head and region in ANATOMY:
            j = ANATOMY.index(region)
            out["anat"][j] = mask_to_grid(m, a_grid)
            out["anat_known"][j] = 1
    return out


def pack_meta(cfg: ModelConfig) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "image_size": cfg.image_size,
        "anatomy_grid": cfg.grid * cfg.anatomy_subcells,
        "anatomy": list(ANATOMY),
        "regions": list(REGIONS),
    }


CODECS = ("WEBP", "JPEG")


def pack_corpus(
    root: str | Path,
    out: str | Path,
    cfg: ModelConfig,
    splits: tuple[str, ...],
    quality: int = 85,
    codec: str = "WEBP",
) -> dict[str, Any]:
    """Write a packed copy of the corpus's frontal films of `splits` (see the module's docstring)."""
    from .real_batches import read_corpus

    root, out = Path(root), Path(out)
    rows = [r for r in read_corpus(root) if r["split"] in splits]
    if not rows:
        raise DataError(f"no frontal films of splits {splits} in {root}")
    out.mkdir(parents=True, exist_ok=True)
    n, a_grid = len(rows), cfg.grid * cfg.anatomy_subcells
    blobs, err = [], 0.0
    boxes = np.zeros((n, len(REGIONS), 4), np.float32)
    vis = np.zeros((n, len(REGIONS)), np.uint8)
    anat = np.zeros((n, len(ANATOMY), a_grid, a_grid), np.uint8)
    anat_known = np.zeros((n, len(ANATOMY)), np.uint8)
    for i, r in enumerate(tqdm(rows, desc="pack", mininterval=5)):
        f = film_arrays(root, r, cfg)
        u8 = np.clip(np.rint(f["gray"] * 255), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(u8, "L").save(buf, codec, quality=quality)
        blobs.append(buf.getvalue())
        err += float(np.abs(decode_image(blobs[-1]) - f["gray"]).mean())
        boxes[i], vis[i] = f["boxes"], f["vis"].astype(np.uint8)
        anat[i] = np.rint(f["anat"] * 255).astype(np.uint8)
        anat_known[i] = f["anat_known"].astype(np.uint8)
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    meta = {**pack_meta(cfg), "codec": codec, "quality": quality, "splits": list(splits), "films": n}
    np.savez_compressed(  # the anatomy grids are mostly empty; the coded films do not shrink
        out / PACK,
        ids=np.array([r["id"] for r in rows]),
        coded=np.frombuffer(b"".join(blobs), np.uint8),
        offsets=offsets,
        boxes=boxes,
        vis=vis,
        anat=anat,
        anat_known=anat_known,
        meta=np.array(json.dumps(meta)),
    )
    with open(out / "manifest.jsonl", "w") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    if (root / "reports.jsonl").is_file():
        shutil.copyfile(root / "reports.jsonl", out / "reports.jsonl")
    return {**meta, "bytes": int(offsets[-1]), "mean_abs_error": err / n, "out": str(out)}


def decode_image(blob: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(blob)).convert("L"), dtype=np.float64) / 255.0


class RealPack:
    """Random access to a packed corpus's films by id (the arrays `film_arrays` gives, `gray` decoded from the pack)."""

    def __init__(self, root: str | Path, cfg: ModelConfig):
        z = np.load(Path(root) / PACK, allow_pickle=False)
        self.meta = json.loads(str(z["meta"]))
        want = pack_meta(cfg)
        bad = [k for k in want if self.meta.get(k) != want[k]]
        if bad:
            raise DataError(
                f"packed corpus {root} was packed for {{{', '.join(f'{k}: {self.meta.get(k)}' for k in bad)}}}, "
                f"this model needs {{{', '.join(f'{k}: {want[k]}' for k in bad)}}}: pack it again for this size"
            )
        self.index = {str(i): j for j, i in enumerate(z["ids"])}
        self.coded, self.offsets = z["coded"], z["offsets"]
        self.boxes, self.vis, self.anat, self.anat_known = z["boxes"], z["vis"], z["anat"], z["anat_known"]

    def gray(self, film_id: str) -> np.ndarray:
        j = self.index.get(film_id)
        if j is None:
            raise DataError(f"film {film_id} is not in the packed corpus")
        return decode_image(self.coded[self.offsets[j] : self.offsets[j + 1]].tobytes())

    def film(self, film_id: str) -> dict[str, np.ndarray]:
        gray = self.gray(film_id)  # a DataError for a film the pack does not hold
        j = self.index[film_id]
        return {
            "gray": gray,
            "boxes": self.boxes[j].astype(np.float32),
            "vis": self.vis[j].astype(np.float32),
            "anat": self.anat[j].astype(np.float32) / 255.0,
            "anat_known": self.anat_known[j].astype(np.float32),
        }


def is_packed(root: str | Path) -> bool:
    return (Path(root) / PACK).is_file()


__all__ = ["pack_corpus", "RealPack", "film_arrays", "is_packed", "mask_box", "PACK"]
