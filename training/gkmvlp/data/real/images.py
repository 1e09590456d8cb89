"""Pixels: decode once, hash exactly as shared/tools/near_duplicates.py does, store as 8-bit grey.

The evaluation hashes were made by that tool from files on disk: `Image.open(path).convert('L')
.resize((17, 16), LANCZOS)`. `dhash_image` applies the same calls to the image decoded from the blob
bytes (Image.open of a file and of its bytes decode identically; tests/test_data_real_corpus.py checks
equality against the tool on several modes), so no temporary files are written.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

_POP8 = np.array([bin(i).count("1") for i in range(256)], np.uint8)


HIGH_BIT = ("I;16", "I;16B", "I;16L", "I", "F")


class DecodeError(ValueError):
    pass


def decode(data: bytes) -> Image.Image:
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except Exception as e:  # Pillow raises many types for broken or unknown files
        raise DecodeError(f"cannot decode image: {e}") from None
    return im


def dhash_image(im: Image.Image) -> int:
    """near_duplicates.dhash on a decoded image (identical calls, identical bits)."""
    img = im.convert("L").resize((17, 16), Image.LANCZOS)
    a = np.asarray(img, dtype=np.int16)
    bits = (a[:, 1:] > a[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def hash_variants(im: Image.Image) -> list[int]:
    """The tool's hash, plus the hash after EXIF rotation when a file carries one (a viewer shows the
    rotated film; a copy saved from a viewer would match that one instead), plus the hash of the
    scaled 8-bit film for 16-bit files."""
    hs = [dhash_image(im)]
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:
        orientation = 1
    if orientation not in (None, 1):
        hs.append(dhash_image(ImageOps.exif_transpose(im)))
    if im.mode in HIGH_BIT:  # convert('L') clips these at 255; an 8-bit copy would look like the scaled film
        hs.append(dhash_image(to_grey8(im)))
    return hs


def hashes_array(hashes: list[int]) -> np.ndarray:
    """256-bit hashes as an (N, 32) uint8 array for vectorised Hamming distances."""
    if not hashes:
        return np.zeros((0, 32), np.uint8)
    return np.frombuffer(b"".join(h.to_bytes(32, "big") for h in hashes), np.uint8).reshape(-1, 32)


def nearest(h: int, table: np.ndarray) -> tuple[int, int]:
    """(index, Hamming distance) of the closest row of `table` to hash h; (-1, 257) when empty."""
    if len(table) == 0:
        return -1, 257
    d = _POP8[np.bitwise_xor(table, hashes_array([h])[0])].sum(axis=1, dtype=np.int32)
    i = int(d.argmin())
    return i, int(d[i])


def to_grey8(im: Image.Image) -> Image.Image:
    """8-bit grey. 16-bit and 32-bit integer films are scaled linearly from the range of their bit
    depth (a 12-bit film in a 16-bit container uses 0..4095) instead of being clipped at 255, which is
    what convert('L') would do; everything else goes through convert('L') (L = 0.299R+0.587G+0.114B)."""
    if im.mode in HIGH_BIT:
        a = np.asarray(im, dtype=np.float64)
        lo = min(0.0, float(a.min()))
        top = float(a.max())
        depth = max(8, int(np.ceil(np.log2(top + 1)))) if top > 0 else 8
        scale = (2**depth - 1) - lo
        return Image.fromarray(np.clip(np.round((a - lo) * 255.0 / scale), 0, 255).astype(np.uint8), "L")
    # RGB(A), palette, LA: convert("L") (alpha dropped), the same call the hash uses
    return im.convert("L")


def stored_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    s = min(1.0, max_side / max(w, h))
    return max(1, round(w * s)), max(1, round(h * s))


def shrink(g: Image.Image, size: tuple[int, int]) -> Image.Image:
    return g if g.size == size else g.resize(size, Image.LANCZOS)


def binary_mask(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("L")) > 127


def mask_to_size(mask: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """A binary mask at the stored film size: bilinear resample, then the 127 threshold again
    (smoother edges than nearest when shrinking 1024 -> 512)."""
    m = Image.fromarray((mask * 255).astype(np.uint8), "L")
    if m.size != size:
        m = m.resize(size, Image.BILINEAR)
    return Image.fromarray(np.where(np.asarray(m) > 127, 255, 0).astype(np.uint8), "L")


def split_lungs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(image-left part, image-right part, problem) of a mask that holds both lungs.

    The cut is the emptiest column in the middle 40 % of the mask's horizontal extent (the
    mediastinum). On a frontal film the image-left lung is the patient's right lung."""
    cols = mask.sum(axis=0)
    xs = np.nonzero(cols)[0]
    if len(xs) == 0:
        return mask, mask, "empty mask"
    x0, x1 = int(xs[0]), int(xs[-1]) + 1
    lo, hi = x0 + int(0.3 * (x1 - x0)), x0 + int(0.7 * (x1 - x0))
    if hi <= lo:
        return mask, mask, "mask too narrow to split"
    cut = lo + int(cols[lo:hi].argmin())
    left, right = mask.copy(), mask.copy()
    left[:, cut:] = False
    right[:, :cut] = False
    problem = None if cols[cut] == 0 else f"lungs touch at the cut (column {cut}, {int(cols[cut])} px)"
    if cols[cut] > 0.25 * cols.max():
        problem = f"no gap between the lungs (column {cut}: {int(cols[cut])} px): not two lungs"
    if left.sum() < 0.2 * right.sum() or right.sum() < 0.2 * left.sum():
        problem = "one side holds under a fifth of the other: not two lungs"
    return left, right, problem


def png_bytes(g: Image.Image) -> bytes:
    """Deterministic PNG (no metadata, fixed compression) so reruns write identical files."""
    buf = io.BytesIO()
    g.save(buf, "PNG", optimize=False, compress_level=6)
    return buf.getvalue()
