"""Top-down estimator: batching, geometry and defined results on bad input."""
import numpy as np
import pytest
import torch

from tracker.pose.estimator import TopDownPoseEstimator
from tracker.pose.heatmap import encode
from tracker.pose.zoo import KeypointSet

KSET = KeypointSet(names=("center", "left", "right"), flip_pairs=((1, 2),))


class CenterNet:
    """Fake network: keypoint 0 peaks at the crop centre, 1 left of it, 2 right of it."""

    def __init__(self):
        self.batch_sizes = []

    def __call__(self, batch):
        self.batch_sizes.append(len(batch))
        n, _, h, w = batch.shape
        points = np.array([[w / 8, h / 8], [w / 8 - 4, h / 8], [w / 8 + 4, h / 8]])
        maps = encode(np.broadcast_to(points, (n, 3, 2)), (w // 4, h // 4), sigma=1.5)
        return torch.from_numpy(maps)


def _estimator(**kwargs):
    return TopDownPoseEstimator(network=kwargs.pop("network", CenterNet()), keypoint_set=KSET,
                                input_size_wh=(64, 64), mean=(0.5,) * 3, std=(0.25,) * 3,
                                **kwargs)


IMAGE = np.zeros((120, 160, 3), np.uint8)


def test_keypoints_land_in_frame_pixels():
    poses = _estimator().predict(IMAGE, [[20, 30, 40, 40], [100, 10, 20, 20]], flip_test=False)
    # crop 64 px <-> box side * 1.25; heatmap stride 4: keypoint 1 is 16 crop px left
    np.testing.assert_allclose(poses.keypoints[:, 0], [[40, 50], [110, 20]], atol=1e-4)
    np.testing.assert_allclose(poses.keypoints[0, 1], [40 - 16 * 50 / 64, 50], atol=1e-4)
    np.testing.assert_allclose(poses.boxes_xyxy, [[20, 30, 60, 70], [100, 10, 120, 30]])
    assert poses.keypoint_scores.shape == (2, 3) and (poses.keypoint_scores > 0.9).all()


def test_flip_test_swaps_pairs_back():
    poses = _estimator().predict(IMAGE, [[20, 30, 40, 40]], flip_test=True)
    assert poses.keypoints[0, 1, 0] < poses.keypoints[0, 0, 0] < poses.keypoints[0, 2, 0]


def test_crops_are_batched_up_to_max_batch_size():
    network = CenterNet()
    boxes = [[i, i, 30, 30] for i in range(7)]
    poses = _estimator(network=network, max_batch_size=3).predict(IMAGE, boxes, flip_test=True)
    assert len(poses) == 7 and network.batch_sizes == [3, 3, 3, 3, 1, 1]


@pytest.mark.parametrize("boxes", [[], np.zeros((0, 4)), np.zeros((0,))])
def test_no_boxes_gives_empty_arrays(boxes):
    poses = _estimator().predict(IMAGE, boxes)
    assert poses.keypoints.shape == (0, 3, 2) and poses.keypoint_scores.shape == (0, 3)
    assert poses.keypoints.dtype == np.float32


def test_invalid_boxes_get_nan_keypoints_and_zero_scores():
    boxes = [[20, 30, 40, 40], [np.nan, 0, 10, 10], [5, 5, 0, 0], [5, 5, -3, 10], [1, 1, 0, 20]]
    poses = _estimator().predict(IMAGE, boxes, box_scores=[0.9, 0.8, 0.7, 0.6, 0.5])
    assert np.isfinite(poses.keypoints[[0, 4]]).all()
    assert np.isnan(poses.keypoints[1:4]).all() and (poses.keypoint_scores[1:4] == 0).all()
    np.testing.assert_allclose(poses.box_scores, [0.9, 0.8, 0.7, 0.6, 0.5])


class NanNet:
    """Fake network: NaN heatmaps for keypoint 0, CenterNet's maps for the others."""

    def __call__(self, batch):
        maps = CenterNet()(batch)
        maps[:, 0] = float("nan")
        return maps


@pytest.mark.parametrize("box", [[0, 0, 1e308, 1e308], [1e308, 1e308, 10, 10],
                                 [-1e308, 0, 1e308, 10], [5, 5, 1e-300, 1e-300]],
                         ids=["huge_sides", "huge_corner", "huge_span", "tiny"])
def test_boxes_whose_crop_overflows_get_nan_keypoints_and_zero_scores(box):
    poses = _estimator().predict(IMAGE, [[20, 30, 40, 40], box], box_scores=[0.9, 0.8])
    assert np.isfinite(poses.keypoints[0]).all() and (poses.keypoint_scores[0] > 0).all()
    assert np.isnan(poses.keypoints[1]).all() and (poses.keypoint_scores[1] == 0).all()
    with pytest.raises(ValueError, match=r"row 1 is not a valid box"):
        _estimator().heatmaps(IMAGE, [[20, 30, 40, 40], box])


def test_every_non_finite_keypoint_scores_zero():
    poses = _estimator(network=NanNet()).predict(IMAGE, [[20, 30, 40, 40]], flip_test=False)
    assert np.isnan(poses.keypoints[0, 0]).all() and poses.keypoint_scores[0, 0] == 0
    assert np.isfinite(poses.keypoints[0, 1:]).all() and (poses.keypoint_scores[0, 1:] > 0.9).all()


def test_keypoints_are_never_nan_with_a_score():
    boxes = [[20, 30, 40, 40], [np.inf, 0, 10, 10], [0, 0, 1e308, 1e308], [5, 5, 0, 0]]
    poses = _estimator(network=NanNet()).predict(IMAGE, boxes)
    nan = ~np.isfinite(poses.keypoints).all(axis=-1)
    assert nan.any() and (poses.keypoint_scores[nan] == 0).all()


@pytest.mark.parametrize("image", [
    np.zeros((120, 160), np.uint8), np.zeros((120, 160, 1), np.uint8),
    np.zeros((120, 160, 4), np.uint8)], ids=["gray", "gray1", "bgra"])
def test_grayscale_and_alpha_images_are_accepted(image):
    poses = _estimator().predict(image, [[20, 30, 40, 40]])
    assert np.isfinite(poses.keypoints).all()


@pytest.mark.parametrize("image,error,message", [
    (None, TypeError, "numpy array"),
    (np.zeros((120, 160, 3), np.float32), ValueError, "dtype uint8"),
    (np.zeros((120, 160, 2), np.uint8), ValueError, r"shape \(H, W, 3\)"),
    (np.zeros((0, 160, 3), np.uint8), ValueError, r"shape \(H, W, 3\)"),
])
def test_bad_images_are_clear_errors(image, error, message):
    with pytest.raises(error, match=message):
        _estimator().predict(image, [[20, 30, 40, 40]])


@pytest.mark.parametrize("boxes,message", [
    ([[1, 2, 3]], r"boxes_xywh must have shape \(N, 4\), got \(1, 3\)"),
    ([1, 2, 3, 4], r"boxes_xywh must have shape \(N, 4\), got \(4,\)"),
])
def test_bad_boxes_are_clear_errors(boxes, message):
    with pytest.raises(ValueError, match=message):
        _estimator().predict(IMAGE, boxes)


def test_box_scores_must_match_boxes():
    with pytest.raises(ValueError, match=r"box_scores must have shape \(1,\)"):
        _estimator().predict(IMAGE, [[20, 30, 40, 40]], box_scores=[0.5, 0.5])


def test_invalid_batch_size():
    with pytest.raises(ValueError, match="max_batch_size"):
        _estimator(max_batch_size=0)


def test_heatmaps_rejects_invalid_boxes():
    with pytest.raises(ValueError, match=r"row 1 is not a valid box"):
        _estimator().heatmaps(IMAGE, [[20, 30, 40, 40], [0, 0, 0, 0]])


def test_non_contiguous_image_view():
    flipped_view = np.zeros((120, 160, 3), np.uint8)[:, ::-1]
    poses = _estimator().predict(flipped_view, [[20, 30, 40, 40]])
    assert np.isfinite(poses.keypoints).all()


class RecordingNet:
    """Fake network that keeps its input and returns (N, 3, 2, 2) maps of the input means."""

    def __init__(self):
        self.inputs = []

    def __call__(self, batch):
        self.inputs.append(batch.clone())
        means = batch.mean(dim=(2, 3))                     # (N, 3) per channel
        return means[:, :, None, None].expand(-1, -1, 2, 2).contiguous()


def test_heatmaps_of_crops_normalises_in_the_network_channel_order():
    crops = np.zeros((2, 4, 4, 3), np.uint8)
    crops[..., 0], crops[..., 1], crops[..., 2] = 255, 0, 51     # B, G, R
    network = RecordingNet()
    estimator = TopDownPoseEstimator(network=network, keypoint_set=KSET, input_size_wh=(4, 4),
                                     mean=(0.2, 0.0, 1.0), std=(0.5, 1.0, 0.25))
    heatmaps = estimator.heatmaps_of_crops(crops, flip_test=False)
    assert isinstance(heatmaps, np.ndarray) and heatmaps.shape == (2, 3, 2, 2)
    # RGB input: R = 51/255 = 0.2 -> 0, G = 0 -> 0, B = 1 -> 0
    np.testing.assert_allclose(heatmaps, 0.0, atol=1e-6)
    assert len(network.inputs) == 1


def test_heatmaps_of_crops_flip_test_fuses_the_mirrored_crops():
    network = RecordingNet()
    estimator = TopDownPoseEstimator(network=network, keypoint_set=KSET, input_size_wh=(4, 4),
                                     mean=(0.0,) * 3, std=(1.0,) * 3, flip_test=True)
    crops = np.random.default_rng(0).integers(0, 256, (3, 4, 4, 3), dtype=np.uint8)
    estimator.heatmaps_of_crops(crops)                           # the constructor's default
    assert len(network.inputs) == 2
    assert torch.equal(network.inputs[1], network.inputs[0].flip(3))


@pytest.mark.parametrize("mean,std,message", [
    ((0.5, 0.5), (1.0,) * 3, r"mean must be 3 finite numbers \(R, G, B\)"),
    ((0.5,) * 3, (1.0, 0.0, 1.0), "std must not contain zeros"),
    ((0.5,) * 3, (1.0, float("nan"), 1.0), "std must be 3 finite numbers"),
])
def test_bad_normalisation_is_a_clear_error(mean, std, message):
    with pytest.raises(ValueError, match=message):
        TopDownPoseEstimator(network=CenterNet(), keypoint_set=KSET, input_size_wh=(64, 64),
                             mean=mean, std=std)


def test_fast_path_gives_the_exact_keypoints_of_a_smooth_network():
    boxes = [[20, 30, 40, 40], [100, 10, 20, 20], [150, 100, 30, 30]]
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    exact = _estimator().predict(image, boxes, flip_test=True)
    network = CenterNet()
    fast = _estimator(network=network, fast_path=True, max_batch_size=4).predict(
        image, boxes, flip_test=True)
    np.testing.assert_allclose(fast.keypoints, exact.keypoints, atol=1e-4)
    np.testing.assert_allclose(fast.keypoint_scores, exact.keypoint_scores, atol=1e-6)
    assert network.batch_sizes == [4, 2]        # crops and mirrors share a call


def test_fast_path_without_boxes_gives_empty_arrays():
    poses = _estimator(fast_path=True).predict(IMAGE, [])
    assert poses.keypoints.shape == (0, 3, 2)


@pytest.mark.parametrize("fast_path", [False, True])
def test_predict_frames_shares_network_calls_and_equals_predict_per_frame(fast_path):
    images = [IMAGE, np.full((90, 200, 3), 40, np.uint8), IMAGE]
    boxes = [[[20, 30, 40, 40], [100, 10, 20, 20]], [[50, 5, 30, 60]],
             [[float("nan"), 0, 10, 10], [5, 5, 30, 30]]]           # an unusable box too
    scores = [[0.9, 0.8], [0.7], [0.6, 0.5]]
    network = CenterNet()
    estimator = _estimator(network=network, max_batch_size=8, fast_path=fast_path)
    together = estimator.predict_frames(images, boxes, scores, flip_test=False)
    assert network.batch_sizes == [4]                  # 4 usable crops of 3 frames, one call
    for image, frame_boxes, frame_scores, poses in zip(images, boxes, scores, together):
        alone = _estimator(fast_path=fast_path).predict(image, frame_boxes, frame_scores,
                                                        flip_test=False)
        np.testing.assert_array_equal(poses.keypoints, alone.keypoints)
        np.testing.assert_array_equal(poses.keypoint_scores, alone.keypoint_scores)
        np.testing.assert_array_equal(poses.box_scores, np.float32(frame_scores))
    assert np.isnan(together[2].keypoints[0]).all() and together[2].keypoint_scores[0].sum() == 0
    np.testing.assert_allclose(together[1].keypoints[0, 0], [65, 35], atol=1e-4)   # box centre


def test_predict_frames_checks_one_box_array_per_frame():
    with pytest.raises(ValueError, match="2 frames, 1 box arrays"):
        _estimator().predict_frames([IMAGE, IMAGE], [[[0, 0, 5, 5]]])
    with pytest.raises(ValueError, match=r"box_scores must have shape \(1,\)"):
        _estimator().predict_frames([IMAGE], [[[0, 0, 5, 5]]], [[0.5, 0.4]])
    assert _estimator().predict_frames([], []) == []
