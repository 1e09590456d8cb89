"""Region boxes from the anatomy masks: the largest 4-connected component's extent, the head's box
where a mask is empty, and nothing changed without the manifest section."""

import numpy as np
import pytest

from gkmvlp.model.anatomy_boxes import largest_component, mask_grid_box, refine_region_boxes, spec


def test_a_stray_blob_does_not_widen_the_box_and_diagonal_cells_are_not_connected():
    p = np.zeros((8, 8))
    p[2:6, 1:4] = 0.9  # 12 cells
    p[0, 7] = 0.8  # a stray cell far away
    p[6, 4] = 0.7  # touches the blob only at a corner: not 4-connected
    assert mask_grid_box(p, 0.5) == [1 / 8, 2 / 8, 4 / 8, 6 / 8]
    assert mask_grid_box(np.full((4, 4), 0.49), 0.5) is None


def test_equal_components_keep_the_one_met_first_in_row_major_order():
    m = np.zeros((4, 4), bool)
    m[3, 0:2] = True
    m[0, 2:4] = True
    assert np.array_equal(np.nonzero(largest_component(m)), (np.array([0, 0]), np.array([2, 3])))


def test_listed_regions_take_their_mask_box_and_an_empty_mask_keeps_the_head_box():
    manifest = {
        "regions": ["right lung", "left lung", "cardiac silhouette", "trachea"],
        "anatomy": {"regions": ["right lung", "left lung", "cardiac silhouette"]},
        "anatomy_boxes": spec(("right lung", "cardiac silhouette")),
    }
    head = np.tile(np.array([0.1, 0.2, 0.3, 0.4], np.float32), (2, 4, 1))
    masks = np.zeros((2, 3, 4, 4), np.float32)
    masks[0, 0, 1:3, 0:2] = 1.0  # right lung of film 0
    masks[0, 1, :, :] = 1.0  # left lung: not listed, ignored
    out = refine_region_boxes(head, masks, manifest)
    assert out[0, 0].tolist() == [0.0, 0.25, 0.5, 0.75]
    assert out[0, 1].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4])  # not listed
    assert out[1, 0].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4])  # empty mask: the head's box
    assert np.array_equal(refine_region_boxes(head, masks, {**manifest, "anatomy_boxes": None}), head)
    with pytest.raises(ValueError, match="unknown anatomy_boxes method"):
        refine_region_boxes(head, masks, {**manifest, "anatomy_boxes": {**spec(), "method": "convex_hull"}})
