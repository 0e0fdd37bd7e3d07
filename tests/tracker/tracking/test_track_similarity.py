"""TrackSimilarity on literal tracks and poses: the widened gate, the revival mask and the
appearance blend within reach (no shared data)."""
import numpy as np
import pytest

from tracker.tracking.track_similarity import TrackSimilarity
from tracker.tracking.track_state import TrackState
from tracker.types import Poses

SIGMAS = np.full(3, 0.08)
SHAPE = np.array([[0.0, -20.0], [-10.0, 20.0], [10.0, 20.0]])   # 3 joints around a centre


def track(x, *, last_seen_s=0.0, appearance=None) -> TrackState:
    return TrackState.started(0, SHAPE + [x, 100.0], np.ones(3), area=40.0 ** 2,
                               box_xyxy=np.array([x - 20, 70, x + 20, 130]), box_score=0.9,
                               now_s=last_seen_s, strong=True, descriptor=appearance)


def poses(*xs) -> Poses:
    keypoints = np.stack([SHAPE + [x, 100.0] for x in xs])
    boxes = np.array([[x - 20, 70, x + 20, 130] for x in xs], np.float32)
    return Poses(keypoints=keypoints, keypoint_scores=np.ones((len(xs), 3), np.float32),
                 boxes_xyxy=boxes, box_scores=np.full(len(xs), 0.9, np.float32))


def similarity(tracks, found, *, lost, revives=None, descriptors=None, gate_growth=1.0,
               reach=2.0, now_s=1.0):
    rules = TrackSimilarity(sigmas=SIGMAS, keypoint_score_threshold=0.2,
                            gate_growth=gate_growth, appearance_weight=0.5,
                            appearance_reach=reach, max_speed=0.0)
    revives = np.ones((len(tracks), len(found)), bool) if revives is None else revives
    return rules(tracks, found, pose_areas=np.full(len(found), 40.0 ** 2), lost=np.array(lost),
                 revives=revives, descriptors=descriptors, now_s=now_s)


def test_the_gate_of_a_lost_track_widens_with_time_unseen():
    found = poses(115)
    visible = similarity([track(100)], found, lost=[False])[0, 0]
    lost = similarity([track(100)], found, lost=[True])[0, 0]
    no_growth = similarity([track(100)], found, lost=[True], gate_growth=0.0)[0, 0]
    assert no_growth == pytest.approx(visible) and lost > visible


def test_a_pose_that_may_not_revive_a_lost_track_scores_zero_for_it_only():
    found = poses(100)
    revives = np.array([[False], [False]])
    got = similarity([track(100), track(100)], found, lost=[True, False], revives=revives)
    assert got[0, 0] == 0.0 and got[1, 0] > 0.9


@pytest.mark.parametrize("reach, blended", [(2.0, [True, False]), (0.0, [True, True])])
def test_appearance_blends_in_for_a_lost_track_within_reach_only(reach, blended):
    red = np.array([1.0, 0.0], np.float32)
    found = poses(130, 200)      # 30 px and 100 px from the track; reach 2 x 40 px = 80 px
    tracks = [track(100, appearance=red)]
    plain = similarity(tracks, found, lost=[True], reach=reach)
    mixed = similarity(tracks, found, lost=[True], reach=reach,
                       descriptors=np.stack([red, red]))
    assert (plain > 0).all()
    assert (mixed[0] != plain[0]).tolist() == blended
    np.testing.assert_allclose(mixed[0, 0], 0.5 * plain[0, 0] + 0.5 * 1.0)
    visible = similarity(tracks, found, lost=[False], descriptors=np.stack([red, red]))
    np.testing.assert_allclose(visible, similarity(tracks, found, lost=[False]))
