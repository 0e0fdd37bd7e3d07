"""Rescoring and OKS-NMS (pure functions) on hand-computed cases."""
import numpy as np
import pytest

from tracker.image_eval.rescoring import oks_nms, oks_overlap, rescore, soft_oks_nms

SIGMAS = np.full(3, 0.1)


@pytest.mark.parametrize("scores,box,expected", [
    ([0.3, 0.9, 0.1], 0.5, 0.5 * (0.3 + 0.9) / 2),        # 0.1 is not above vis_thr
    ([0.1, 0.15, 0.0], 1.0, 0.0),                          # none above: score 0
    ([0.19999, 0.2, 0.1], 1.0, float(np.float32(0.2))),    # float32(0.2) > 0.2 in float64,
                                                           # as numpy 1.x compares scalars
    ([1.0, 1.0, 1.0], 0.25, 0.25),
])
def test_rescore(scores, box, expected):
    out = rescore(np.array([scores], np.float32), np.array([box], np.float32), 0.2)
    assert out.dtype == np.float64 and out[0] == pytest.approx(expected, rel=1e-7)


def test_rescore_accumulates_in_float64_in_joint_order():
    scores = np.float32([0.7, 0.30000001, 0.9])
    expected = ((0.0 + float(scores[0]) + float(scores[1])) + float(scores[2])) / 3
    assert rescore(scores[None], np.float32([1.0]), 0.2)[0] == expected


def _person(x, y, score=1.0):
    return np.array([[x, y, score], [x + 10, y, score], [x, y + 10, score]], np.float32)


def test_oks_overlap_is_one_for_identical_and_falls_with_distance():
    anchor = _person(0, 0)
    others = np.stack([_person(0, 0), _person(2, 0), _person(50, 50)])
    oks = oks_overlap(anchor, others, np.float32(100), np.float32([100, 100, 100]), SIGMAS)
    assert oks.dtype == np.float32
    assert oks[0] == 1.0 and 0.5 < oks[1] < 1.0 and oks[2] < 1e-6
    # e = d^2 / (2 sigma)^2 / area / 2 with area = mean of both areas
    assert oks[1] == pytest.approx(np.exp(-4 / 0.04 / 100 / 2), rel=1e-6)


def test_oks_nms_keeps_the_best_of_each_cluster_in_score_order():
    keypoints = np.stack([_person(0, 0), _person(0.1, 0), _person(100, 0), _person(0, 0.2)])
    scores = np.array([0.5, 0.9, 0.7, 0.1])
    areas = np.float32([1e4] * 4)
    assert oks_nms(keypoints, scores, areas, SIGMAS, 0.9).tolist() == [1, 2]
    assert oks_nms(keypoints, scores, areas, SIGMAS, 1.0).tolist() == [1, 2, 0, 3]
    assert oks_nms(keypoints[:0], scores[:0], areas[:0], SIGMAS, 0.9).tolist() == []


def test_soft_oks_nms_decays_instead_of_dropping():
    keypoints = np.stack([_person(0, 0), _person(0.1, 0), _person(100, 0)])
    scores = np.array([0.9, 0.8, 0.5])
    areas = np.float32([1e4] * 3)
    keep = soft_oks_nms(keypoints, scores, areas, SIGMAS, 0.9)
    assert keep.tolist() == [0, 2, 1]            # the near-duplicate falls below the far person
    assert soft_oks_nms(keypoints, scores, areas, SIGMAS, 0.9, max_dets=2).tolist() == [0, 2]
