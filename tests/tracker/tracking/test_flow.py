"""Dense flow on a shifted real image, point warping, propagated boxes."""
import cv2
import numpy as np
import pytest

from tests.shared_data import PARITY_DIR, shared_path
from tracker.tracking.flow import (MIN_FLOW_SIDE, DenseFlow, boxes_around_keypoints,
                                  flow_size_wh, warp_points)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_recovers_a_known_shift(method):
    image = cv2.imread(str(shared_path(*PARITY_DIR, "images", "coco", "000000000785.jpg")))
    shifted = np.roll(image, shift=(3, 5), axis=(0, 1))  # content moves +5 px in x, +3 in y
    flow = DenseFlow(method=method, max_side=0)(image, shifted)
    assert flow.scale == 1.0 and flow.vectors.shape == image.shape[:2] + (2,)
    center = flow.vectors[100:300, 200:450].reshape(-1, 2)
    np.testing.assert_allclose(np.median(center, axis=0), [5.0, 3.0], atol=0.5)


def test_downscaled_flow_is_in_full_resolution_pixels():
    image = cv2.imread(str(shared_path(*PARITY_DIR, "images", "coco", "000000000785.jpg")))
    shifted = np.roll(image, shift=(0, 8), axis=(0, 1))
    field = DenseFlow(max_side=320)(image, shifted)
    assert max(field.vectors.shape[:2]) == 320 and field.scale == image.shape[1] / 320
    flow = field.full_resolution((image.shape[1], image.shape[0]))
    assert flow.shape == image.shape[:2] + (2,)
    assert abs(np.median(flow[100:300, 200:450, 0]) - 8.0) < 1.0
    # sampling the low-resolution field at points gives the same motion, without upscaling
    points = np.array([[300.0, 200.0], [250.0, 150.5]])
    np.testing.assert_allclose(warp_points(points, field), warp_points(points, flow), atol=0.3)
    np.testing.assert_allclose(warp_points(points, field)[:, 0] - points[:, 0], 8.0, atol=1.0)


def test_consecutive_calls_reuse_the_prepared_frame():
    image = cv2.imread(str(shared_path(*PARITY_DIR, "images", "coco", "000000000785.jpg")))
    frames = [np.roll(image, shift=(0, 4 * k), axis=(0, 1)) for k in range(3)]
    flow = DenseFlow(max_side=320)
    chained = [flow(frames[0], frames[1]), flow(frames[1], frames[2])]
    fresh = DenseFlow(max_side=320)(frames[1], frames[2])
    np.testing.assert_array_equal(chained[1].vectors, fresh.vectors)
    assert chained[0].scale == fresh.scale


def test_warp_points_bilinear_and_nan():
    flow = np.zeros((10, 10, 2), np.float32)
    flow[:, :, 0] = np.arange(10)  # x flow grows with x
    moved = warp_points(np.array([[2.5, 3.0], [np.nan, 1.0], [50.0, 2.0]]), flow)
    np.testing.assert_allclose(moved[0], [5.0, 3.0])
    assert np.isnan(moved[1]).all() and moved[2, 0] == 59.0  # border flow outside the frame


def test_boxes_around_keypoints_enlarged_15_percent():
    keypoints = np.array([[[0, 0], [100, 200], [500, 500]]], float)
    scores = np.array([[0.9, 0.9, 0.1]])
    np.testing.assert_allclose(boxes_around_keypoints(keypoints, scores, 0.5),
                               [[-7.5, -15.0, 107.5, 215.0]])
    assert np.isnan(boxes_around_keypoints(keypoints, np.zeros((1, 3)), 0.5)).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "raft"}, "flow method must be 'dis' or 'farneback', got 'raft'"),
    ({"dis_preset": "slow"}, "dis_preset must be one of .*'ultrafast'.*, got 'slow'"),
    ({"max_side": -1}, "max_side must be >= 0, got -1"),
])
def test_invalid_flow_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DenseFlow(**kwargs)


@pytest.mark.parametrize("frame_size_wh,max_side,expected", [
    ((1280, 720), 640, (640, 360)), ((640, 480), 0, (640, 480)), ((11, 40), 640, (16, 58)),
    ((1, 1), 640, (16, 16)), ((3000, 8), 640, (6000, 16))])
def test_flow_size_keeps_both_sides_at_least_min_flow_side(frame_size_wh, max_side, expected):
    assert flow_size_wh(frame_size_wh, max_side) == expected


@pytest.mark.parametrize("method", ["dis", "farneback"])
@pytest.mark.parametrize("width,height", [(1, 1), (8, 8), (40, 11), (11, 40)])
def test_frames_under_twelve_pixels_get_a_flow_not_an_opencv_error(method, width, height):
    # DIS raises (and a reused DIS object then crashes) on images under 12 px on a side.
    image = np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)
    flow = DenseFlow(method=method)
    for _ in range(2):
        field = flow(image, image)
    assert min(field.vectors.shape[:2]) >= MIN_FLOW_SIDE
    moved = warp_points(np.array([[width / 2, height / 2]], np.float32), field)
    np.testing.assert_allclose(moved, [[width / 2, height / 2]], atol=0.5)
