"""Reference numpy preprocessing (docs/contracts/model-bundle.md, "Preprocessing").

Decode to grayscale float64 in [0,1] -> letterbox to a square (pad 0, before = floor(pad/2)) ->
exact area-average resize computed separably in float64 -> (v - mean) / std -> float32
[1,1,size,size]. Training, evaluation and the golden vectors all use this one implementation; the
TypeScript worker reimplements it and is checked against the golden vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Letterbox:
    width: int
    height: int
    scale: float  # model pixels per original pixel (size / long_side)
    pad_x: int  # original pixels of padding on the left
    pad_y: int  # original pixels of padding on the top
    side: int  # long side (the letterboxed square's side, original pixels)

    def box_to_model(self, box) -> list[float]:
        """Original-pixel xyxy -> normalized xyxy (0..1 of the model input square)."""
        x1, y1, x2, y2 = box
        s = float(self.side)
        return [(x1 + self.pad_x) / s, (y1 + self.pad_y) / s, (x2 + self.pad_x) / s, (y2 + self.pad_y) / s]


def decode_gray(path: str | Path) -> np.ndarray:
    """PNG/JPEG -> float64 [H,W] in [0,1] (8-bit /255, 16-bit /65535, RGB luma then /255)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        im = Image.open(path)
        im.load()
    except Exception as e:  # PIL raises many types for corrupt files
        raise ValueError(f"cannot decode image {path}: {e}") from e
    return to_gray(im, str(path))


def to_gray(im: Image.Image, name: str = "image") -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        return a / 65535.0
    if mode == "L":
        return np.asarray(im, dtype=np.float64) / 255.0
    if mode == "1":
        return np.asarray(im.convert("L"), dtype=np.float64) / 255.0
    if mode in ("LA",):
        return np.asarray(im.getchannel(0), dtype=np.float64) / 255.0
    if mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr"):
        rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
        return (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]) / 255.0
    raise ValueError(f"{name}: unsupported image mode {mode}")


def letterbox(gray: np.ndarray) -> tuple[np.ndarray, Letterbox]:
    h, w = gray.shape
    side = max(h, w)
    pad_x, pad_y = (side - w) // 2, (side - h) // 2
    sq = np.zeros((side, side), dtype=np.float64)
    sq[pad_y : pad_y + h, pad_x : pad_x + w] = gray
    return sq, Letterbox(w, h, 0.0, pad_x, pad_y, side)


@lru_cache(maxsize=32)
def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] exact box-filter weights: out[i] = mean of src over [i*s, (i+1)*s)."""
    s = n_in / n_out
    w = np.zeros((n_out, n_in), dtype=np.float64)
    for i in range(n_out):
        a, b = i * s, (i + 1) * s
        k0, k1 = int(np.floor(a)), min(int(np.ceil(b)), n_in)
        for k in range(k0, k1):
            w[i, k] = max(0.0, min(b, k + 1) - max(a, k))
        w[i] /= s
    return w


def area_resize(sq: np.ndarray, size: int) -> np.ndarray:
    """Separable area resize of a square float64 image: rows then columns."""
    n = sq.shape[0]
    if n == size:
        return sq.copy()
    w = area_weights(n, size)
    return (w @ sq) @ w.T


def letterbox_resize(gray: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """The model square before normalization: [size, size] float64 in the input's range, and its letterbox."""
    sq, lb = letterbox(gray)
    return area_resize(sq, size), Letterbox(lb.width, lb.height, size / lb.side, lb.pad_x, lb.pad_y, lb.side)


def preprocess_array(gray: np.ndarray, size: int, mean: float, std: float) -> tuple[np.ndarray, Letterbox]:
    v, lb = letterbox_resize(gray, size)
    return ((v - mean) / std).astype(np.float32)[None, None], lb


def preprocess_file(path: str | Path, size: int, mean: float, std: float) -> tuple[np.ndarray, Letterbox]:
    return preprocess_array(decode_gray(path), size, mean, std)


def mask_to_grid(mask: np.ndarray, grid: int) -> np.ndarray:
    """Binary mask [H,W] -> per-patch coverage fraction [grid,grid] (same letterbox + area rule)."""
    sq, _ = letterbox((mask > 0).astype(np.float64))
    return area_resize(sq, grid)
