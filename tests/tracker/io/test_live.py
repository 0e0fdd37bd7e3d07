"""LatestFrameReader (newest frame only, pacing, end and errors, stopping) and the live
FPS/latency helpers, with fake sources: no camera, no video file."""
import time

import numpy as np
import pytest

from tracker.io.live import LatencyStats, LatestFrameReader, RateMeter, RealTimeRecorder
from tracker.types import Frame

IMAGE = np.zeros((4, 6, 3), np.uint8)


class FakeSource:
    """``count`` frames, ``interval_s`` apart (None: as fast as possible), then maybe ``error``."""

    def __init__(self, count, interval_s=None, error=None, fps=100.0):
        self.count, self.interval_s, self.error, self.fps = count, interval_s, error, fps
        self.name = "fake"

    def __iter__(self):
        for index in range(self.count):
            if self.interval_s:
                time.sleep(self.interval_s)
            yield Frame(index, IMAGE, f"{index:06d}", index / self.fps)
        if self.error is not None:
            raise self.error


class EndlessSource(FakeSource):
    def __init__(self, interval_s=0.001):
        super().__init__(0, interval_s)

    def __iter__(self):
        index = 0
        while True:
            time.sleep(self.interval_s)
            yield Frame(index, IMAGE, f"{index:06d}")
            index += 1


def _drain(reader, work_s=0.0):
    taken = []
    for captured in reader:
        taken.append(captured.frame.index)
        time.sleep(work_s)
    return taken


def test_a_slow_consumer_gets_fresh_frames_and_the_stale_ones_are_dropped():
    with LatestFrameReader(FakeSource(200, interval_s=0.001)) as reader:
        taken = _drain(reader, work_s=0.02)
    assert 2 <= len(taken) < 60                       # ~0.25 s of frames, 20 ms per frame taken
    assert taken == sorted(taken) and len(set(taken)) == len(taken)
    assert taken[-1] == 199                           # the newest frame is never lost at the end
    assert reader.frames_read == 200
    assert reader.frames_delivered == len(taken)
    assert reader.frames_read == reader.frames_delivered + reader.frames_dropped
    assert reader.frames_dropped > 100


def test_drop_stale_false_hands_out_every_frame_in_order():
    with LatestFrameReader(FakeSource(30), drop_stale=False) as reader:
        taken = _drain(reader, work_s=0.002)
    assert taken == list(range(30))
    assert (reader.frames_read, reader.frames_dropped) == (30, 0)


def test_the_consumer_sees_each_frame_at_most_once_and_counts_add_up_while_running():
    reader = LatestFrameReader(EndlessSource()).start()
    seen = [reader.get(timeout=1.0).frame.index for _ in range(20)]
    assert len(set(seen)) == 20 and seen == sorted(seen)
    pending = 1 if reader.get(timeout=0) is not None else 0   # takes a pending frame, if any
    assert reader.stop()
    assert reader.frames_read == reader.frames_delivered + reader.frames_dropped
    assert reader.frames_delivered == 20 + pending


def test_pace_releases_file_frames_at_the_source_frame_rate():
    source = FakeSource(11, fps=50.0)                  # 10 intervals of 20 ms
    with LatestFrameReader(source, pace=True, drop_stale=False) as reader:
        captured = list(reader)
    elapsed = captured[-1].captured_at - captured[0].captured_at
    assert 0.2 <= elapsed < 0.45
    gaps = np.diff([c.captured_at for c in captured])
    assert gaps.min() >= 0.015                         # never early
    assert [c.number for c in captured] == list(range(1, 12))


def test_pace_with_an_explicit_rate_and_bad_rates():
    with LatestFrameReader(FakeSource(6), pace=True, fps=100.0, drop_stale=False) as reader:
        captured = list(reader)
    assert 0.05 <= captured[-1].captured_at - captured[0].captured_at < 0.25
    for fps in (0, -1.0, float("nan"), None):
        source = FakeSource(1)
        source.fps = fps
        with pytest.raises(ValueError, match="pace=True needs a frame rate > 0.*'fake'"):
            LatestFrameReader(source, pace=True)


def test_end_of_source_returns_none_and_ended():
    reader = LatestFrameReader(FakeSource(3), drop_stale=False)
    assert [reader.get(timeout=1.0).frame.index for _ in range(3)] == [0, 1, 2]
    assert reader.get(timeout=1.0) is None
    assert reader.ended
    assert reader.get() is None                        # and stays so, without blocking
    reader.stop()


def test_an_empty_source_ends_at_once():
    with LatestFrameReader(FakeSource(0)) as reader:
        assert reader.get(timeout=1.0) is None and reader.ended
    assert reader.frames_read == 0


def test_a_timeout_returns_none_while_the_source_is_still_live():
    with LatestFrameReader(FakeSource(2, interval_s=0.5)) as reader:
        started = time.perf_counter()
        assert reader.get(timeout=0.05) is None
        assert time.perf_counter() - started < 0.4
        assert not reader.ended


