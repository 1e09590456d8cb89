"""Golden inputs for the bundle: images (incl. non-square, not at input size, 16-bit), their
preprocessed tensors, and tokenizer cases. The values are filled in by bundle.py."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ..model.preprocess import Letterbox, decode_gray, preprocess_array

TOKENIZER_CASES = [
    "Mild cardiomegaly. No pneumothorax.",
    "There is a small left pleural effusion; the right costophrenic angle is sharp.",
    "  Multiple   SPACES,\tTabs and UPPER case: 12 mm nodule!! ",
    "Unseen words: zzyzx qwertyuiop and caf\u00e9 \u2013 non-ascii.",
    "x" * 120 + " overlong word",
    "",
    "pleural " * 60,
]


def _procedural(w: int, h: int, seed: int) -> np.ndarray:
    """A chest-like synthetic picture when no dataset image is at hand (tests on random models)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = (
        0.35
        + 0.3 * np.exp(-((xx - 0.3) ** 2 + (yy - 0.5) ** 2) * 12)
        + 0.3 * np.exp(-((xx - 0.7) ** 2 + (yy - 0.5) ** 2) * 12)
    )
    return np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1)


def make_images(dest: Path, sources: Sequence[Path], size: int) -> list[Path]:
    """case_000: non-square 8-bit (300x260); case_001: 16-bit portrait (200x240); case_002: a source
    image as is (or one at 1.5x input size). All differ from the input size except possibly case_002."""
    dest.mkdir(parents=True, exist_ok=True)
    grays = [decode_gray(p) for p in sources[:3]]
    while len(grays) < 3:
        grays.append(_procedural(size + 37 * len(grays), size, len(grays)))

    def resized(g: np.ndarray, w: int, h: int) -> np.ndarray:
        im = Image.fromarray(np.round(g * 255).astype(np.uint8), mode="L").resize((w, h), Image.BILINEAR)
        return np.asarray(im, dtype=np.float64) / 255.0

    out = []
    p0 = dest / "case_000.png"
    Image.fromarray(np.round(resized(grays[0], 300, 260) * 255).astype(np.uint8), mode="L").save(p0)
    p1 = dest / "case_001.png"
    g16 = np.round(resized(grays[1], 200, 240) * 65535).astype(np.uint16)
    Image.fromarray(g16, mode="I;16").save(p1)
    p2 = dest / "case_002.png"
    g2 = grays[2] if sources[2:3] else resized(grays[2], int(size * 1.5), int(size * 1.5))
    Image.fromarray(np.round(g2 * 255).astype(np.uint8), mode="L").save(p2)
    out += [p0, p1, p2]
    return out


def preprocess_record(path: Path, rel: str, size: int, mean: float, std: float) -> tuple[np.ndarray, dict]:
    gray = decode_gray(path)
    x, lb = preprocess_array(gray, size, mean, std)
    flat = x.ravel()
    idx = np.linspace(0, flat.size - 1, 64).astype(int)
    return x, {
        "image": rel,
        "width": lb.width,
        "height": lb.height,
        "scale": lb.scale,
        "pad_x": lb.pad_x,
        "pad_y": lb.pad_y,
        "tensor_shape": list(x.shape),
        "tensor_sha256": hashlib.sha256(x.astype("<f4").tobytes()).hexdigest(),
        "tensor_sample": {"indices": idx.tolist(), "values": [float(v) for v in flat[idx]]},
        "tensor_sum": float(flat.astype(np.float64).sum()),
        "tensor_abs_sum": float(np.abs(flat.astype(np.float64)).sum()),
    }


def floats(a: np.ndarray) -> dict:
    """Array -> {"shape", "values"} with every element (7 significant digits: far below tolerance)."""
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return {"shape": list(a.shape), "values": [int(v) for v in a.ravel()]}
    return {"shape": list(a.shape), "values": [float(f"{v:.7g}") for v in a.ravel()]}


def array_of(t: dict, dtype=np.float32) -> np.ndarray:
    """{"shape", "values"} (as floats() writes it) -> array."""
    return np.array(t["values"], dtype).reshape(t["shape"])


__all__ = ["TOKENIZER_CASES", "make_images", "preprocess_record", "floats", "array_of", "Letterbox"]
