"""Duplicate poses and duplicate tracks (tracker.tracking.merging) on literal poses."""
import numpy as np

from tests.tracker.tracking.test_robust_tracker import SIGMAS, TEMPLATE
from tracker.tracking.merging import DuplicateTracks, duplicated_by
from tracker.tracking.track_state import TrackState


def _track(uid, track_id, x):
    keypoints = TEMPLATE + [x, 100]
    return TrackState(uid=uid, keypoints=keypoints, predicted=keypoints,
                      scores=np.full(17, 0.9, np.float32), area=4000.0,
                      box_xyxy=np.array([x - 20, 50, x + 20, 150], np.float64), box_score=0.9,
                      last_seen_s=0.0, track_id=track_id)


def test_a_pose_over_a_taken_one_is_a_duplicate_and_a_pose_apart_is_not():
    keypoints = np.stack([TEMPLATE + [100, 100], TEMPLATE + [101, 100], TEMPLATE + [200, 100]])
    scores = np.full((3, 17), 0.9)
    areas = np.full(3, 4000.0)
    assert duplicated_by(keypoints, scores, areas, [0], SIGMAS, 0.8, 0.2).tolist() == \
        [False, True, False]
    assert not duplicated_by(keypoints, scores, areas, [], SIGMAS, 0.8, 0.2).any()


def test_the_younger_of_two_tracks_on_one_pose_is_retired_after_the_frames_in_a_row():
    duplicates = DuplicateTracks(sigmas=SIGMAS, min_oks=0.8, frames=3, min_score=0.2)
    old, young, apart = _track(0, 0, 100), _track(1, 1, 101), _track(2, 2, 200)
    assert duplicates.younger_duplicates([young, old, apart]) == []
    assert duplicates.younger_duplicates([young, old, apart]) == []
    assert duplicates.younger_duplicates([old, apart]) == []          # apart: count restarts
    assert duplicates.younger_duplicates([young, old]) == []
    assert duplicates.younger_duplicates([young, old]) == []
    assert duplicates.younger_duplicates([young, old]) == [young]

