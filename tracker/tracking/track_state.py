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
    strong: bool = False         # one of its boxes scored high_score + start_margin

    @classmethod
    def started(cls, uid: int, keypoints_xy: np.ndarray, scores: np.ndarray, *, area: float,
                box_xyxy: np.ndarray, box_score: float, now_s: float, strong: bool,
                descriptor: Optional[np.ndarray]) -> "TrackState":
        """A new (tentative) track from one pose; ``descriptor`` (D,) its appearance (None or
        all zeros: unknown)."""
        track = cls(uid=uid, keypoints=np.asarray(keypoints_xy), predicted=np.asarray(
                        keypoints_xy), scores=np.asarray(scores), area=area,
                    box_xyxy=np.asarray(box_xyxy, np.float64), box_score=box_score,
                    last_seen_s=now_s, strong=strong)
        if descriptor is not None and np.any(descriptor):
            track.appearance_count = 1
            track.appearance = np.asarray(descriptor, np.float32).copy()
        return track

    @property
    def confirmed(self) -> bool:
        return self.track_id >= 0

    def observe(self, keypoints_xy: np.ndarray, scores: np.ndarray, *, area: float,
                box_xyxy: np.ndarray, box_score: float, now_s: float, strong: bool,
                velocity_xy: Optional[np.ndarray], velocity_smoothing: float) -> None:
        """The track takes a pose seen at ``now_s``: keypoints_xy (K, 2), scores (K,), its
        box, and ``velocity_xy`` (2,) px per second measured since last seen (None: not
        measured), blended into the velocity with weight ``velocity_smoothing``."""
        if velocity_xy is not None:
            self.velocity_xy = velocity_xy if self.velocity_xy is None else (
                (1 - velocity_smoothing) * self.velocity_xy + velocity_smoothing * velocity_xy)
        self.keypoints = self.predicted = np.asarray(keypoints_xy, np.float32)
        self.scores = np.asarray(scores, np.float32)
        self.area, self.box_xyxy, self.box_score = area, box_xyxy, box_score
        self.hits = self.hits + 1 if self.frames_unseen == 0 else 1
        self.frames_unseen, self.last_seen_s = 0, now_s
        self.strong = self.strong or strong


