"""Dense flow on a shifted real image, point warping, propagated boxes."""
import cv2
import numpy as np
import pytest

from tests.shared_data import PARITY_DIR, shared_path
from tracker.tracking.flow import (GLOBAL_MOTION_SAMPLES, MIN_FLOW_SIDE, DenseFlow, FlowField,
                                  _grid_steps, boxes_around_keypoints, flow_size_wh,
                                  global_motion, warp_point_sets, warp_points)


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


def _panning_field(height, width):
    """A camera pan of (2.5, -1.25) px with +-0.2 px of patterned noise, and a third of the
    field (people walking) moving (12, -30) px on its own."""
    y, x = np.indices((height, width))
    noise = ((x * 7 + y * 13) % 11 - 5) * 0.04
    field = np.stack([2.5 + noise, -1.25 - noise[::-1]], axis=2).astype(np.float32)
    field[:, : width // 3] = [12.0, -30.0]
    return field


@pytest.mark.parametrize("height,width", [(360, 640), (720, 1280), (90, 160), (1, 20000)])
def test_global_motion_of_a_subsample_is_the_full_median(height, width):
    field = _panning_field(height, width)
    full = np.median(field.reshape(-1, 2), axis=0)
    np.testing.assert_allclose(global_motion(field), full, atol=0.05)
    np.testing.assert_allclose(global_motion(FlowField(field, scale=2.0)), 2 * full, atol=0.1)
    assert abs(full[0] - 2.5) < 0.25 and abs(full[1] + 1.25) < 0.25   # the pan, not the people


@pytest.mark.parametrize("height,width", [(360, 640), (720, 1280), (1080, 1920), (1, 20000),
                                          (20000, 1), (100, 100), (60, 100)])
def test_global_motion_reads_an_even_grid_of_about_the_sample_count(height, width):
    step_y, step_x = _grid_steps(height, width, GLOBAL_MOTION_SAMPLES)
    read = len(range(step_y // 2, height, step_y)) * len(range(step_x // 2, width, step_x))
    assert read == height * width if height * width <= GLOBAL_MOTION_SAMPLES else \
        0.6 * GLOBAL_MOTION_SAMPLES <= read <= 1.5 * GLOBAL_MOTION_SAMPLES


def test_global_motion_of_tiny_and_empty_fields_is_their_exact_median():
    assert global_motion(np.array([[[1.5, -2.0]]], np.float32)).tolist() == [1.5, -2.0]
    two_by_two = np.array([[[0, 0], [1, 10]], [[2, 20], [30, 3]]], np.float32)
    assert global_motion(two_by_two).tolist() == [1.5, 6.5]
    assert global_motion(FlowField(two_by_two, scale=0.5)).tolist() == [0.75, 3.25]
    assert global_motion(np.array([[4.0, 1.0], [6.0, 3.0], [5.0, 2.0]])).tolist() == [5.0, 2.0]
    empties = np.zeros((0, 0, 2), np.float32), np.zeros((0, 2)), FlowField(np.zeros((0, 5, 2)))
    for empty in empties:
        assert global_motion(empty).tolist() == [0.0, 0.0]
    assert global_motion(FlowField(two_by_two)).dtype == np.float32


def test_warp_point_sets_equals_warp_points_of_each_set():
    y, x = np.indices((12, 10))
    flow = np.stack([0.5 * x + 0.1 * y, 0.3 * y - 0.2 * x], axis=2).astype(np.float32)
    pose = np.array([[2.5, 3.0], [np.nan, 1.0], [50.0, 2.0], [-4.0, 7.25], [9.9, 11.5]])
    history = np.stack([pose + 0.5, pose[::-1], pose * 0.5])                      # (3, 5, 2)
    sets = [pose, history, np.zeros((0, 2)), pose[:1].astype(np.float32), [[1.0, 1.0]]]
    for field in (flow, FlowField(flow, scale=2.0)):
        batched = warp_point_sets(sets, field)
        assert len(batched) == len(sets)
        for points, moved in zip(sets, batched):
            expected = warp_points(points, field)
            assert moved.dtype == np.float32 and moved.shape == expected.shape
            np.testing.assert_array_equal(moved, expected)     # NaN where warp_points has NaN
    assert warp_point_sets([], flow) == []
