"""The per-frame tracking pipeline of Simple Baselines (section 3), one ``Frame`` at a time.

    frame k ──detector (every ``detect_every`` frames)──────────────> boxes D (+ scores)
    frame k-1, k ──DenseFlow──> F(k-1 -> k) ──PoseTracker.warp──> poses of k-1 moved to k
        ──boxes_around_keypoints (+15 %)──> propagated boxes P
    merge_boxes(D, P): detector boxes first, P fills in where no detector box overlaps
        ──TopDownPoseEstimator.predict──> poses ──drop empty propagated poses, pose NMS──>
        ──PoseTracker.update──> track ids ──(optional KeypointSmoother)──> FrameResult

Every stage is injected, so a test can replace the detector, the pose network or the flow.
``Pipeline.stage_seconds`` accumulates the wall time of each stage for benchmarks.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Optional

import numpy as np

from tracker.tracking.association import oks_matrix
from tracker.boxes import box_areas, iou_matrix, xyxy_to_xywh
from tracker.tracking.flow import PROPAGATED_BOX_ENLARGE, boxes_around_keypoints
from tracker.tracking.pose_tracker import PoseTracker
from tracker.types import Detections, Frame, FrameResult, Poses

#: Stages timed by ``Pipeline.stage_seconds``.
STAGES = ("detect", "flow", "pose", "associate")


def merge_boxes(detected: Detections, propagated_boxes_xyxy: np.ndarray,
                propagated_scores: np.ndarray, iou_threshold: float):
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
        boxes_xyxy (M, 4) float32, scores (M,) float32, source (M,) int64: -1 for a detector
        box, else the row of the propagated box it came from.
    """
    boxes = [np.asarray(detected.boxes_xyxy, np.float32).reshape(-1, 4)]
    scores = [np.asarray(detected.scores, np.float32).reshape(-1)]
    source = [np.full(len(boxes[0]), -1, np.int64)]
    propagated = np.asarray(propagated_boxes_xyxy, np.float32).reshape(-1, 4)
    propagated_scores = np.asarray(propagated_scores, np.float32).reshape(-1)
    kept = boxes[0]
    finite = np.isfinite(propagated).all(axis=1)
    for row in np.flatnonzero(finite)[np.argsort(-propagated_scores[finite], kind="stable")]:
        box = propagated[row:row + 1]
        if len(kept) and iou_matrix(box, kept).max() > iou_threshold:
            continue
        kept = np.concatenate([kept, box])
        boxes.append(box)
        scores.append(propagated_scores[row:row + 1])
        source.append(np.array([row], np.int64))
    return np.concatenate(boxes), np.concatenate(scores), np.concatenate(source)


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


