"""Temporal smoothing of tracked keypoints with the one-euro filter.

    smoother = KeypointSmoother(min_cutoff=1.0, beta=0.007)
    for result in results:  # tracker.types.FrameResult
        smoothed = smoother(result.track_ids, result.poses.keypoints, result.timestamp_s)

The one-euro filter (Casiez, Roussel, Vogel, "1€ Filter: A Simple Speed-based Low-pass
Filter for Noisy Input in Interactive Systems", CHI 2012) is a first-order low-pass filter
whose cutoff rises with the signal's speed: slow movements are smoothed hard (less jitter),
fast ones lightly (less lag). For each sample x_i at time t_i, with dt = t_i - t_{i-1}:

    alpha(cutoff, dt) = 1 / (1 + tau / dt),  tau = 1 / (2 pi cutoff)
    dx_i     = (x_i - x̂_{i-1}) / dt
    dx̂_i    = alpha(d_cutoff, dt) dx_i + (1 - alpha(d_cutoff, dt)) dx̂_{i-1}
    cutoff_i = min_cutoff + beta |dx̂_i|
    x̂_i     = alpha(cutoff_i, dt) x_i + (1 - alpha(cutoff_i, dt)) x̂_{i-1}

and x̂_0 = x_0, dx̂_0 = 0. Each coordinate (x and y) of each keypoint is its own filter, as
in the paper; keypoints are in pixels, so ``beta`` is per pixel/s of speed.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["KeypointSmoother", "MIN_DT_S"]

#: Time step (seconds) used when a timestamp does not increase (a repeated frame time, or
#: clock jitter): the filter then treats the sample as arriving almost at once, so the
#: output barely moves instead of dividing by zero.
MIN_DT_S = 1e-3


def smoothing_factor(cutoff_hz, dt_s):
    """alpha = 1 / (1 + tau / dt) with tau = 1 / (2 pi cutoff); arrays broadcast."""
    tau = 1.0 / (2.0 * np.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


@dataclass
class _TrackState:
    """Filter state of one track's K keypoints.

    Attributes:
        value: (K, 2) float64 filtered keypoints x̂ (NaN where never seen).
        derivative: (K, 2) float64 filtered speed dx̂ in pixels/s.
        time_s: (K,) float64 time of each keypoint's last update (NaN: never seen).
        last_seen_s: time of the last call that included this track.
    """

    value: np.ndarray
    derivative: np.ndarray
    time_s: np.ndarray
    last_seen_s: float

    @classmethod
    def blank(cls, num_keypoints: int, timestamp_s: float) -> "_TrackState":
        nan = np.full((num_keypoints, 2), np.nan)
        return cls(value=nan, derivative=np.zeros((num_keypoints, 2)),
                   time_s=np.full(num_keypoints, np.nan), last_seen_s=timestamp_s)


class KeypointSmoother:
    """One-euro filter of each track's keypoints, state kept per track id.

    Args:
        min_cutoff: cutoff frequency (Hz) at rest, > 0. Lower: less jitter when still,
            more lag.
        beta: speed coefficient (Hz per pixel/s), >= 0. Higher: less lag in fast
            movements, more jitter in them. 0 gives a fixed low-pass filter.
        d_cutoff: cutoff frequency (Hz) of the speed estimate, > 0 (1 Hz in the paper).
        max_gap_s: a track (or one of its keypoints) not seen for more than this many
            seconds starts again from its new position, and a track absent for longer is
            forgotten, so memory stays bounded by the tracks of the last ``max_gap_s``.

    Missing keypoints (NaN or inf) pass through unchanged and leave their state as it
    was: when they return they are filtered with the time elapsed since they were last
    seen. A timestamp that does not increase uses ``MIN_DT_S`` as its time step; one that
    jumps back by more than ``max_gap_s`` (a source restarted or looped) restarts the
    tracks, like a gap.
    """

    def __init__(self, *, min_cutoff: float = 1.0, beta: float = 0.007,
                 d_cutoff: float = 1.0, max_gap_s: float = 1.0) -> None:
        for name, value, low in (("min_cutoff", min_cutoff, "> 0"), ("d_cutoff", d_cutoff, "> 0"),
                                 ("max_gap_s", max_gap_s, "> 0"), ("beta", beta, ">= 0")):
            number = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not (number and math.isfinite(value)
                    and (value >= 0 if low == ">= 0" else value > 0)):
                raise ValueError(f"{name} must be a finite number {low}, got {value!r}")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.max_gap_s = float(max_gap_s)
        self._tracks: dict[int, _TrackState] = {}

    def __len__(self) -> int:
        """Number of tracks whose state is held."""
        return len(self._tracks)

    def reset(self) -> None:
        """Forget every track (e.g. at a new video)."""
        self._tracks.clear()

    def __call__(self, track_ids, keypoints, timestamp_s: float) -> np.ndarray:
        """Smooth one frame's keypoints.

        Args:
            track_ids: (N,) ints, distinct (``FrameResult.track_ids``).
            keypoints: (N, K, 2) (x, y) pixels of the frame (``Poses.keypoints``).
            timestamp_s: the frame's time in seconds (``FrameResult.timestamp_s``).
        Returns:
            (N, K, 2) float32 smoothed keypoints; a new track's first frame is returned as is.
        """
        track_ids = np.asarray(track_ids)
        keypoints = np.asarray(keypoints, dtype=np.float64)
        if track_ids.ndim != 1:
            raise ValueError(f"track_ids must have shape (N,), got {track_ids.shape}")
        if keypoints.ndim != 3 or keypoints.shape[0] != len(track_ids) or keypoints.shape[2] != 2:
            raise ValueError(f"keypoints must have shape ({len(track_ids)}, K, 2), "
                             f"got {keypoints.shape}")
        if len(np.unique(track_ids)) != len(track_ids):
            raise ValueError(f"track_ids must be distinct, got {track_ids.tolist()}")
        timestamp_s = float(timestamp_s)
        if not math.isfinite(timestamp_s):
            raise ValueError(f"timestamp_s must be finite, got {timestamp_s}")

        self._forget_stale(timestamp_s)
        smoothed = np.empty_like(keypoints)
        for row, track_id in enumerate(track_ids.tolist()):
            state = self._tracks.get(track_id)
            if state is None or state.value.shape[0] != keypoints.shape[1]:
                state = _TrackState.blank(keypoints.shape[1], timestamp_s)
                self._tracks[track_id] = state
            smoothed[row] = self._update(state, keypoints[row], timestamp_s)
        return smoothed.astype(np.float32)

    def _forget_stale(self, timestamp_s: float) -> None:
        """Drop the tracks last seen more than ``max_gap_s`` from ``timestamp_s``."""
        stale = [track_id for track_id, state in self._tracks.items()
                 if abs(timestamp_s - state.last_seen_s) > self.max_gap_s]
        for track_id in stale:
            del self._tracks[track_id]

    def _update(self, state: _TrackState, points: np.ndarray, timestamp_s: float) -> np.ndarray:
        """Filter one track's (K, 2) ``points`` in place of ``state``; returns (K, 2)."""
        state.last_seen_s = timestamp_s
        valid = np.isfinite(points).all(axis=1)                            # (K,)
        elapsed = timestamp_s - state.time_s                                # (K,), NaN: new
        fresh = valid & ~(np.abs(elapsed) <= self.max_gap_s)               # NaN compares False
        step = valid & ~fresh
        out = points.copy()

        state.value[fresh] = points[fresh]
        state.derivative[fresh] = 0.0
        if step.any():
            dt = np.maximum(elapsed[step], MIN_DT_S)[:, None]              # (S, 1)
            previous = state.value[step]                                    # (S, 2)
            speed = (points[step] - previous) / dt
            alpha_d = smoothing_factor(self.d_cutoff, dt)
            derivative = alpha_d * speed + (1.0 - alpha_d) * state.derivative[step]
            alpha = smoothing_factor(self.min_cutoff + self.beta * np.abs(derivative), dt)
            value = alpha * points[step] + (1.0 - alpha) * previous
            state.value[step] = value
            state.derivative[step] = derivative
            out[step] = value
        state.time_s[valid] = timestamp_s
        return out
