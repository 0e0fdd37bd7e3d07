"""What ``RobustPoseTracker`` remembers of one person, and the pure motion functions on it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class TrackState:
    """One track of ``RobustPoseTracker``.

    keypoints (K, 2): the last observed pose; predicted (K, 2): that pose moved into the
    current frame (flow while visible, velocity + camera motion while unseen); scores (K,):
    its keypoint scores; area: its box area (px^2, floored); box_xyxy (4,), box_score: its
    box; velocity_xy (2,): px per frame of the pose (None until two observations);
    appearance (D,): running mean descriptor.
    """

    uid: int                     # internal, never written
    keypoints: np.ndarray
    predicted: np.ndarray
    scores: np.ndarray
    area: float
    box_xyxy: np.ndarray
    box_score: float
    last_seen_s: float
    track_id: int = -1           # public id, given at confirmation
    hits: int = 1                # consecutive matched frames
    frames_unseen: int = 0
    frames_propagated: int = 0
    velocity_xy: Optional[np.ndarray] = None
    appearance: Optional[np.ndarray] = None
    appearance_count: int = 0

    @property
    def confirmed(self) -> bool:
        return self.track_id >= 0


def pose_displacement(keypoints_before: np.ndarray, scores_before: np.ndarray,
                      keypoints_after: np.ndarray, scores_after: np.ndarray,
                      min_score: float) -> Optional[np.ndarray]:
    """(2,) median motion of the joints scored above ``min_score`` in both (K, 2) poses,
    or None when no joint is (a box centre moves with every detector jitter; joints less)."""
    both = (np.asarray(scores_before) > min_score) & (np.asarray(scores_after) > min_score)
    motion = np.asarray(keypoints_after, np.float64) - np.asarray(keypoints_before, np.float64)
    both &= np.isfinite(motion).all(axis=1)
    if not both.any():
        return None
    return np.median(motion[both], axis=0)


def clamped(velocity_xy: np.ndarray, area: float, max_speed: float) -> np.ndarray:
    """``velocity_xy`` (px per frame) scaled down to at most ``max_speed`` x the person's
    size (sqrt of the box area) per frame."""
    limit = max_speed * np.sqrt(max(area, 0.0))
    speed = float(np.hypot(*velocity_xy))
    return velocity_xy if speed <= limit or speed == 0 else velocity_xy * (limit / speed)
