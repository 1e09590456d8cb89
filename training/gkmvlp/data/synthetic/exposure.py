"""Attenuation -> 8-bit film: detector blur, exposure (gain/bias/gamma), quantum noise, mottle."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter


def expose(A: np.ndarray, exposure: dict, noise_rng: np.random.Generator, noise_scale: float = 1.0):
    """Returns (uint8 image, float32 image in [0, 1] before quantisation)."""
    S = A.shape[0]
    blur = exposure["blur"] * S / 224
    img = gaussian_filter(A, blur) if blur > 0.2 else A
    img = np.clip(img * exposure["gain"] + exposure["bias"], 0.0, 1.0) ** exposure["gamma"]
    n = noise_rng.standard_normal((S, S)).astype(np.float32)
    coarse = noise_rng.standard_normal((8, 8)).astype(np.float32)
    mottle = np.asarray(Image.fromarray(coarse, mode="F").resize((S, S), Image.BICUBIC))
    # quantum noise is relatively stronger where fewer photons reach the detector (bright areas)
    img = img + noise_scale * (exposure["noise"] * (0.6 + 0.6 * img) * n + exposure["mottle"] * mottle)
    img = np.clip(img, 0.0, 1.0).astype(np.float32)
    return np.round(img * 255.0).astype(np.uint8), img
