"""Pure motion functions of tracker.tracking.track_state on literal arrays."""
import numpy as np
import pytest

from tracker.tracking.track_state import TrackState, pose_centres, within_reach


def test_pose_centres_are_the_found_joints_mean_or_the_box_centre():
    keypoints = np.array([[[0, 0], [10, 20], [np.nan, np.nan]], [[5, 5], [7, 7], [9, 9]]])
    scores = np.array([[0.9, 0.9, 0.9], [0.1, 0.1, 0.1]])
    boxes = np.array([[0, 0, 4, 4], [10, 10, 30, 50]])
    np.testing.assert_allclose(pose_centres(keypoints, scores, boxes, 0.2), [[5, 10], [20, 30]])


def test_within_reach_grows_with_time_unseen():
    tracks = np.array([[0.0, 0.0], [100.0, 0.0]])
    poses = np.array([[30.0, 0.0], [100.0, 50.0]])
    # track 0: body size 10, reach 2 -> 20 px when just lost, 2 * (1 + 4 * 0.5) * 10 = 60 px
    # after 0.5 s; track 1: body size 20 -> 40 px, the pose at 50 px is out of reach
    got = within_reach(tracks, poses, np.array([10.0, 20.0]), np.array([0.0, 0.0]), 2.0, 4.0)
    assert got.tolist() == [[False, False], [False, False]]
    got = within_reach(tracks, poses, np.array([10.0, 20.0]), np.array([0.5, 0.0]), 2.0, 4.0)
    assert got.tolist() == [[True, False], [False, False]]
    assert within_reach(tracks, poses, np.ones(2), np.zeros(2), 0.0, 4.0).all()


def _track(**changes) -> TrackState:
    return TrackState.started(7, np.zeros((2, 2)), np.ones(2), area=100.0,
                              box_xyxy=np.array([0, 0, 10, 10]), box_score=0.9, now_s=1.0,
                              strong=False, descriptor=changes.pop("descriptor", None))


def test_a_started_track_remembers_a_known_appearance_only():
    assert _track().appearance is None
    assert _track(descriptor=np.zeros(4)).appearance is None
    track = _track(descriptor=np.array([0.5, 0, 0, 0.5]))
    assert track.appearance_count == 1 and track.appearance.tolist() == [0.5, 0, 0, 0.5]
    assert not track.confirmed and track.hits == 1 and track.uid == 7


@pytest.mark.parametrize("velocity, expected", [(None, [2.0, 0.0]), ((10.0, 0.0), [6.0, 0.0])])
def test_observe_blends_a_measured_velocity_and_counts_hits(velocity, expected):
    track = _track()
    track.velocity_xy = np.array([2.0, 0.0])
    track.frames_unseen = 3
    track.observe(np.ones((2, 2)), np.full(2, 0.5), area=50.0,
                  box_xyxy=np.array([1, 1, 11, 11]), box_score=0.4, now_s=2.0, strong=True,
                  velocity_xy=None if velocity is None else np.array(velocity),
                  velocity_smoothing=0.5)
    np.testing.assert_allclose(track.velocity_xy, expected)
    assert track.hits == 1 and track.frames_unseen == 0 and track.last_seen_s == 2.0
    assert track.strong and track.area == 50.0 and track.predicted is track.keypoints
    track.observe(np.ones((2, 2)), np.full(2, 0.5), area=50.0, box_xyxy=np.ones(4),
                  box_score=0.2, now_s=2.1, strong=False, velocity_xy=None,
                  velocity_smoothing=0.5)
    assert track.hits == 2 and track.strong      # once strong, always strong
