"""Batched top-down inference across images: same keypoints as the estimator, one crop at a time."""
import cv2
import numpy as np
import pytest
import torch

from tests.tracker.image_eval.cases import mmpose_testdata
from tracker.boxes import mmpose_center_scale
from tracker.image_eval.datasets import PersonBox
from tracker.image_eval.persons import parse_persons
from tracker.image_eval.runner import crop_geometry, run_top_down
from tracker.pose.estimator import TopDownPoseEstimator
from tracker.pose.zoo import KeypointSet

KSET = KeypointSet(names=("a", "left", "right"), flip_pairs=((1, 2),))


class PoolNet:
    """Fake network whose heatmaps depend on the crop's pixels, one sample at a time."""

    def __init__(self):
        self.batch_sizes = []

    def __call__(self, batch):
        self.batch_sizes.append(len(batch))
        return torch.nn.functional.avg_pool2d(batch, 4) + 3.0


def _estimator(network=None):
    return TopDownPoseEstimator(network=network or PoolNet(), keypoint_set=KSET,
                                input_size_wh=(48, 64), mean=(0.5,) * 3, std=(0.25,) * 3)


def _boxes():
    return [PersonBox("000000000785.jpg", 0, (280.79, 44.73, 218.7, 346.68)),
            PersonBox("000000040083.jpg", 0, (38.08, 110.95, 174.71, 174.71), bbox_score=0.7),
            PersonBox("000000040083.jpg", 1, (300.1, 100.2, 80.3, 200.4)),
            PersonBox("000000196141.jpg", 0, (247.76, 74.23, 169.67, 300.78)),
            PersonBox("000000197388.jpg", 0, (139.41, 102.25, 222.38, 241.57)),
            PersonBox("000000197388.jpg", 5, (10.0, 20.0, 60.0, 90.0)),
            PersonBox("000000000785.jpg", 1, (10.5, 10.5, 100.0, 100.0))]


@pytest.mark.parametrize("batch_size,workers", [(1, 0), (3, 2), (64, 1)])
def test_same_keypoints_as_the_estimator_per_image(batch_size, workers):
    folder = mmpose_testdata("coco")
    boxes = _boxes()
    persons = run_top_down(_estimator(), folder, boxes, batch_size=batch_size, workers=workers)
    estimator = _estimator()
    for box, person in zip(boxes, persons):
        image = cv2.imread(str(folder / box.image_file))
        # mmpose's dataset pipeline holds the box in float32
        poses = estimator.predict(image, np.float32([box.bbox_xywh]).astype(np.float64))
        expected = np.concatenate([poses.keypoints[0], poses.keypoint_scores[0][:, None]], 1)
        assert np.array_equal(np.array(person["keypoints"], np.float32), expected)
        assert person["bbox_score"] == float(np.float32(box.bbox_score))
        assert (person["image_file"], person["bbox_id"]) == (box.image_file, box.bbox_id)


def test_crops_of_several_images_share_a_network_batch():
    network = PoolNet()
    run_top_down(_estimator(network), mmpose_testdata("coco"), _boxes(), batch_size=4, workers=2)
    assert network.batch_sizes == [4, 4, 3, 3]          # 7 persons of 4 images; flip test doubles


def test_invalid_boxes_get_zero_scores_and_the_layout_parses():
    boxes = _boxes()[:2] + [PersonBox("000000040083.jpg", 9, (5.0, 5.0, 0.0, 0.0)),
                            PersonBox("000000040083.jpg", 10, (5.0, float("nan"), 1.0, 1.0))]
    persons = run_top_down(_estimator(), mmpose_testdata("coco"), boxes, workers=0)
    assert all(score == 0 for p in persons[2:] for *_, score in p["keypoints"])
    assert all(score > 0 for p in persons[:2] for *_, score in p["keypoints"])
    parsed = parse_persons(persons, 3, need_areas=True)
    assert parsed.bbox_ids == (0, 0, 9, 10) and np.isfinite(parsed.areas).all()


def test_center_and_scale_persons_crop_scale_times_200():
    boxes = [PersonBox("a.jpg", 0, center=(100.5, 80.25), scale=(1.5, 2.0))]
    centers, scales, valid = crop_geometry(boxes, (48, 64))
    assert centers.tolist() == [[100.5, 80.25]] and scales.tolist() == [[1.5, 2.0]]
    assert valid.all()


def test_boxes_get_mmpose_center_and_scale_of_the_float32_box():
    """mmpose's dataset pipeline holds the box in float32 before computing center and scale."""
    boxes = np.random.default_rng(0).uniform(1, 500, (200, 4))
    persons = [PersonBox("a.jpg", i, tuple(box)) for i, box in enumerate(boxes)]
    for size in ((48, 64), (64, 64), (80, 100)):
        centers, scales, valid = crop_geometry(persons, size)
        expected_centers, expected_scales = mmpose_center_scale(
            boxes.astype(np.float32).astype(np.float64), size[0] / size[1])
        assert np.array_equal(centers, expected_centers) and valid.all()
        assert np.array_equal(scales, expected_scales)


def test_unreadable_image_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="missing or not an image"):
        run_top_down(_estimator(), tmp_path, _boxes()[:1], workers=1)
