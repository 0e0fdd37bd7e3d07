"""benchmarks/video_variants.py: the frame transforms and the identity metrics, on literals."""
import numpy as np
import pytest

from benchmarks import video_variants as vv
from tracker.types import Frame, FrameResult, Poses


def _frames(count: int, width: int = 12, height: int = 4, fps: float = 10.0) -> list[Frame]:
    return [Frame(i, np.full((height, width, 3), 200, np.uint8), f"{i:06d}", i / fps)
            for i in range(count)]


def _result(index: int, ids: list[int], boxes_xyxy: list[list[float]] | None = None):
    n = len(ids)
    boxes = np.asarray(boxes_xyxy if boxes_xyxy is not None
                       else [[10.0 * k, 0, 10.0 * k + 5, 5] for k in range(n)],
                       np.float32).reshape(n, 4)
    poses = Poses(keypoints=np.zeros((n, 17, 2), np.float32),
                  keypoint_scores=np.ones((n, 17), np.float32), boxes_xyxy=boxes,
                  box_scores=np.ones(n, np.float32))
    return FrameResult(index=index, name=f"{index:06d}", poses=poses,
                       track_ids=np.asarray(ids, np.int64))


def _grey_columns(frame: Frame) -> list[int]:
    return np.flatnonzero((frame.image == vv.BAR_VALUE).all(axis=(0, 2))).tolist()


def test_clean_returns_the_frames_unchanged():
    frames = _frames(3)
    out = list(vv.apply(vv.Clean(), frames, vv.Clip(3, 10.0)))
    assert out == frames


def test_grey_bar_sweeps_left_to_right_and_leaves_the_input_alone():
    frames = _frames(5, width=12)
    out = list(vv.apply(vv.GreyBar(width_fraction=1 / 6), frames, vv.Clip(5, 10.0)))
    # bar 2 px wide; x1 = round(phase * 14) - 2 for phase 0, 1/4, 1/2, 3/4, 1 (round: half to even)
    assert [_grey_columns(f) for f in out] == [[], [2, 3], [5, 6], [8, 9], []]
    assert all((f.image == 200).all() for f in frames)
    assert [(f.index, f.name, f.timestamp_s) for f in out] == \
        [(f.index, f.name, f.timestamp_s) for f in frames]


def test_grey_bar_with_a_period_repeats():
    bar = vv.GreyBar(width_fraction=0.5, sweep_s=1.0)
    clip = vv.Clip(40, 10.0)
    assert bar.bar_x(0, clip, 10) == (-5, 0)
    assert bar.bar_x(5, clip, 10) == bar.bar_x(15, clip, 10) == (3, 8)
    assert bar.bar_x(10, clip, 10) == (-5, 0)


def test_black_frames_are_exactly_the_chosen_positions():
    frames = _frames(10)
    out = list(vv.apply(vv.BlackFrames(count=3, at_fraction=0.4), frames, vv.Clip(10, 10.0)))
    black = [f.index for f in out if not f.image.any()]
    assert black == [4, 5, 6]
    assert all((f.image == 200).all() for f in out if f.index not in black)
    assert [f.timestamp_s for f in out] == [f.timestamp_s for f in frames]


def test_black_frames_in_seconds_follow_the_frame_rate():
    assert vv.BlackFrames(seconds=0.5, at_fraction=0.4).positions(vv.Clip(100, 30.0)) == \
        range(40, 55)
    assert vv.BlackFrames(count=4, at_fraction=0.9).positions(vv.Clip(10, 30.0)) == range(9, 10)


def test_every_2nd_keeps_even_positions_with_true_timestamps():
    frames = _frames(7)
    transform = vv.EveryNth(2)
    out = list(vv.apply(transform, frames, vv.Clip(7, 10.0)))
    assert [f.index for f in out] == [0, 2, 4, 6]
    assert [f.timestamp_s for f in out] == [0.0, 0.2, 0.4, 0.6]
    assert transform.fps(30.0) == 15.0


def test_transforms_table_has_the_issue_variants():
    assert {"clean", "grey_bar", "black_frames", "black_0.5s", "every_2nd"} <= set(vv.TRANSFORMS)


RESULTS = [_result(0, [1, 2]), _result(1, [1, 2]), _result(2, [1, 3]), _result(3, [1, 4]),
           _result(4, [1, 4]), _result(5, [1, 4])]


def test_ids_per_person_and_short_tracks():
    assert vv.ids_per_person(RESULTS, 2) == 2.0
    assert vv.short_tracks(RESULTS) == 3  # ids 2 (2 frames), 3 (1) and 4 (3); id 1 has 6
    assert vv.short_tracks(RESULTS, max_frames=2) == 2
    assert vv.short_tracks(RESULTS, max_frames=1) == 1


def test_coverage_is_the_mean_span_of_the_cast_longest_tracks():
    assert vv.track_spans(RESULTS) == {1: 6, 2: 2, 3: 1, 4: 3}
    assert vv.coverage(RESULTS, 2) == pytest.approx((6 + 3) / 12)
    assert vv.coverage(RESULTS, 1) == 1.0
    assert vv.coverage(RESULTS, 5) == pytest.approx((6 + 3 + 2 + 1 + 0) / 30)
    assert vv.coverage([], 2) == 0.0


def test_coverage_counts_a_gap_inside_a_track():
    results = [_result(0, [7]), _result(1, []), _result(2, []), _result(3, [7])]
    assert vv.coverage(results, 1) == 1.0


def test_duplicate_frames_count_frames_with_two_heavily_overlapping_boxes():
    results = [_result(0, [1, 2], [[0, 0, 10, 10], [0, 0, 10, 11]]),   # IoU 0.91
               _result(1, [1, 2], [[0, 0, 10, 10], [0, 0, 10, 20]]),   # IoU 0.5
               _result(2, [1, 2, 3], [[0, 0, 10, 10], [50, 0, 60, 10], [50, 0, 60, 10]]),
               _result(3, [], [])]
    assert vv.duplicate_frames(results) == 2
    assert vv.people_per_frame(results) == pytest.approx(7 / 4)


def test_row_has_one_column_per_header_column():
    line = vv.row("paper", RESULTS, 2, 1.5)
    assert len(line.split()) == len(vv.HEADER.split()) - 1  # "dup fr" is two words
    assert line.split()[1:4] == ["4", "2.00", "3"]


def test_main_rejects_an_unknown_video_and_an_empty_variant_filter(capsys):
    with pytest.raises(SystemExit) as unknown:
        vv.main(["--videos", "nope.mp4"])
    assert unknown.value.code == 2
    with pytest.raises(SystemExit) as empty:
        vv.main(["--only", "no such variant"])
    assert empty.value.code == 2
    assert "no variant name contains" in capsys.readouterr().err
