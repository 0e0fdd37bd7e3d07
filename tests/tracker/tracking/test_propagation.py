"""Box propagation between detection and pose: merging, candidate limits, pose NMS (literal
arrays, no shared data)."""
import numpy as np
import pytest

from tracker.pose.zoo import keypoint_sets
from tracker.tracking.propagation import (Candidates, best_candidates, merge_boxes,
                                          pose_confidence, pose_nms, select_poses)
from tracker.types import Detections, Poses

SIGMAS = np.array(keypoint_sets()["coco"].oks_sigmas)


def test_merge_keeps_detections_and_fills_in_missed_people():
    detected = Detections(boxes_xyxy=[[0, 0, 10, 10], [2, 0, 12, 10]], scores=[0.9, 0.4])
    propagated = np.array([[0, 0, 10, 11],       # duplicate of detection 0 -> dropped
                           [50, 50, 60, 60],     # a person the detector missed -> kept
                           [51, 50, 61, 60],     # duplicate of the previous, lower score
                           [np.nan] * 4], np.float32)
    candidates = merge_boxes(detected, propagated, [0.8, 0.7, 0.6, 0.9], 0.5)
    # detector boxes are never suppressed, even when they overlap each other
    assert candidates.propagated_row.tolist() == [-1, -1, 1]
    assert candidates.is_propagated.tolist() == [False, False, True]
    np.testing.assert_allclose(candidates.boxes_xyxy[2], [50, 50, 60, 60])
    np.testing.assert_allclose(candidates.scores, [0.9, 0.4, 0.7])


def test_merge_threshold_one_keeps_every_finite_box():
    detected = Detections(boxes_xyxy=[[0, 0, 10, 10]], scores=[0.9])
    assert merge_boxes(detected, [[0, 0, 10, 10]], [0.5], 1.0).propagated_row.tolist() == [-1, 0]
    empty = merge_boxes(Detections.empty(), np.zeros((0, 4)), np.zeros(0), 0.5)
    assert len(empty) == 0 and empty.boxes_xyxy.shape == (0, 4)


def _poses(keypoints, scores=None):
    keypoints = np.asarray(keypoints, np.float32)
    n = len(keypoints)
    scores = np.full((n, 17), 0.9) if scores is None else scores
    low, high = keypoints.min(axis=1), keypoints.max(axis=1)
    return Poses(keypoints=keypoints, keypoint_scores=scores,
                 boxes_xyxy=np.concatenate([low, high], axis=1), box_scores=np.ones(n))


def test_pose_nms_removes_the_same_person_posed_twice():
    rng = np.random.default_rng(0)
    person = rng.uniform(100, 300, (17, 2))
    other = person + 400
    poses = _poses([person, person + 1.0, other])
    keep = pose_nms(poses, np.array([0.5, 0.9, 0.7]), SIGMAS, 0.7, 0.2)
    assert keep.tolist() == [1, 2]          # best-scored duplicate survives, order by score
    assert pose_nms(poses, np.ones(3), SIGMAS, 1.0, 0.2).tolist() == [0, 1, 2]


def test_pose_confidence_ignores_low_keypoints():
    scores = np.array([[0.9, 0.1, 0.7], [0.1, 0.1, 0.1]])
    np.testing.assert_allclose(pose_confidence(scores, 0.2), [0.8, 0.0])




def test_best_candidates_takes_detector_boxes_by_score_then_propagated():
    candidates = Candidates(boxes_xyxy=np.arange(20).reshape(5, 4),
                            scores=[0.4, 0.9, 0.99, 0.6, 0.95],
                            propagated_row=[-1, -1, 0, -1, 1])
    assert best_candidates(candidates, 2).scores.tolist() == pytest.approx([0.9, 0.6])
    assert best_candidates(candidates, 4).propagated_row.tolist() == [-1, -1, -1, 0]
    assert best_candidates(candidates, 0) is candidates     # 0: no limit
    assert best_candidates(candidates, 9) is candidates


def test_candidates_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="2 boxes, 1 scores and 2 rows"):
        Candidates(boxes_xyxy=np.zeros((2, 4)), scores=[1.0], propagated_row=[-1, 0])


def test_select_poses_drops_empty_propagated_boxes_and_duplicates():
    rng = np.random.default_rng(1)
    person = rng.uniform(100, 300, (17, 2))
    scores = np.full((4, 17), 0.9)
    scores[3] = 0.1                                  # nobody left in propagated box 3
    poses = _poses([person, person + 0.5, person + 500, person + 900], scores)
    candidates = Candidates(boxes_xyxy=poses.boxes_xyxy, scores=[0.8, 0.9, 0.7, 0.9],
                            propagated_row=[-1, 0, 1, 2])
    keep = select_poses(poses, candidates, oks_sigmas=SIGMAS, keypoint_threshold=0.2,
                        min_propagated_pose_score=0.3, duplicate_oks_threshold=0.7)
    assert keep.tolist() == [0, 2]      # 1 duplicates 0 (a detector box ranks by box score)
    # a detector box is never dropped for low keypoint scores
    candidates.propagated_row[3] = -1
    keep = select_poses(poses, candidates, oks_sigmas=SIGMAS, keypoint_threshold=0.2,
                        min_propagated_pose_score=0.3, duplicate_oks_threshold=0.7)
    assert keep.tolist() == [0, 2, 3]
