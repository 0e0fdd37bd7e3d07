"""How well each pose of a frame fits each track of ``RobustPoseTracker``.

    track t's predicted pose ──OKS, gate widened while unseen (gate_growth)──> (T, N)
        lost tracks: 0 for poses that may not revive them (weak or unclear poses)
        lost tracks with a remembered appearance, poses within reach:
            (1 - appearance_weight) * OKS + appearance_weight * appearance similarity

The reach (``within_reach``) is where the track's person could have got to while unseen,
so the colour cue never gives a lost id to someone across the frame.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from tracker.tracking.appearance import appearance_similarity
from tracker.tracking.association import oks_matrix
from tracker.tracking.track_state import TrackState, pose_centres, within_reach
from tracker.types import Poses


class TrackSimilarity:
    """The (T, N) similarity of ``RobustPoseTracker``'s association (module docstring).

    Args:
        sigmas: (K,) OKS constants. keypoint_score_threshold: joints at or below it do not
            count (OKS, pose centres). gate_growth, appearance_weight, appearance_reach,
            max_speed: as in ``RobustPoseTracker``.
    """

    def __init__(self, *, sigmas: np.ndarray, keypoint_score_threshold: float,
                 gate_growth: float, appearance_weight: float, appearance_reach: float,
                 max_speed: float) -> None:
        self.sigmas = np.asarray(sigmas, np.float64)
        self.keypoint_score_threshold = keypoint_score_threshold
        self.gate_growth = gate_growth
        self.appearance_weight = appearance_weight
        self.appearance_reach = appearance_reach
        self.max_speed = max_speed

    def __call__(self, tracks: list[TrackState], poses: Poses, *, pose_areas: np.ndarray,
                 lost: np.ndarray, revives: np.ndarray, descriptors: Optional[np.ndarray],
                 now_s: float) -> np.ndarray:
        """(T, N) float64 similarity of the T tracks and the N poses.

        Args:
            pose_areas: (N,) px^2, the poses' (floored) box areas.
            lost: (T,) bool, the tracks unseen last frame.
            revives: (T, N) bool, pose n may take lost track t's id.
            descriptors: (N, D) appearance of the poses, or None (OKS only).
            now_s: the frame's time.
        """
        if not tracks or len(poses) == 0:
            return np.zeros((len(tracks), len(poses)))
        threshold = self.keypoint_score_threshold
        predicted = np.stack([t.predicted for t in tracks])
        scores = np.stack([t.scores for t in tracks])
        unseen_s = np.where(lost, now_s - np.array([t.last_seen_s for t in tracks]), 0.0)
        areas = np.array([t.area for t in tracks]) * (1 + self.gate_growth * unseen_s)
        oks = oks_matrix(predicted, poses.keypoints, areas, pose_areas, self.sigmas, scores,
                         poses.keypoint_scores, threshold)
        oks = np.where(lost[:, None] & ~revives, 0.0, oks)
        remembered = lost & np.array([t.appearance is not None for t in tracks], bool)
        if descriptors is None or not remembered.any():
            return oks
        stored = np.stack([t.appearance if t.appearance is not None else
                           np.zeros(descriptors.shape[1], np.float32) for t in tracks])
        looks = appearance_similarity(stored, descriptors)
        blended = (1 - self.appearance_weight) * oks + self.appearance_weight * np.nan_to_num(
            looks, nan=0.5)
        track_centres = pose_centres(predicted, scores, np.stack([t.box_xyxy for t in tracks]),
                                     threshold)
        centres = pose_centres(poses.keypoints, poses.keypoint_scores, poses.boxes_xyxy,
                               threshold)
        reach = within_reach(track_centres, centres, np.sqrt([t.area for t in tracks]),
                             unseen_s, self.appearance_reach, self.max_speed)
        return np.where(remembered[:, None] & (oks > 0) & reach, blended, oks)
