"""Overlapped running of a ``Pipeline``: decoding, flow and detection ahead of the tracks.

Three threads, each stage in order, with bounded queues between them::

    reader thread     source ──decode──> frame k                 (at most ``ahead`` frames)
    prepare thread    frame k-1, k ──Pipeline.prepare_window──> flow F(k-1 -> k), boxes of k
                                                 (at most ``ahead`` frames; ``detect_window``
                                                  frames share one detector call, and with
                                                  ``pose_window`` the detector boxes of that
                                                  many frames are posed here, together)
    caller's thread   Pipeline(frame k, prepared k): pose network, association ──> result k

Neither the flow nor the detector boxes depend on the tracks, so frame k+1's are computed
while frame k is posed and associated, and frame k+2 is decoded meanwhile; the caller's
writing and rendering of result k overlap them too. The pose network needs frame k-1's
tracks (propagated boxes), so it stays in order in the caller's thread. The results are those
of calling the pipeline on each frame in turn (the same stages, on the same inputs, in the
same order per stage): ``run_sequential`` is that path, kept for debugging and comparison.
Memory is bounded: about ``2 * ahead`` decoded frames at any time, never the whole video.

The native stages (OpenCV decode and flow, onnxruntime, torch) release the GIL, so the threads
run in parallel on several cores.
"""
from __future__ import annotations

import collections
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator, Optional

from tracker.tracking.backfill import backfilled
from tracker.tracking.pipeline import Pipeline
from tracker.types import Frame, FrameResult

#: Frames decoded, and frames prepared, ahead of the one being tracked.
DEFAULT_AHEAD = 4
#: Seconds a blocked reader waits before checking whether it was told to stop.
_POLL_S = 0.1
_END = object()


def read_ahead(frames: Iterable, ahead: int = DEFAULT_AHEAD) -> Iterator:
    """The items of ``frames``, in order, pulled by a background thread into a queue of at
    most ``ahead`` items. An exception raised by ``frames`` is raised here, at its place in
    the stream. Closing the generator (or an exception in the consumer) stops and joins the
    thread before returning, so the source can be closed safely afterwards."""
    if ahead < 1:
        raise ValueError(f"ahead must be >= 1, got {ahead}")
    items: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def pull() -> None:
        try:
            for item in frames:
                if not put((item, None)):
                    return
        except BaseException as error:      # handed to the consumer, raised there
            put((_END, error))
            return
        put((_END, None))

    reader = threading.Thread(target=pull, name="posetrack-reader", daemon=True)
    reader.start()
    try:
        while True:
            item, error = items.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        reader.join()


def windows(frames: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of ``size`` items of ``frames`` (the last may be shorter)."""
    window: list = []
    for frame in frames:
        window.append(frame)
        if len(window) == size:
            yield window
            window = []
    if window:
        yield window


def run_sequential(pipeline: Pipeline,
                   frames: Iterable[Frame]) -> Iterator[tuple[Frame, FrameResult]]:
    """(frame, result) of every frame, each stage in line in the caller's thread (with a
    ``detect_window`` or ``pose_window`` > 1, that many frames are prepared in one
    ``prepare_window`` call before they are tracked)."""
    if pipeline.window == 1:
        for frame in frames:
            yield frame, pipeline(frame)
        return
    previous_image = None
    for window in windows(frames, pipeline.window):
        for frame, prepared in zip(window, pipeline.prepare_window(window, previous_image)):
            yield frame, pipeline(frame, prepared)
        previous_image = window[-1].image


def run_overlapped(pipeline: Pipeline, frames: Iterable[Frame],
                   ahead: int = DEFAULT_AHEAD) -> Iterator[tuple[Frame, FrameResult]]:
    """(frame, result) of every frame, as ``run_sequential`` gives them, with decoding and
    ``Pipeline.prepare_window`` (flow, detection) run ahead in their own threads (module doc).

    Args:
        pipeline: a pipeline at the start of a video (``reset``).
        frames: the video's frames in order (a source; read by a background thread).
        ahead: frames decoded ahead, and frames prepared ahead (each at most, plus one
            ``detect_window``).
    """
    if ahead < 1:
        raise ValueError(f"ahead must be >= 1, got {ahead}")
    decoded = read_ahead(frames, ahead)
    pending: collections.deque = collections.deque()
    previous_image: Optional[object] = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="posetrack-prepare") as pool:
        def submit(window: list) -> None:
            nonlocal previous_image
            future = pool.submit(pipeline.prepare_window, window, previous_image)
            pending.extend((frame, future, index) for index, frame in enumerate(window))
            previous_image = window[-1].image

        try:
            for window in windows(decoded, pipeline.window):
                submit(window)
                while len(pending) > ahead:
                    yield _track(pipeline, *pending.popleft())
            while pending:
                yield _track(pipeline, *pending.popleft())
        finally:
            for _, future, _ in pending:
                future.cancel()
            decoded.close()


def _track(pipeline: Pipeline, frame: Frame, prepared, index: int) -> tuple[Frame, FrameResult]:
    return frame, pipeline(frame, prepared.result()[index])


def run_frames(pipeline: Pipeline, frames: Iterable[Frame], *, overlap: bool = True,
               ahead: int = DEFAULT_AHEAD) -> Iterator[tuple[Frame, FrameResult]]:
    """``run_overlapped`` or, with ``overlap`` False, ``run_sequential``; new people written
    from their first frame (``backfilled``: results come the tracker's
    ``confirmation_delay`` frames late)."""
    results = run_overlapped(pipeline, frames, ahead) if overlap else \
        run_sequential(pipeline, frames)
    return backfilled(results, pipeline.tracker.confirmation_delay)
