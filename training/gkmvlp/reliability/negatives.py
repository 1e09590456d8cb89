"""Inputs that are not frontal chest radiographs, made procedurally, for fitting the input check.

Seeded and cheap. The committed test fixtures (test/fixtures/reliability) come from a different
generator and real lateral films, so the check is measured on inputs it was not fitted on.
Kinds: a document page, a photograph-like scene, a CT-like axial slice, a blank or noise field,
an inverted chest film, a film turned by 90 degrees, and (when the corpus has them) lateral views.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("document", "photo", "ct_slice", "blank", "noise")


def document(rng: np.random.Generator, size: int) -> np.ndarray:
    im = Image.new("L", (size, int(size * rng.uniform(1.1, 1.45))), int(rng.integers(225, 256)))
    d = ImageDraw.Draw(im)
    y = int(rng.integers(8, 30))
    while y < im.height - 12:
        x = int(rng.integers(8, 30))
        words = rng.integers(3, 12)
        line = " ".join("".join(chr(int(c)) for c in rng.integers(97, 123, rng.integers(2, 9))) for _ in range(words))
        d.text((x, y), line, fill=int(rng.integers(0, 60)))
        y += int(rng.integers(11, 22))
    if rng.random() < 0.4:  # a table or a figure box
        x0, y0 = rng.integers(10, size // 2, 2)
        d.rectangle([int(x0), int(y0), int(x0 + size // 3), int(y0 + size // 4)], outline=0, width=2)
    return np.asarray(im, np.float64) / 255.0


def photo(rng: np.random.Generator, size: int) -> np.ndarray:
    h, w = size, int(size * rng.uniform(1.0, 1.5))
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = rng.uniform(0.2, 0.8) + rng.uniform(-0.4, 0.4) * yy + rng.uniform(-0.3, 0.3) * xx
    im = Image.fromarray(np.uint8(np.clip(base, 0, 1) * 255))
    d = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(3, 12))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
        fill = int(rng.integers(0, 256))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=fill)
    im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 3)))
    a = np.asarray(im, np.float64) / 255.0
    return np.clip(a + rng.normal(0, rng.uniform(0.01, 0.06), a.shape), 0, 1)


def ct_slice(rng: np.random.Generator, size: int) -> np.ndarray:
    """Axial chest CT look: a round body in a black field, two dark lungs, a bright spine and table."""
    im = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(im)
    c, r = size / 2, size * rng.uniform(0.36, 0.46)
    ry = r * rng.uniform(0.65, 0.85)
    d.ellipse([c - r, c - ry, c + r, c + ry], fill=int(rng.integers(90, 140)))
    for sx in (-1, 1):
        lx = c + sx * r * 0.45
        d.ellipse([lx - r * 0.35, c - ry * 0.7, lx + r * 0.35, c + ry * 0.6], fill=int(rng.integers(5, 35)))
    d.ellipse([c - r * 0.12, c + ry * 0.45, c + r * 0.12, c + ry * 0.7], fill=int(rng.integers(200, 255)))
    d.ellipse([c - r * 0.2, c - ry * 0.25, c + r * 0.2, c + ry * 0.2], fill=int(rng.integers(120, 170)))
    if rng.random() < 0.7:
        d.rectangle([c - r, c + ry + 4, c + r, c + ry + 10], fill=int(rng.integers(60, 120)))
    a = np.asarray(im.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5))), np.float64) / 255.0
    return np.clip(a + rng.normal(0, 0.02, a.shape), 0, 1)


def blank(rng: np.random.Generator, size: int) -> np.ndarray:
    shape = (size, int(size * rng.uniform(1, 1.3)))
    return np.full(shape, rng.uniform(0, 1)) + rng.normal(0, 0.003, shape)


def noise(rng: np.random.Generator, size: int) -> np.ndarray:
    a = rng.uniform(0, 1, (size // 8, size // 8))
    im = Image.fromarray(np.uint8(a * 255)).resize((size, size), Image.BILINEAR)
    return np.asarray(im, np.float64) / 255.0


GENERATORS = {"document": document, "photo": photo, "ct_slice": ct_slice, "blank": blank, "noise": noise}


def make(kind: str, seed: int, size: int = 256) -> np.ndarray:
    """One grey image in [0, 1] of the given kind."""
    return np.clip(GENERATORS[kind](np.random.default_rng(seed), size), 0.0, 1.0)


def transformed_film(gray: np.ndarray, how: str) -> np.ndarray:
    """A real frontal film made into a non-readable input: inverted or turned by 90 degrees."""
    if how == "inverted":
        return 1.0 - gray
    if how == "rotated":
        return np.rot90(gray).copy()
    raise KeyError(how)


def lateral_variants(gray: np.ndarray, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """A real lateral film and n - 1 variants of it as other sites would send it: facing the other way, cropped
    a little differently, with another contrast. A few dozen real laterals would otherwise be outweighed by the
    hundreds of generated negatives in the input check's fit."""
    out = [gray]
    h, w = gray.shape
    for _ in range(n - 1):
        g = gray[:, ::-1] if rng.random() < 0.5 else gray
        f = rng.uniform(0.85, 1.0)
        ch, cw = max(8, int(h * f)), max(8, int(w * f))
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        g = np.clip(g[y0 : y0 + ch, x0 : x0 + cw], 0, 1) ** rng.uniform(0.8, 1.25)
        out.append(np.ascontiguousarray(g, dtype=gray.dtype))
    return out


__all__ = ["KINDS", "lateral_variants", "make", "transformed_film"]
