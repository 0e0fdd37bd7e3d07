"""Retroactive writing of confirmed tracks: a new person is written from their first frame.

A ``RobustPoseTracker`` track is tentative until matched in ``min_hits`` consecutive frames
(``weak_min_hits`` for a track of weak boxes); its poses until then are not written as they
are (a false detection of a frame or two must not become an id). They travel in
``FrameResult.tentative`` instead, keyed by the track, and the frame that confirms the track
says so in ``FrameResult.confirmed``. ``Backfill`` holds the last ``delay`` results (the
tracker's ``confirmation_delay``, ``weak_min_hits - 1`` frames): when a track is confirmed,
its tentative poses in the held frames are written with its id; a result leaves with its
tentative poses promoted or dropped. So the output is the same as if the tracker had known
from the first frame which tracks would be confirmed, ``delay`` frames late, and memory
holds ``delay`` frames (and their images, for a renderer) at most.

    results ──Backfill(delay).push(item, result)──> the results of ``delay`` frames ago
"""
from __future__ import annotations

import collections
from collections.abc import Generator, Iterator
from typing import Optional

import numpy as np

from tracker.types import FrameResult, Poses, TentativePoses


class Backfill:
    """Holds results ``delay`` frames and writes confirmed tracks' tentative poses.

    Args:
        delay: frames a result is held; at least the tracker's ``confirmation_delay``
            (then every confirmed track is written from its first frame). None holds every
            result until ``flush`` (a whole sequence in memory: tests, benchmarks).

    ``push(item, result)`` returns the ``(item, result)`` pairs that leave (``item`` is
    anything travelling with the result, e.g. its ``Frame`` for a renderer); ``flush()`` the
    rest, at the end. Results leave without ``tentative`` / ``confirmed``.
    """

    def __init__(self, delay: Optional[int]) -> None:
        if delay is not None and delay < 0:
            raise ValueError(f"delay must be >= 0 or None, got {delay}")
        self.delay = delay
        # (item, result, {tentative row -> id}) per held frame, oldest first
        self._held: collections.deque = collections.deque()

    def push(self, item, result: FrameResult) -> list[tuple[object, FrameResult]]:
        self._held.append((item, result, {}))
        if result.confirmed:
            for _, held, promoted in self._held:
                if held.tentative is None or len(held.tentative) == 0:
                    continue
                for row, key in enumerate(held.tentative.track_keys.tolist()):
                    if key in result.confirmed:
                        promoted[row] = result.confirmed[key]
        out = []
        while self.delay is not None and len(self._held) > self.delay:
            out.append(_released(*self._held.popleft()))
        return out

    def flush(self) -> list[tuple[object, FrameResult]]:
        out = [_released(*held) for held in self._held]
        self._held.clear()
        return out


def tentative_of(tracker, poses: Poses) -> tuple[Optional[TentativePoses], dict]:
    """The ``FrameResult.tentative`` and ``confirmed`` of ``tracker``'s last ``update`` on
    ``poses``."""
    keys, confirmed = tracker.tentative()
    held = keys >= 0
    if not held.any():
        return None, confirmed
    return TentativePoses(poses=poses[held], track_keys=keys[held]), confirmed


def _released(item, result: FrameResult, promoted: dict) -> tuple[object, FrameResult]:
    """``result`` with its promoted tentative poses written after the others."""
    poses, track_ids = result.poses, result.track_ids
    if promoted:
        rows = sorted(promoted)
        poses = Poses.concatenate([poses, result.tentative.poses[np.array(rows)]])
        track_ids = np.concatenate([track_ids, np.array([promoted[r] for r in rows], np.int64)])
    return item, FrameResult(index=result.index, name=result.name, poses=poses,
                             track_ids=track_ids, timestamp_s=result.timestamp_s)


def backfilled(pairs: Iterator[tuple[object, FrameResult]],
               delay: Optional[int]) -> Generator[tuple[object, FrameResult], None, None]:
    """``Backfill`` over a stream of ``(item, result)`` pairs. A ``KeyboardInterrupt`` (a
    stop) from ``pairs`` comes after the held results (tracked frames are not lost). Closing
    this generator closes ``pairs`` (a generator: e.g. ``run_overlapped``, whose threads it
    joins)."""
    held = Backfill(delay)
    try:
        try:
            for item, result in pairs:
                yield from held.push(item, result)
        except KeyboardInterrupt:
            yield from held.flush()
            raise
        yield from held.flush()
    finally:
        if isinstance(pairs, Generator):
            pairs.close()


def backfill_results(results: list[FrameResult]) -> list[FrameResult]:
    """A whole sequence's results with every confirmed track written from its first frame."""
    held = Backfill(None)
    for result in results:
        held.push(None, result)
    return [result for _, result in held.flush()]
