"""Box geometry: center/scale as mmpose computes it, conversions, validity, IoU."""
import json

import numpy as np
import pytest

from tests.shared_data import PARITY_DIR, shared_path
from tracker.boxes import (PIXEL_STD, box_to_center_scale, iou_matrix, mmpose_center_scale,
                           valid_box_mask, xywh_to_xyxy, xyxy_to_xywh)


@pytest.mark.parametrize("stem,aspect", [("res50_coco_256x192", 192 / 256),
                                          ("res50_mpii_256x256", 1.0)])
def test_center_scale_equal_mmpose_bitwise(stem, aspect):
    refs = json.loads(shared_path(*PARITY_DIR, "refs", f"{stem}.json").read_text())
    boxes = np.array([p["bbox_xywh"] for p in refs["persons"]])
    centers, sizes = box_to_center_scale(boxes, aspect)
    np.testing.assert_array_equal(centers, np.array([p["center"] for p in refs["persons"]],
                                                    np.float32))
    scales = np.array([p["scale"] for p in refs["persons"]], np.float32)
    np.testing.assert_array_equal(sizes, scales * np.float32(200))
    mmpose_centers, mmpose_scales = mmpose_center_scale(boxes, aspect)
    np.testing.assert_array_equal(mmpose_centers, centers)
    np.testing.assert_array_equal(mmpose_scales, scales)


@pytest.mark.parametrize("box,expected_size", [
    ([0, 0, 30, 40], [37.5, 50.0]),   # already 3:4
    ([0, 0, 60, 40], [75.0, 100.0]),  # too wide: height grows
    ([0, 0, 15, 40], [37.5, 50.0]),   # too narrow: width grows
    ([0, 0, 0, 40], [37.5, 50.0]),    # zero width is widened, as mmpose does
])
def test_aspect_fix_and_padding(box, expected_size):
    centers, sizes = box_to_center_scale(np.array([box], float), 0.75)
    np.testing.assert_allclose(sizes[0], expected_size, rtol=1e-6)
    np.testing.assert_allclose(centers[0], [box[0] + box[2] / 2, box[1] + box[3] / 2])


def test_sizes_are_mmpose_scales_times_200_in_float32():
    boxes = np.array([[0, 0, 30, 40], [0, 0, 60, 40], [10.5, 3.25, 15, 40], [0, 0, 0, 40]])
    centers, scales = mmpose_center_scale(boxes, 0.75)
    assert scales.dtype == np.float32 and centers.dtype == np.float32
    np.testing.assert_array_equal(scales, np.float32([[0.1875, 0.25], [0.375, 0.5],
                                                      [0.1875, 0.25], [0.1875, 0.25]]))
    np.testing.assert_array_equal(centers, np.float32([[15, 20], [30, 20], [18, 23.25],
                                                       [0, 20]]))
    same_centers, sizes = box_to_center_scale(boxes, 0.75)
    np.testing.assert_array_equal(same_centers, centers)
    np.testing.assert_array_equal(sizes, scales * np.float32(PIXEL_STD))
    np.testing.assert_array_equal(mmpose_center_scale(boxes, 0.75, padding=1.0)[1] * 1.25,
                                  scales)


def test_format_round_trip():
    boxes = np.array([[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(xywh_to_xyxy(boxes), [[1, 2, 4, 6]])
    np.testing.assert_array_equal(xyxy_to_xywh(xywh_to_xyxy(boxes)), boxes)


def test_valid_box_mask():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 0, 0], [0, 0, -1, 5], [np.nan, 0, 1, 1],
                      [0, 0, 0, 5], [0, np.inf, 1, 1]])
    np.testing.assert_array_equal(valid_box_mask(boxes), [1, 0, 0, 0, 1, 0])


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], float)
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 30, 30]], float)
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)
