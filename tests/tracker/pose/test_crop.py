"""Crops are bit-identical to mmpose's cv2.warpAffine crops (the network input)."""
import json

import cv2
import numpy as np
import pytest

from tests.shared_data import PARITY_DIR, shared_path
from tracker.boxes import box_to_center_scale
from tracker.pose.crop import crop_affine, crop_persons


@pytest.mark.parametrize("stem,size_wh", [("res50_coco_256x192", (192, 256)),
                                           ("res50_mpii_256x256", (256, 256))])
def test_crops_equal_mmpose(stem, size_wh):
    refs = json.loads(shared_path(*PARITY_DIR, "refs", f"{stem}.json").read_text())
    data = np.load(shared_path(*PARITY_DIR, "refs", f"{stem}_heatmaps.npz"))
    for row, index in enumerate(data["person_index"]):
        person = refs["persons"][int(index)]
        image = cv2.imread(str(shared_path(*PARITY_DIR, "images", person["image"])))
        centers, sizes = box_to_center_scale(np.array([person["bbox_xywh"]]),
                                             size_wh[0] / size_wh[1])
        crop = crop_persons(image, centers, sizes, size_wh)[0][..., ::-1]
        np.testing.assert_array_equal(crop, data["crops_rgb_uint8"][row])


def test_inverse_affine_maps_crop_back_to_frame():
    center, size = np.array([100.0, 50.0], np.float32), np.array([60.0, 80.0], np.float32)
    forward = crop_affine(center, size, (48, 64))
    inverse = crop_affine(center, size, (48, 64), inverse=True)
    point = np.array([13.0, 7.0, 1.0])
    np.testing.assert_allclose(inverse @ np.append(forward @ point, 1.0), point[:2], atol=1e-9)
    # the crop center maps onto the box center, and the crop width onto the box width
    np.testing.assert_allclose(inverse @ [24.0, 32.0, 1.0], center, atol=1e-9)
    np.testing.assert_allclose(inverse @ [48.0, 32.0, 1.0] - inverse @ [0.0, 32.0, 1.0],
                               [60.0, 0.0], atol=1e-9)


def test_pixels_outside_the_frame_are_black():
    image = np.full((10, 10, 3), 200, np.uint8)
    crops = crop_persons(image, np.array([[-50.0, -50.0]], np.float32),
                         np.array([[20.0, 20.0]], np.float32), (8, 8))
    assert crops.shape == (1, 8, 8, 3) and not crops.any()
