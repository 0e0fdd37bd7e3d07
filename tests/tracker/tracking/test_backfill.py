"""Backfill: tentative tracks written from their first frame once confirmed (literal results,
no shared data)."""
import numpy as np
import pytest

from tests.tracker.tracking.test_robust_tracker import frame_at, frame_poses, make, person
from tracker.tracking.backfill import Backfill, backfill_results, backfilled, tentative_of
from tracker.types import FrameResult, Poses, TentativePoses


def _poses(*xs) -> Poses:
    return frame_poses(*[person(x, 100) for x in xs])


def _result(index, written=(), tentative=(), confirmed=None) -> FrameResult:
    """Frame ``index``: people at x in ``written`` (ids 0, 1, ...), and tentative ones, as
    (x, key) pairs."""
    held = TentativePoses(poses=_poses(*[x for x, _ in tentative]),
                          track_keys=np.array([k for _, k in tentative], np.int64)) \
        if tentative else None
    return FrameResult(index=index, name=str(index), poses=_poses(*written),
                       track_ids=np.arange(len(written), dtype=np.int64), tentative=held,
                       confirmed=confirmed or {})


def _ids(results) -> list[list[int]]:
    return [r.track_ids.tolist() for r in results]


def test_a_confirmed_track_is_written_from_its_first_frame_and_a_dead_one_never():
    results = [_result(0, [50], [(200, 7)]),
               _result(1, [52], [(202, 7), (300, 8)]),            # key 8 dies tentative
               _result(2, [54, 204], confirmed={7: 1})]            # key 7 confirmed as id 1
    held, out = Backfill(delay=2), []
    for result in results:
        out += [r for _, r in held.push(result.index, result)]
        if result.index < 2:
            assert out == []                                       # held 2 frames
    out += [r for _, r in held.flush()]
    assert _ids(out) == [[0, 1], [0, 1], [0, 1]]
    np.testing.assert_allclose(out[1].poses.keypoints[1], _poses(202).keypoints[0])
    assert all(r.tentative is None and r.confirmed == {} for r in out)
    assert _ids(backfill_results(results)) == _ids(out)


def test_a_delay_shorter_than_the_confirmation_loses_the_oldest_tentative_frames():
    results = [_result(0, [], [(200, 7)]), _result(1, [], [(202, 7)]),
               _result(2, [204], confirmed={7: 0})]
    held = Backfill(delay=1)
    out = [r for result in results for _, r in held.push(None, result)] + \
        [r for _, r in held.flush()]
    assert _ids(out) == [[], [0], [0]]


def test_backfilled_closes_the_stream_it_reads():
    closed = []

    def stream():
        try:
            for index in range(5):
                yield index, _result(index, [50])
        finally:
            closed.append(True)

    pairs = backfilled(stream(), delay=2)
    assert next(pairs)[0] == 0
    pairs.close()
    assert closed == [True]


def test_a_bad_delay_names_itself():
    with pytest.raises(ValueError, match="delay"):
        Backfill(delay=-1)


def test_the_robust_tracker_writes_a_new_person_from_their_first_frame():
    """Person A from the start; B appears at frame 5 and stays; a ghost at frames 8-9 only.
    With min_hits 3, B is confirmed at frame 7 and written from frame 5; the ghost never."""
    tracker = make(min_hits=3)
    held, out = Backfill(tracker.confirmation_delay), []
    for index in range(12):
        people = [person(50 + 2 * index, 100)]
        if index >= 5:
            people.append(person(200, 100 + index))
        if index in (8, 9):
            people.append(person(280, 60))
        poses = frame_poses(*people)
        track_ids = tracker.update(poses, frame=frame_at(index))
        kept = track_ids >= 0
        tentative, confirmed = tentative_of(tracker, poses)
        out += [r for _, r in held.push(None, FrameResult(
            index=index, name=str(index), poses=poses[kept], track_ids=track_ids[kept],
            tentative=tentative, confirmed=confirmed))]
    out += [r for _, r in held.flush()]
    assert tracker.confirmation_delay == 9      # weak_min_hits 10 - 1
    assert _ids(out) == [[0]] * 5 + [[0, 1]] * 7
    assert all(np.all(r.poses.keypoints[:, 0, 0] < 270) for r in out)   # no ghost written


def test_a_stop_comes_after_the_held_results():
    def stream():
        for index in range(3):
            yield index, _result(index, [50])
        raise KeyboardInterrupt

    seen = []
    with pytest.raises(KeyboardInterrupt):
        for index, _ in backfilled(stream(), delay=2):
            seen.append(index)
    assert seen == [0, 1, 2]
