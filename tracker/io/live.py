"""Live input: a capture thread that always hands out the newest frame, and live statistics.

    with open_source(0) as source, LatestFrameReader(source) as reader:
        while (captured := reader.get()) is not None:      # None: the source ended
            result = pipeline(captured.frame)
            latency.add(time.perf_counter() - captured.captured_at)
    reader.frames_read, reader.frames_dropped            # dropped: replaced before handed out

A camera keeps producing frames whether or not anyone reads them. When processing is slower
than the camera, a plain ``for frame in source`` loop falls further and further behind (the
driver queues frames); ``LatestFrameReader`` reads on its own thread and keeps only the newest
unseen frame, so the consumer always gets a fresh one and latency stays bounded. A video file
can stand in for a camera: ``pace=True`` releases its frames at the file's frame rate.
``drop_stale=False`` instead makes the thread wait for the consumer (every frame processed).

``RealTimeRecorder`` writes the frames shown at irregular times (whenever processing finished
one) to a constant-rate video that plays as long as the session lasted.

Nothing here opens windows; times are ``time.perf_counter()`` seconds.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from tracker.io.video_writer import VideoWriter, letterboxed
from tracker.types import Frame

__all__ = ["CapturedFrame", "LatestFrameReader", "LatencyStats", "RateMeter",
           "RealTimeRecorder"]

#: Seconds ``stop()`` waits for the capture thread (a stuck camera read may take longer; the
#: thread is a daemon, so it never keeps the process alive).
JOIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class CapturedFrame:
    """A frame and when the capture thread got it.

    Attributes:
        frame: the decoded frame (``Frame.index`` counts from the start of the source).
        captured_at: ``time.perf_counter()`` when the frame was read (after pacing).
        number: 1-based count of frames read up to and including this one.
    """

    frame: Frame
    captured_at: float
    number: int


class LatestFrameReader:
    """Reads a frame source on a thread and keeps only the newest frame not yet handed out.

    Args:
        source: any iterable of ``Frame`` (a ``tracker.io.video.FrameSource``); it is not closed
            here: close it after the reader (``with open_source(...) as s, Reader(s) as r``).
        pace: release frames at the source's rate, ``index / fps`` seconds after the first one
            (simulates a camera with a video file); frames are never released early, and a
            reader behind schedule does not wait.
        fps: the rate for ``pace``; None takes ``source.fps``.
        drop_stale: True (a camera): a new frame replaces one the consumer has not taken yet,
            which is counted in ``frames_dropped``. False: the thread waits until the consumer
            has taken the previous frame, so every frame is handed out.

    Counts, always consistent: ``frames_read == frames_delivered + frames_dropped +
    (1 if a frame is pending else 0)``; ``stop()`` counts a still pending frame as dropped.

    An exception raised by the source ends the reading; ``get`` hands out the frame read
    before it, then raises that exception (the original object, its traceback names the
    source's code).
    """

    def __init__(self, source, *, pace: bool = False, fps: Optional[float] = None,
                 drop_stale: bool = True) -> None:
        fps = getattr(source, "fps", None) if fps is None else fps
        if pace and not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"pace=True needs a frame rate > 0, got fps={fps!r} for "
                             f"{getattr(source, 'name', source)!r}")
        self.source = source
        self.pace, self.fps, self.drop_stale = pace, fps, drop_stale
        self.frames_read = self.frames_delivered = self.frames_dropped = 0
        self.error: Optional[BaseException] = None
        self._pending: Optional[CapturedFrame] = None
        self._ended = False
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"capture {getattr(source, 'name', source)}")
        self._started = False

    # -- consumer side -------------------------------------------------------------------
    def start(self) -> "LatestFrameReader":
        """Start the capture thread (``__enter__`` and the first ``get`` call this)."""
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    @property
    def ended(self) -> bool:
        """True once the source has no more frames (or failed) and the last one was taken."""
        with self._changed:
            return self._ended and self._pending is None

    def get(self, timeout: Optional[float] = None) -> Optional[CapturedFrame]:
        """The newest frame not handed out yet, waiting for one up to ``timeout`` seconds
        (None: as long as it takes).

        Returns None when the timeout passes first, or when the source has ended (then
        ``ended`` is True). Raises the source's exception once its frames are all taken.
        """
        self.start()
        with self._changed:
            if not self._changed.wait_for(lambda: self._pending is not None or self._ended,
                                          timeout):
                return None
            captured, self._pending = self._pending, None
            if captured is None:
                if self.error is not None:
                    raise self.error
                return None
            self.frames_delivered += 1
            self._changed.notify_all()
            return captured

    def __iter__(self) -> Iterator[CapturedFrame]:
        """Every frame handed out until the source ends (the ``get()`` loop)."""
        while (captured := self.get()) is not None:
            yield captured

    def stop(self, timeout: float = JOIN_TIMEOUT_S) -> bool:
        """Ask the thread to finish and wait for it; True when it has ended."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._started:
            self._thread.join(timeout)
        with self._changed:
            if self._pending is not None:
                self._pending = None
                self.frames_dropped += 1
        return not self._thread.is_alive()

    def __enter__(self) -> "LatestFrameReader":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- capture thread ------------------------------------------------------------------
    def _run(self) -> None:
        first_index: Optional[int] = None
        started = 0.0
        try:
            for frame in self.source:
                if first_index is None:
                    first_index, started = frame.index, time.perf_counter()
                elif self.pace:
                    due = started + (frame.index - first_index) / self.fps
                    if self._stop.wait(max(0.0, due - time.perf_counter())):
                        break
                if not self._hand_over(frame):
                    break
        except Exception as error:  # handed to the consumer, who re-raises it in its thread
            self.error = error
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def _hand_over(self, frame: Frame) -> bool:
        """Make ``frame`` the pending one; False when the reader is being stopped."""
        with self._changed:
            if not self.drop_stale:
                self._changed.wait_for(lambda: self._pending is None or self._stop.is_set())
            if self._stop.is_set():
                return False
            if self._pending is not None:
                self.frames_dropped += 1
            self.frames_read += 1
            self._pending = CapturedFrame(frame, time.perf_counter(), self.frames_read)
            self._changed.notify_all()
            return True


class RateMeter:
    """Events per second over the last ``window_s`` seconds (e.g. processed frames/s).

    The rate is (ticks - 1) / (time between the oldest and newest tick in the window); the
    last two ticks are always kept, so a rate below 1 / ``window_s`` is still measured.
    """

    def __init__(self, window_s: float = 1.0) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.window_s = window_s
        self.count = 0
        self._ticks: deque[float] = deque()

    def tick(self, now: Optional[float] = None) -> None:
        now = time.perf_counter() if now is None else now
        self.count += 1
        self._ticks.append(now)
        while len(self._ticks) > 2 and self._ticks[0] < now - self.window_s:
            self._ticks.popleft()

    def rate(self) -> float:
        """Recent events per second (0.0 before the second tick)."""
        if len(self._ticks) < 2 or self._ticks[-1] <= self._ticks[0]:
            return 0.0
        return (len(self._ticks) - 1) / (self._ticks[-1] - self._ticks[0])


class LatencyStats:
    """Latencies in seconds; reports the last one and percentiles in milliseconds."""

    def __init__(self) -> None:
        self._seconds: list[float] = []

    def add(self, seconds: float) -> None:
        self._seconds.append(float(seconds))

    def __len__(self) -> int:
        return len(self._seconds)

    @property
    def last_ms(self) -> Optional[float]:
        return 1000.0 * self._seconds[-1] if self._seconds else None

    def percentile_ms(self, q: float) -> Optional[float]:
        """The ``q``-th percentile (0-100, linear interpolation); None before any value."""
        if not 0 <= q <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {q}")
        return float(1000.0 * np.percentile(self._seconds, q)) if self._seconds else None


class RealTimeRecorder:
    """Frames shown at irregular times -> a constant-rate video lasting as long as they did.

    A live session shows a new image whenever processing finishes one (every 70-200 ms when
    camera frames are dropped), but a video file has one frame rate: writing each image once
    at the camera's rate would play the session several times too fast. Here each image is
    held from its time until the next image's: it is written once per ``1 / fps`` slot in
    that interval (slot k at ``k / fps`` after the first image, rounded; an image replaced
    within one slot is not written), and the last one until ``close(ended_at)``. The video's
    duration (``duration_s``) is then the session's, from the first image's time to
    ``ended_at``, to within one slot.

    Args:
        path: the video file (``tracker.io.video_writer.VideoWriter``: written under a
            temporary name, renamed into place on ``close``; opened at the first image's
            size, later images of another size are letterboxed into it).
        fps: the video's frame rate (e.g. the camera's).

    ``add(image, shown_at)`` takes times in seconds on any clock that never goes back
    (``CapturedFrame.captured_at`` for a camera, ``Frame.timestamp_s`` to keep a file's own
    timing when every frame is processed).
    """

    def __init__(self, path: str | Path, fps: float) -> None:
        if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"{path}: fps must be a number > 0, got {fps!r}")
        self.path, self.fps = Path(path), float(fps)
        self.frames_added = 0
        self._writer: Optional[VideoWriter] = None
        self._held: Optional[np.ndarray] = None
        self._start = self._last = 0.0

    @property
    def frames_written(self) -> int:
        return self._writer.frames_written if self._writer is not None else 0

    @property
    def duration_s(self) -> float:
        """Playing time of what was written so far."""
        return self.frames_written / self.fps

    def add(self, image_bgr: np.ndarray, shown_at: float) -> None:
        """The image shown from ``shown_at`` (seconds) on; writes the previous one's slots."""
        if self._writer is None:
            height, width = image_bgr.shape[:2]
            self._writer = VideoWriter(self.path, self.fps, (width, height))
            self._start = self._last = float(shown_at)
        elif shown_at < self._last:
            raise ValueError(f"{self.path}: frame times must not go back ({shown_at} after "
                             f"{self._last})")
        self._write_held_until(float(shown_at))
        self._held, self._last = image_bgr, float(shown_at)
        self.frames_added += 1

    def close(self, ended_at: Optional[float] = None) -> None:
        """Write the last image until ``ended_at`` (at least once), finish the file."""
        if self._writer is None:
            return
        if self._held is not None:
            end = self._last if ended_at is None else max(float(ended_at), self._last)
            self._write_held_until(end, at_least_once=True)
            self._held = None
        self._writer.close()

    def abort(self) -> None:
        """Drop the recording; an earlier file at ``path`` stays as it was."""
        if self._writer is not None:
            self._writer.abort()
        self._held = None

    def _write_held_until(self, time_s: float, at_least_once: bool = False) -> None:
        if self._held is None:
            return
        # slots up to time_s, rounded: a file's index / fps times (or its decoder's times,
        # off by a millisecond) give exactly one slot per frame
        slots = math.floor((time_s - self._start) * self.fps + 0.5)
        copies = max(slots - self._writer.frames_written, 1 if at_least_once else 0)
        held = letterboxed(self._held, self._writer.frame_size_wh)
        for _ in range(copies):
            self._writer.write(held)
