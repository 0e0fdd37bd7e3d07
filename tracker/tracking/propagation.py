"""Box propagation and duplicate removal between detection and pose (pure functions).

The paper's box propagation (section 3.1) adds, to the detector's boxes of frame k, boxes
around the poses of frame k-1 moved into frame k by the optical flow. ``merge_boxes`` joins
the two into the ``Candidates`` to pose; after the pose network, ``pose_confidence`` tells
whether anyone is left in a propagated box and ``pose_nms`` keeps one pose per person.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from tracker.boxes import box_areas, iou_matrix
from tracker.tracking.association import oks_matrix
from tracker.types import Detections, Poses


@dataclass
class Candidates:
    """The person boxes to pose in one frame: detector boxes first, then propagated ones.

    Attributes:
        boxes_xyxy: (M, 4) float32, frame pixels.
        scores: (M,) float32 detector scores, or the box scores of the propagated poses.
        propagated_row: (M,) int64: -1 for a detector box, else the row (in the propagated
            poses given to ``merge_boxes``) of the pose the box was built around.
        detected_row: (M,) int64: the row of a detector box in the detections given to
            ``merge_boxes``, -1 for a propagated box (default: detector boxes in their order).
    """

    boxes_xyxy: np.ndarray
    scores: np.ndarray
    propagated_row: np.ndarray
    detected_row: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        self.boxes_xyxy = np.asarray(self.boxes_xyxy, np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, np.float32).reshape(-1)
        self.propagated_row = np.asarray(self.propagated_row, np.int64).reshape(-1)
        if not len(self.boxes_xyxy) == len(self.scores) == len(self.propagated_row):
            raise ValueError(f"candidates need one score and one propagated_row per box, got "
                             f"{len(self.boxes_xyxy)} boxes, {len(self.scores)} scores and "
                             f"{len(self.propagated_row)} rows")
        if self.detected_row is None:
            self.detected_row = np.where(self.propagated_row < 0,
                                         np.arange(len(self.propagated_row)), -1)
        self.detected_row = np.asarray(self.detected_row, np.int64).reshape(-1)
        if len(self.detected_row) != len(self.propagated_row) or np.any(
                (self.detected_row < 0) == (self.propagated_row < 0)):
            raise ValueError("candidates need a detected_row >= 0 exactly where "
                             "propagated_row is -1")

    @property
    def is_propagated(self) -> np.ndarray:
        """(M,) bool: the box was built around a flow-propagated pose."""
        return self.propagated_row >= 0

    def __len__(self) -> int:
        return len(self.boxes_xyxy)

    def __getitem__(self, index) -> "Candidates":
        return Candidates(boxes_xyxy=self.boxes_xyxy[index], scores=self.scores[index],
                          propagated_row=self.propagated_row[index],
                          detected_row=self.detected_row[index])


def merge_boxes(detected: Detections, propagated_boxes_xyxy: np.ndarray,
                propagated_scores: np.ndarray, iou_threshold: float) -> Candidates:
    """Box NMS in which detector boxes outrank propagated ones.

    Detector boxes are all kept (the detector ran its own NMS). Propagated boxes are visited
    in descending score order and kept unless their IoU with an already kept box is above
    ``iou_threshold``: they fill in people the detector missed.

    Args:
        detected: N detector boxes and scores.
        propagated_boxes_xyxy: (P, 4) boxes around flow-propagated poses (NaN rows dropped).
        propagated_scores: (P,) their scores.
        iou_threshold: IoU above which a propagated box is a duplicate.

    Returns:
        ``Candidates``: the N detector boxes, then the kept propagated boxes.
    """
    kept = np.asarray(detected.boxes_xyxy, np.float32).reshape(-1, 4)
    propagated = np.asarray(propagated_boxes_xyxy, np.float32).reshape(-1, 4)
    propagated_scores = np.asarray(propagated_scores, np.float32).reshape(-1)
    rows = []
    finite = np.isfinite(propagated).all(axis=1)
    for row in np.flatnonzero(finite)[np.argsort(-propagated_scores[finite], kind="stable")]:
        box = propagated[row:row + 1]
        if len(kept) and iou_matrix(box, kept).max() > iou_threshold:
            continue
        kept = np.concatenate([kept, box])
        rows.append(row)
    rows = np.asarray(rows, np.int64)
    return Candidates(
        boxes_xyxy=kept,
        scores=np.concatenate([np.asarray(detected.scores, np.float32).reshape(-1),
                               propagated_scores[rows]]),
        propagated_row=np.concatenate([np.full(len(detected), -1, np.int64), rows]),
        detected_row=np.concatenate([np.arange(len(detected)), np.full(len(rows), -1)]))


def best_candidates(candidates: Candidates, max_people: int) -> Candidates:
    """At most ``max_people`` candidates (0 = all): detector boxes by descending score
    first, then propagated boxes by descending score."""
    if not max_people or len(candidates) <= max_people:
        return candidates
    order = np.lexsort((-candidates.scores, candidates.is_propagated))
    return candidates[order[:max_people]]


def pose_confidence(keypoint_scores: np.ndarray, threshold: float) -> np.ndarray:
    """(N, K) -> (N,) mean of the keypoint scores above ``threshold`` (0 where none is)."""
    scores = np.asarray(keypoint_scores, np.float64)
    above = scores > threshold
    return np.where(above.any(axis=1),
                    (scores * above).sum(axis=1) / np.maximum(above.sum(axis=1), 1), 0.0)


def pose_nms(poses: Poses, scores: np.ndarray, oks_sigmas: np.ndarray,
             oks_threshold: float, keypoint_threshold: float) -> np.ndarray:
    """Greedy NMS on poses: a pose whose OKS with a better scored kept pose is above
    ``oks_threshold`` is a duplicate of that person (a second detector box on the same
    person, or a propagated box next to a detected one).

    Args:
        poses: N poses. scores: (N,) ranking, highest kept first.
        oks_sigmas: (K,) OKS constants. keypoint_threshold: keypoints scored at or below
            this are left out of the OKS.

    Returns:
        (M,) int64 indices of the kept poses, in descending score order.
    """
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    areas = box_areas(poses.boxes_xyxy)
    oks = oks_matrix(poses.keypoints, poses.keypoints, areas, areas, oks_sigmas,
                     poses.keypoint_scores, poses.keypoint_scores, keypoint_threshold)
    suppressed = np.zeros(len(poses), bool)
    keep = []
    for i in order:
        if not suppressed[i]:
            keep.append(i)
            suppressed |= oks[i] > oks_threshold
    return np.asarray(keep, np.int64)


def select_poses(poses: Poses, candidates: Candidates, *, oks_sigmas: np.ndarray,
                 keypoint_threshold: float, min_propagated_pose_score: float,
                 duplicate_oks_threshold: float) -> np.ndarray:
    """(M,) indices of the poses kept, one pose estimated per candidate box: poses in
    propagated boxes only where someone is still there (``pose_confidence`` at least
    ``min_propagated_pose_score``), then ``pose_nms`` ranked by box score x confidence."""
    confidence = pose_confidence(poses.keypoint_scores, keypoint_threshold)
    kept = np.flatnonzero(~candidates.is_propagated | (confidence >= min_propagated_pose_score))
    ranking = poses.box_scores[kept] * confidence[kept]
    return kept[pose_nms(poses[kept], ranking, oks_sigmas, duplicate_oks_threshold,
                         keypoint_threshold)]
