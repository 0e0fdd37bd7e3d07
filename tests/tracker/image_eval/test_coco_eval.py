"""The keypoint COCOeval (xtcocotools rules) on tiny hand-computed cases."""
import numpy as np
import pytest

from tracker.image_eval.coco_eval import evaluate_keypoints

SIGMAS = np.full(5, 0.05)
POINTS = [[10, 10], [60, 10], [35, 50], [10, 90], [60, 90]]


def _gt(ann_id=1, image_id=1, shift=0, area=10000.0, visibility=2, **extra):
    keypoints = [v for x, y in POINTS for v in (x + shift, y, visibility)]
    ann = {"id": ann_id, "image_id": image_id, "category_id": 1, "keypoints": keypoints,
           "bbox": [shift, 0, 100, 100], "num_keypoints": 5 if visibility else 0,
           "iscrowd": 0}
    if area is not None:
        ann["area"] = area
    return {**ann, **extra}


def _dt(score, image_id=1, shift=0, keypoint_score=0.9):
    keypoints = [v for x, y in POINTS for v in (x + shift, y, keypoint_score)]
    return {"image_id": image_id, "category_id": 1, "keypoints": keypoints, "score": score}


def _evaluate(annotations, results, images=({"id": 1, "crowdIndex": 0.5},), **kwargs):
    options = {"sigmas": SIGMAS, "use_area": True, "crowd": False, **kwargs}
    return evaluate_keypoints(images=list(images), annotations=annotations,
                              categories=[{"id": 1, "name": "person"}], results=results,
                              **options)


def test_one_exact_detection():
    stats = _evaluate([_gt()], [_dt(0.8)])
    # precision = tp / (tp + fp + eps): COCOeval's "1" is 1 - 2e-16
    assert stats["AP"] == stats["AP (L)"] == pytest.approx(1.0, abs=1e-12) and stats["AR"] == 1
    assert stats["AP (M)"] == -1.0 and stats["AR (M)"] == -1.0   # no medium GT


def test_false_positive_above_the_true_one_halves_the_precision():
    stats = _evaluate([_gt()], [_dt(0.9, shift=500), _dt(0.8)])
    assert stats["AP"] == pytest.approx(0.5) and stats["AR"] == 1.0


def test_each_gt_is_matched_once():
    stats = _evaluate([_gt()], [_dt(0.9), _dt(0.8)])
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == 1.0   # duplicate comes last


@pytest.mark.parametrize("gt", [_gt(iscrowd=1), _gt(visibility=0)])
def test_crowd_and_unlabelled_gts_are_ignored(gt):
    stats = _evaluate([gt], [_dt(0.9)])
    assert stats["AP"] == -1.0 and stats["AR"] == -1.0


def test_results_without_any_positive_keypoint_score_are_dropped():
    assert _evaluate([_gt()], [_dt(0.9, keypoint_score=0.0)])["AR"] == 0.0


def test_area_without_use_area_is_053_of_the_box():
    # area 10000 (large) as given; 0.53 * 100 * 100 = 5300 (medium) without use_area
    assert _evaluate([_gt()], [_dt(0.9)])["AP (M)"] == -1.0
    stats = _evaluate([_gt()], [_dt(0.9)], use_area=False)
    assert stats["AP (M)"] == pytest.approx(1.0) and stats["AP (L)"] == -1.0
    assert _evaluate([_gt(area=None)], [_dt(0.9)], use_area=False)["AP"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"annotations\[0\].area: missing"):
        _evaluate([_gt(area=None)], [_dt(0.9)])


def test_images_without_results_count_their_people_as_misses():
    stats = _evaluate([_gt(), _gt(ann_id=2, image_id=2)], [_dt(0.9)],
                      images=[{"id": 1}, {"id": 2}])
    assert stats["AR"] == 0.5


def test_results_for_unknown_images_are_an_error():
    with pytest.raises(ValueError, match=r"image ids not in the ground truth: \[7\]"):
        _evaluate([_gt()], [_dt(0.9, image_id=7)])


def test_crowdpose_splits_by_crowd_index():
    images = [{"id": 1, "crowdIndex": 0.1}, {"id": 2, "crowdIndex": 0.9}]
    annotations = [_gt(), _gt(ann_id=2, image_id=2)]
    stats = _evaluate(annotations, [_dt(0.9), _dt(0.8, image_id=2, shift=500)], images=images,
                      crowd=True, use_area=False)
    assert list(stats) == ["AP", "AP .5", "AP .75", "AR", "AR .5", "AR .75",
                           "AP(E)", "AP(M)", "AP(H)"]
    # AP(E/M/H): the plain mean over all thresholds, rounded to 4 decimals; -1 if empty
    assert stats["AP(E)"] == 1.0 and stats["AP(M)"] == -1.0 and stats["AP(H)"] == 0.0
    # CrowdPose ignores a GT by num_keypoints (its visible count), not by v > 0
    stats = _evaluate([_gt(num_keypoints=0)], [_dt(0.9)], images=images[:1], crowd=True,
                      use_area=False)
    assert stats["AP"] == -1.0
