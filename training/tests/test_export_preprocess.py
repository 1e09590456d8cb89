"""Reference preprocessing: letterbox and exact area resize (docs/contracts/model-bundle.md)."""

import numpy as np
import pytest
from PIL import Image

from gkmvlp.model.preprocess import area_resize, area_weights, decode_gray, letterbox, preprocess_array


def test_area_weights_are_exact_box_filters():
    w = area_weights(5, 2)  # s = 2.5: [0,2.5) and [2.5,5)
    assert np.allclose(w, [[0.4, 0.4, 0.2, 0, 0], [0, 0, 0.2, 0.4, 0.4]])
    assert np.allclose(area_weights(7, 3).sum(1), 1) and np.allclose(area_weights(3, 7).sum(1), 1)


def test_area_resize_preserves_mean_and_downsamples_blocks():
    img = np.arange(16, dtype=np.float64).reshape(4, 4)
    out = area_resize(img, 2)
    assert np.allclose(out, [[2.5, 4.5], [10.5, 12.5]])
    rng = np.random.default_rng(0)
    big = rng.random((300, 300))
    assert abs(area_resize(big, 128).mean() - big.mean()) < 1e-12


def test_letterbox_pads_short_side_symmetrically_floor_before():
    sq, lb = letterbox(np.ones((3, 6)))
    assert sq.shape == (6, 6) and (lb.pad_x, lb.pad_y) == (0, 1)
    assert sq[0].sum() == 0 and sq[1:4].min() == 1 and sq[4:].sum() == 0
    x, lb = preprocess_array(np.ones((260, 300)), 128, 0.5, 0.25)
    assert x.shape == (1, 1, 128, 128) and x.dtype == np.float32
    assert lb.scale == pytest.approx(128 / 300) and (lb.pad_x, lb.pad_y) == (0, 20)
    assert lb.box_to_model([0, 0, 300, 260]) == pytest.approx([0, 20 / 300, 1, 280 / 300])


def test_decode_8bit_16bit_and_rgb(tmp_path):
    a8 = np.array([[0, 255], [51, 102]], np.uint8)
    Image.fromarray(a8, "L").save(tmp_path / "g8.png")
    assert np.allclose(decode_gray(tmp_path / "g8.png"), a8 / 255)
    a16 = np.array([[0, 65535], [1000, 30000]], np.uint16)
    Image.fromarray(a16, "I;16").save(tmp_path / "g16.png")
    assert np.allclose(decode_gray(tmp_path / "g16.png"), a16 / 65535)
    rgb = np.zeros((1, 1, 3), np.uint8)
    rgb[0, 0] = (100, 50, 200)
    Image.fromarray(rgb, "RGB").save(tmp_path / "c.png")
    assert decode_gray(tmp_path / "c.png")[0, 0] == pytest.approx((0.299 * 100 + 0.587 * 50 + 0.114 * 200) / 255)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png"):
        decode_gray(tmp_path / "bad.png")