class Pipeline:
    """Detect, propagate, estimate poses and track, frame by frame.

    Args:
        detector: ``Frame -> Detections`` (person boxes), see ``detectors``.
        estimator: a ``TopDownPoseEstimator`` (``predict(image, boxes_xywh, box_scores)``).
        tracker: the ``PoseTracker`` giving ids.
        flow: ``(previous_bgr, current_bgr) -> flow`` (an (H, W, 2) array or a
            ``FlowField``; ``DenseFlow``), or None for no optical flow (then neither
            propagation nor "flow_oks" similarity).
        propagate: add boxes around the flow-propagated poses of the previous frame (the
            paper's box propagation); needs ``flow``.
        nms_threshold: IoU above which a propagated box duplicates a detector box or a
            better propagated box (the paper gives none; 0.5 by default).
        detect_every: run the detector on every n-th frame only and rely on propagation in
            between (real-time use); 1 = every frame.
        min_box_score: detector boxes scored below this are not posed at all.
        propagation_keypoint_threshold: keypoints scored at or below this are not used to
            build a propagated box.
        min_propagated_pose_score: a pose estimated in a propagated box is dropped when the
            mean of its keypoint scores above ``propagation_keypoint_threshold`` is below
            this: nobody is there any more.
        max_propagated_frames: a track that only propagation has kept alive for this many
            consecutive frames is no longer propagated (0 = no limit).
        duplicate_oks_threshold: pose NMS: of two poses with OKS above this (one person
            posed twice, e.g. from a partial second detector box or a propagated box next to
            the detected one) only the better scored (box score x pose confidence) is kept.
        max_people: pose at most this many people per frame (0 = all): detector boxes by
            score first, then propagated ones. Bounds the pose time in crowds (real time).
        pose_every: run detector and pose network on every n-th frame only; in between,
            each track's pose is moved by the optical flow (needs ``flow``). 1 = every frame;
            2 halves the network time (real time on a small CPU). ``detect_every`` then
            counts the frames that run the pose network.
        smoother: optional ``(track_ids, keypoints, timestamp_s) -> keypoints`` applied to
            the output (``KeypointSmoother``); tracking always uses the raw keypoints.
    """

    def __init__(self, *, detector: Callable[[Frame], Detections], estimator,
                 tracker: PoseTracker, flow: Optional[Callable] = None, propagate: bool = True,
                 nms_threshold: float = 0.5, detect_every: int = 1, min_box_score: float = 0.0,
                 propagation_keypoint_threshold: float = 0.2,
                 min_propagated_pose_score: float = 0.3, max_propagated_frames: int = 30,
                 duplicate_oks_threshold: float = 0.7, max_people: int = 0,
                 pose_every: int = 1, smoother: Optional[Callable] = None) -> None:
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        if not 0.0 <= nms_threshold <= 1.0:
            raise ValueError(f"nms_threshold must be in [0, 1], got {nms_threshold}")
        if max_propagated_frames < 0:
            raise ValueError(f"max_propagated_frames must be >= 0, got {max_propagated_frames}")
        if max_people < 0:
            raise ValueError(f"max_people must be >= 0, got {max_people}")
        if pose_every < 1:
            raise ValueError(f"pose_every must be >= 1, got {pose_every}")
        if pose_every > 1 and flow is None:
            raise ValueError("pose_every > 1 needs optical flow to move the poses in between")
        if flow is None and (propagate or tracker.similarity == "flow_oks"):
            raise ValueError("propagate=True and similarity 'flow_oks' need optical flow: "
                             "pass flow=DenseFlow(...) or use propagate=False with 'oks'/'iou'")
        if detect_every > 1 and not propagate:
            raise ValueError("detect_every > 1 needs propagate=True to fill the frames "
                             "without detections")
        self.detector = detector
        self.estimator = estimator
        self.tracker = tracker
        self.flow = flow
        self.propagate = propagate
        self.nms_threshold = nms_threshold
        self.detect_every = detect_every
        self.min_box_score = min_box_score
        self.propagation_keypoint_threshold = propagation_keypoint_threshold
        self.min_propagated_pose_score = min_propagated_pose_score
        self.max_propagated_frames = max_propagated_frames
        self.duplicate_oks_threshold = duplicate_oks_threshold
        self.max_people = max_people
        self.pose_every = pose_every
        self.smoother = smoother
        self.stage_seconds = dict.fromkeys(STAGES, 0.0)
        self.reset()

    def reset(self) -> None:
        """Forget all tracks (a new video); stage timings are kept."""
        self.tracker.reset()
        if self.smoother is not None and hasattr(self.smoother, "reset"):
            self.smoother.reset()
        self._previous_image: Optional[np.ndarray] = None
        self._frames_done = 0
        self._pose_frames_done = 0
        self._propagated_streak: dict[int, int] = {}

    @contextmanager
    def _timed(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[stage] += time.perf_counter() - start

    def __call__(self, frame: Frame) -> FrameResult:
        """Tracked poses of ``frame``; frames must come in order (call ``reset`` between videos)."""
        # 1. flow from the previous frame moves every track's poses into this frame
        if self.flow is not None and self._previous_image is not None:
            with self._timed("flow"):
                if self._previous_image.shape == frame.image.shape:
                    self.tracker.warp(self.flow(self._previous_image, frame.image))
                else:   # a stream changed resolution: start over
                    self.reset()
        if self._frames_done % self.pose_every and self.tracker.num_tracks:
            return self._flow_only(frame)
        # 2. detector boxes, and boxes around the propagated poses
        with self._timed("detect"):
            if self._pose_frames_done % self.detect_every == 0 or self.tracker.num_tracks == 0:
                detected = self.detector(frame)
                detected = detected[detected.scores >= self.min_box_score]
            else:
                detected = Detections.empty()
        _, propagated = self._propagated()
        boxes_xyxy, box_scores, source = merge_boxes(
            detected, boxes_around_keypoints(propagated.keypoints, propagated.keypoint_scores,
                                             self.propagation_keypoint_threshold,
                                             PROPAGATED_BOX_ENLARGE),
            propagated.box_scores, self.nms_threshold)
        if self.max_people and len(source) > self.max_people:
            first = np.lexsort((-box_scores, source >= 0))[:self.max_people]
            boxes_xyxy, box_scores, source = boxes_xyxy[first], box_scores[first], source[first]
        # 3. one pose per box
        with self._timed("pose"):
            poses = self.estimator.predict(frame.image, xyxy_to_xywh(boxes_xyxy), box_scores)
        keep = self._select_poses(poses, source)
        poses, source = poses[keep], source[keep]
        self._pose_frames_done += 1
        # 4. association
        with self._timed("associate"):
            track_ids = self.tracker.update(poses)
        self._count_propagation(track_ids, source)
        return self._result(frame, poses, track_ids)

    def _flow_only(self, frame: Frame) -> FrameResult:
        """A frame without detector and pose network: every track's pose moved by the flow."""
        with self._timed("associate"):
            _, poses = self.tracker.propagated_poses()
            track_ids = self.tracker.update(poses)
        return self._result(frame, poses, track_ids)

    def _result(self, frame: Frame, poses: Poses, track_ids: np.ndarray) -> FrameResult:
        keypoints = poses.keypoints
        if self.smoother is not None and len(poses):
            keypoints = self.smoother(track_ids, keypoints, frame.timestamp_s)
        self._previous_image = frame.image
        self._frames_done += 1
        return FrameResult(index=frame.index, name=frame.name, timestamp_s=frame.timestamp_s,
                           track_ids=track_ids,
                           poses=Poses(keypoints=keypoints, keypoint_scores=poses.keypoint_scores,
                                       boxes_xyxy=poses.boxes_xyxy, box_scores=poses.box_scores))

    def _propagated(self) -> tuple[np.ndarray, Poses]:
        if not self.propagate:
            return np.zeros(0, np.int64), Poses.empty(self.estimator.num_keypoints)
        track_ids, poses = self.tracker.propagated_poses()
        if self.max_propagated_frames:
            streak = np.array([self._propagated_streak.get(int(i), 0) for i in track_ids])
            alive = streak < self.max_propagated_frames
            track_ids, poses = track_ids[alive], poses[alive]
        return track_ids, poses

    def _select_poses(self, poses: Poses, source: np.ndarray) -> np.ndarray:
        """(M,) indices of the poses kept: propagated poses with someone in them, then
        pose NMS (one pose per person, the best scored)."""
        confidence = pose_confidence(poses.keypoint_scores, self.propagation_keypoint_threshold)
        candidates = np.flatnonzero((source < 0) | (confidence >= self.min_propagated_pose_score))
        ranking = poses.box_scores[candidates] * confidence[candidates]
        return candidates[pose_nms(poses[candidates], ranking, self.tracker.oks_sigmas,
                                   self.duplicate_oks_threshold,
                                   self.propagation_keypoint_threshold)]

    def _count_propagation(self, track_ids: np.ndarray, source: np.ndarray) -> None:
        streak = {}
        for track_id, row in zip(track_ids.tolist(), source.tolist()):
            streak[track_id] = self._propagated_streak.get(track_id, 0) + 1 if row >= 0 else 0
        self._propagated_streak = streak