def test_a_source_error_is_raised_after_the_frames_read_before_it():
    error = OSError("camera unplugged")
    reader = LatestFrameReader(FakeSource(3, error=error), drop_stale=False)
    assert [reader.get(timeout=1.0).frame.index for _ in range(3)] == [0, 1, 2]
    with pytest.raises(OSError, match="camera unplugged") as raised:
        reader.get(timeout=1.0)
    assert raised.value is error and reader.error is error
    assert reader.ended
    reader.stop()


def test_stop_joins_the_thread_of_a_source_that_never_ends():
    reader = LatestFrameReader(EndlessSource())
    with reader:
        assert reader.get(timeout=1.0) is not None
        thread = reader._thread
    assert not thread.is_alive()
    assert reader.frames_read == reader.frames_delivered + reader.frames_dropped


def test_stop_releases_a_thread_waiting_for_the_consumer_and_one_pacing():
    for options in ({"drop_stale": False}, {"pace": True, "fps": 0.5}):
        reader = LatestFrameReader(FakeSource(5), **options).start()
        time.sleep(0.05)                               # the thread now waits
        started = time.perf_counter()
        assert reader.stop(timeout=2.0)
        assert time.perf_counter() - started < 1.0
        assert reader.frames_read == reader.frames_delivered + reader.frames_dropped


def test_stop_before_start_and_twice_is_harmless():
    reader = LatestFrameReader(FakeSource(3))
    assert reader.stop()
    assert reader.stop()


def test_rate_meter_over_a_sliding_window():
    meter = RateMeter(window_s=1.0)
    assert meter.rate() == 0.0
    for i in range(21):
        meter.tick(now=i * 0.1)                        # 10 per second for 2 s
    assert meter.rate() == pytest.approx(10.0)
    for i in range(1, 6):
        meter.tick(now=2.0 + i * 0.5)                  # then 2 per second
    assert meter.rate() == pytest.approx(2.0)
    meter.tick(now=10.0)                               # one tick after a long gap still rates
    assert meter.rate() == pytest.approx(1 / 5.5)
    assert meter.count == 27
    with pytest.raises(ValueError, match="window_s must be > 0"):
        RateMeter(window_s=0)


def test_latency_percentiles_in_milliseconds():
    stats = LatencyStats()
    assert stats.percentile_ms(50) is None and stats.last_ms is None
    for seconds in [0.01 * i for i in range(1, 101)]:  # 10 ms .. 1000 ms
        stats.add(seconds)
    assert len(stats) == 100
    assert stats.percentile_ms(50) == pytest.approx(505.0)
    assert stats.percentile_ms(95) == pytest.approx(950.5)
    assert stats.last_ms == pytest.approx(1000.0)
    with pytest.raises(ValueError, match="percentile must be in"):
        stats.percentile_ms(101)


def _gray_levels(path):
    import cv2
    capture, levels = cv2.VideoCapture(str(path)), []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        levels.append(int(round(image.mean() / 40)))
    capture.release()
    return levels


def _shade(level):
    return np.full((48, 64, 3), 40 * level, np.uint8)


def test_real_time_recorder_holds_each_image_until_the_next_one(tmp_path):
    path = tmp_path / "live.mp4"
    recorder = RealTimeRecorder(path, fps=10.0)
    for level, shown_at in ((0, 100.0), (1, 100.36), (2, 100.37), (3, 101.0)):
        recorder.add(_shade(level), shown_at)   # shown 0.36 s, 0.01 s (dropped), 0.63 s ...
    recorder.close(ended_at=101.2)              # ... and the last one 0.2 s
    assert _gray_levels(path) == [0] * 4 + [2] * 6 + [3] * 2
    assert recorder.frames_added == 4 and recorder.duration_s == pytest.approx(1.2)


def test_real_time_recorder_with_a_files_own_times_writes_every_frame_once(tmp_path):
    path = tmp_path / "file.mp4"
    recorder = RealTimeRecorder(path, fps=29.97)
    for index in range(6):          # index / fps, and a decoder's millisecond times
        recorder.add(_shade(index), round(index / 29.97, 3) + 0.0004 * (-1) ** index)
    recorder.close()
    assert _gray_levels(path) == list(range(6))


def test_real_time_recorder_errors_and_an_empty_session(tmp_path):
    with pytest.raises(ValueError, match="fps"):
        RealTimeRecorder(tmp_path / "x.mp4", fps=0)
    recorder = RealTimeRecorder(tmp_path / "x.mp4", fps=10.0)
    recorder.close(ended_at=5.0)
    assert list(tmp_path.iterdir()) == [] and recorder.frames_written == 0
    recorder = RealTimeRecorder(tmp_path / "y.mp4", fps=10.0)
    recorder.add(_shade(1), 2.0)
    with pytest.raises(ValueError, match="must not go back"):
        recorder.add(_shade(2), 1.0)
    recorder.close(ended_at=1.0)                # before the last image: written once
    assert _gray_levels(tmp_path / "y.mp4") == [1]