def pose_displacements(keypoints_before: np.ndarray, scores_before: np.ndarray,
                       keypoints_after: np.ndarray, scores_after: np.ndarray,
                       min_score: float) -> np.ndarray:
    """(M, 2) median motion of each pair of poses over the joints scored above ``min_score``
    in both and finite, NaN for a pair with no such joint (a box centre moves with every
    detector jitter; joints less).

    Args:
        keypoints_before, keypoints_after: (M, K, 2). scores_before, scores_after: (M, K).
    """
    motion = np.asarray(keypoints_after, np.float64) - np.asarray(keypoints_before, np.float64)
    both = (np.asarray(scores_before) > min_score) & (np.asarray(scores_after) > min_score)
    both &= np.isfinite(motion).all(axis=2)
    counts = both.sum(axis=1)                                              # (M,)
    ordered = np.sort(np.where(both[..., None], motion, np.inf), axis=1)   # found joints first
    low = np.maximum(counts - 1, 0) // 2
    high = np.minimum(counts // 2, motion.shape[1] - 1)
    pick = np.stack([low, high], axis=1)[:, :, None].repeat(2, axis=2)     # (M, 2, 2)
    middle = np.take_along_axis(ordered, pick, axis=1) if motion.shape[1] else \
        np.full((len(motion), 2, 2), np.nan)
    with np.errstate(invalid="ignore"):
        median = (middle[:, 0] + middle[:, 1]) / 2
    return np.where((counts > 0)[:, None], median, np.nan)


def clamped(velocities_xy: np.ndarray, areas: np.ndarray, max_speed: float) -> np.ndarray:
    """(M, 2) ``velocities_xy`` (px per second or frame) each scaled down to at most
    ``max_speed`` x the person's size (sqrt of the box area, (M,) px^2) per that unit."""
    velocities = np.asarray(velocities_xy, np.float64).reshape(-1, 2)
    limits = max_speed * np.sqrt(np.maximum(np.asarray(areas, np.float64).reshape(-1), 0.0))
    speeds = np.hypot(velocities[:, 0], velocities[:, 1])
    over = speeds > limits
    scale = np.where(over, limits / np.where(over, speeds, 1.0), 1.0)
    return velocities * scale[:, None]


def pose_centres(keypoints_xy: np.ndarray, scores: np.ndarray, boxes_xyxy: np.ndarray,
                 min_score: float) -> np.ndarray:
    """(M, 2) mean of each pose's joints scored above ``min_score`` (and finite), or its box
    centre where there is none.

    Args:
        keypoints_xy: (M, K, 2). scores: (M, K). boxes_xyxy: (M, 4).
    """
    keypoints = np.asarray(keypoints_xy, np.float64)
    found = (np.asarray(scores) > min_score) & np.isfinite(keypoints).all(axis=2)
    counts = found.sum(axis=1)
    sums = np.where(found[..., None], keypoints, 0.0).sum(axis=1)
    boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    box_centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    return np.where((counts > 0)[:, None], sums / np.maximum(counts, 1)[:, None], box_centres)


def observed_velocities(tracks: list, keypoints_xy: np.ndarray, scores: np.ndarray,
                        boxes_xyxy: np.ndarray, now_s: float, min_score: float,
                        max_speed: float) -> tuple[np.ndarray, np.ndarray]:
    """Velocities (M, 2) px per second of M ``TrackState``s seen again at ``now_s`` with these
    poses (the median motion of their joints since last seen, else their box centre's;
    ``clamped`` to ``max_speed`` body sizes per second), and (M,) bool: a velocity was
    measured (time passed and the motion is finite).

    Args:
        keypoints_xy: (M, K, 2). scores: (M, K). boxes_xyxy: (M, 4) the new boxes.
    """
    boxes = np.asarray(boxes_xyxy, np.float64)
    old_boxes = np.stack([t.box_xyxy for t in tracks])
    motion = pose_displacements(np.stack([t.keypoints for t in tracks]),
                                np.stack([t.scores for t in tracks]), keypoints_xy, scores,
                                min_score)
    unjointed = np.isnan(motion).any(axis=1)   # no joint seen twice: the box centre
    motion[unjointed] = ((boxes[:, :2] + boxes[:, 2:] - old_boxes[:, :2] - old_boxes[:, 2:])
                         / 2)[unjointed]
    elapsed = now_s - np.array([t.last_seen_s for t in tracks])
    moving = (elapsed > 0) & np.isfinite(motion).all(axis=1)
    steps = clamped(motion / np.where(moving, elapsed, 1.0)[:, None], [t.area for t in tracks],
                    max_speed)
    return steps, moving


def within_reach(track_centres_xy: np.ndarray, pose_centres_xy: np.ndarray,
                 body_sizes: np.ndarray, unseen_s: np.ndarray, reach: float,
                 max_speed: float) -> np.ndarray:
    """(T, N) bool: pose n's centre is within ``reach * (1 + max_speed * unseen_s[t])``
    body sizes of track t's centre, where its person could have got to (``reach`` 0:
    everywhere).

    Args:
        track_centres_xy: (T, 2). pose_centres_xy: (N, 2). body_sizes: (T,) px (sqrt of the
        box area). unseen_s: (T,) seconds since each track was seen.
    """
    track_centres = np.asarray(track_centres_xy, np.float64).reshape(-1, 2)
    centres = np.asarray(pose_centres_xy, np.float64).reshape(-1, 2)
    if reach == 0:
        return np.ones((len(track_centres), len(centres)), bool)
    limits = reach * (1 + max_speed * np.asarray(unseen_s, np.float64)) * np.asarray(
        body_sizes, np.float64)
    distances = np.linalg.norm(track_centres[:, None] - centres[None], axis=2)
    return distances <= limits[:, None]
