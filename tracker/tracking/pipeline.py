"""The per-frame tracking pipeline of Simple Baselines (section 3), one ``Frame`` at a time.

    frame k-1, k ──DenseFlow──> F(k-1 -> k) ──PoseTracker.warp──> track poses moved to k
    frame k ──detector (every ``detect_every`` frames)──────────────> boxes D (+ scores)
    propagated poses ──boxes_around_keypoints (+15 %)──> propagated boxes P
    merge_boxes(D, P) ──> Candidates: detector boxes first, P fills in where none overlaps
        ──TopDownPoseEstimator.predict──> poses ──select_poses (empty propagated boxes out,
        pose NMS)──> PoseTracker.update ──> track ids ──(optional KeypointSmoother)──> FrameResult

Every stage is injected, so a test can replace the detector, the pose network or the flow.
The pure steps live in ``tracker.tracking.propagation``; the track state (ids, history, how
long a track has been kept alive by propagation alone) lives in the ``PoseTracker``.
``Pipeline.stage_seconds`` accumulates the wall time of each stage for benchmarks.

The flow and the detector boxes of a frame do not depend on the tracks: ``Pipeline.prepare``
computes them apart (``tracker.tracking.overlap`` runs it ahead, in its own thread) and
``Pipeline.__call__(frame, prepared)`` uses them, with the same result as computing them in
line. Neither do the poses of the detector boxes: with ``pose_window`` > 1 ``prepare_window``
poses those of several frames in shared network calls, and the frame's turn poses only the
boxes that propagation adds.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from tracker.boxes import xyxy_to_xywh
from tracker.tracking.backfill import tentative_of
from tracker.tracking.flow import PROPAGATED_BOX_ENLARGE, boxes_around_keypoints
from tracker.tracking.pose_tracker import PoseTracker, PropagatedPoses
from tracker.tracking.propagation import (Candidates, best_candidates, merge_boxes,
                                          select_poses)
from tracker.types import Detections, Frame, FrameResult, Poses

#: Stages timed by ``Pipeline.stage_seconds``.
STAGES = ("detect", "flow", "pose", "associate")


@dataclass
class Prepared:
    """What one frame needs that does not depend on the tracks (``Pipeline.prepare``).

    flow: the optical flow from the previous frame to this one, or None (first frame, no
    flow, a change of frame size). detections: the detector's boxes of the frame (before
    ``min_box_score``), or None where ``prepare`` leaves detection to the frame's turn
    (``detect_every`` or ``pose_every`` > 1: whether the frame is detected depends on the
    tracks). detector_poses: with ``pose_window`` > 1, the poses of the detector boxes that
    ``__call__`` will pose (``AheadPoses``), else None.
    """

    flow: Optional[object] = None
    detections: Optional[Detections] = None
    detector_poses: Optional["AheadPoses"] = None


@dataclass
class AheadPoses:
    """Poses of a frame's detector boxes, estimated in ``prepare_window`` with the boxes of
    the other frames of the window.

    rows: (M,) int64 rows of the poses' boxes in the frame's detections (after
    ``min_box_score``); poses: their M ``Poses``, in that order.
    """

    rows: np.ndarray
    poses: Poses

    def lookup(self, detected_row: np.ndarray) -> np.ndarray:
        """(N,) rows of ``poses`` for these detection rows, -1 where there is none."""
        detected_row = np.asarray(detected_row, np.int64)
        found = np.full(len(detected_row), -1, np.int64)
        for index, row in enumerate(self.rows):
            found[detected_row == row] = index
        return found


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
        detect_window: frames detected in one ``detector.detect_batch`` call by
            ``prepare_window`` (the runners of ``tracker.tracking.overlap``), where every
            frame is detected; > 1 needs a detector with ``detect_batch`` (the mmdet ones:
            Cascade R-CNN, YOLOv3), which fills a GPU better at the cost of that many frames
            of latency. 1 = one frame per call.
        pose_window: frames whose detector boxes are posed together, in shared network
            calls, by ``prepare_window`` (ahead of the tracks: a detector box is posed
            whatever the tracks are); only the propagated boxes are posed in the frame's
            turn. A few people per frame then still fill a network batch (``max_batch_size``)
            at the cost of that many frames of latency. Where not every frame is detected
            (``detect_every`` or ``pose_every`` > 1) it has no effect. The poses are the
            same up to float rounding (a crop may round differently in another batch).
            1 = each frame's boxes in its own turn.
    """

    def __init__(self, *, detector: Callable[[Frame], Detections], estimator,
                 tracker: PoseTracker, flow: Optional[Callable] = None, propagate: bool = True,
                 nms_threshold: float = 0.5, detect_every: int = 1, min_box_score: float = 0.0,
                 propagation_keypoint_threshold: float = 0.2,
                 min_propagated_pose_score: float = 0.3, max_propagated_frames: int = 30,
                 duplicate_oks_threshold: float = 0.7, max_people: int = 0,
                 pose_every: int = 1, smoother: Optional[Callable] = None,
                 detect_window: int = 1, pose_window: int = 1) -> None:
        if pose_window < 1:
            raise ValueError(f"pose_window must be >= 1, got {pose_window}")
        if detect_window < 1:
            raise ValueError(f"detect_window must be >= 1, got {detect_window}")
        if detect_window > 1 and not callable(getattr(detector, "detect_batch", None)):
            raise ValueError("detect_window > 1 needs a detector with detect_batch(frames) "
                             "(the mmdet detectors: Cascade R-CNN, YOLOv3); use detect_window 1")
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
        if flow is None and (propagate or tracker.needs_flow):
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
        self.detect_window = detect_window
        self.pose_window = pose_window
        self._pose_lock = threading.Lock()       # prepare may pose in another thread
        self.stage_seconds = dict.fromkeys(STAGES, 0.0)
        self._seconds_lock = threading.Lock()     # prepare may run in another thread
        self.reset()

    def reset(self) -> None:
        """Forget all tracks (a new video); stage timings are kept."""
        self.tracker.reset()
        if self.smoother is not None and hasattr(self.smoother, "reset"):
            self.smoother.reset()
        self._previous_image: Optional[np.ndarray] = None
        self._frames_done = 0
        self._pose_frames_done = 0

    @contextmanager
    def _timed(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            with self._seconds_lock:
                self.stage_seconds[stage] += time.perf_counter() - start

    @property
    def detects_every_frame(self) -> bool:
        """Every frame runs the detector (``detect_every`` and ``pose_every`` 1)."""
        return self.detect_every == 1 and self.pose_every == 1

    @property
    def window(self) -> int:
        """Frames ``prepare_window`` takes at once, where every frame is detected:
        ``pose_window`` when it is over 1, else ``detect_window``; 1 otherwise."""
        if not self.detects_every_frame:
            return 1
        return self.pose_window if self.pose_window > 1 else self.detect_window

    def prepare(self, frame: Frame, previous_image: Optional[np.ndarray]) -> Prepared:
        """The flow from ``previous_image`` (the image of the frame before ``frame``, None
        for the first) and, where every frame is detected, the detector's boxes. Uses no
        track state, so it can run ahead of ``__call__`` in another thread."""
        return self.prepare_window([frame], previous_image)[0]

    def prepare_window(self, frames: list[Frame],
                       previous_image: Optional[np.ndarray]) -> list[Prepared]:
        """``prepare`` of consecutive ``frames`` (``previous_image`` is the image before the
        first): their detections in ``detect_batch`` calls of ``detect_window`` frames, and
        with ``pose_window`` > 1 the poses of their detector boxes in shared network calls."""
        flows = []
        for frame in frames:
            flow = None
            if self.flow is not None and previous_image is not None and \
                    previous_image.shape == frame.image.shape:
                with self._timed("flow"):
                    flow = self.flow(previous_image, frame.image)
            flows.append(flow)
            previous_image = frame.image
        detections: list[Optional[Detections]] = [None] * len(frames)
        ahead: list[Optional[AheadPoses]] = [None] * len(frames)
        if self.detects_every_frame:
            with self._timed("detect"):
                detections = []
                for start in range(0, len(frames), self.detect_window):
                    chunk = frames[start:start + self.detect_window]
                    detections += self.detector.detect_batch(chunk) if len(chunk) > 1 else \
                        [self.detector(chunk[0])]
            if self.pose_window > 1:
                ahead = self._pose_detections(frames, detections)
        return [Prepared(flow=flow, detections=found, detector_poses=poses)
                for flow, found, poses in zip(flows, detections, ahead)]

    def _pose_detections(self, frames: list[Frame],
                         detections: list[Detections]) -> list[AheadPoses]:
        """The poses of the detector boxes that each frame's turn would pose (those above
        ``min_box_score``, at most ``max_people`` by score), all frames in shared calls."""
        chosen = []
        for found in detections:
            found = found[found.scores >= self.min_box_score]
            chosen.append(best_candidates(merge_boxes(found, np.zeros((0, 4)), np.zeros(0),
                                                      self.nms_threshold), self.max_people))
        with self._timed("pose"), self._pose_lock:
            poses = self.estimator.predict_frames(
                [frame.image for frame in frames],
                [xyxy_to_xywh(boxes.boxes_xyxy) for boxes in chosen],
                [boxes.scores for boxes in chosen])
        return [AheadPoses(rows=boxes.detected_row, poses=found)
                for boxes, found in zip(chosen, poses)]

    def __call__(self, frame: Frame, prepared: Optional[Prepared] = None) -> FrameResult:
        """Tracked poses of ``frame``; frames must come in order (call ``reset`` between videos).

        ``prepared``: ``prepare(frame, image of the frame before)``, or None to compute the
        flow and the detections here."""
        self._move_tracks(frame, prepared)                        # 1. optical flow
        if self._frames_done % self.pose_every and self.tracker.num_tracks:
            return self._flow_only(frame)
        propagated = self._propagated()
        candidates = self._candidates(frame, propagated, prepared)   # 2. detector + propagation
        poses, candidates = self._estimate(frame, candidates,     # 3. one pose per person
                                           prepared.detector_poses if prepared else None)
        with self._timed("associate"):                            # 4. track ids
            track_ids = self.tracker.update(poses, propagated=candidates.is_propagated,
                                            frame=frame)
        return self._result(frame, poses, track_ids)

    def _move_tracks(self, frame: Frame, prepared: Optional[Prepared]) -> None:
        """Flow from the previous frame moves every track's poses into this frame."""
        if self.flow is None or self._previous_image is None:
            return
        if self._previous_image.shape != frame.image.shape:   # a stream changed resolution:
            self.reset()                                      # start over
            return
        with self._timed("flow"):
            field = prepared.flow if prepared is not None and prepared.flow is not None else \
                self.flow(self._previous_image, frame.image)
            self.tracker.warp(field)

    def _candidates(self, frame: Frame, propagated: PropagatedPoses,
                    prepared: Optional[Prepared]) -> Candidates:
        """Detector boxes (on detection frames) merged with boxes around propagated poses."""
        with self._timed("detect"):
            if self._pose_frames_done % self.detect_every == 0 or self.tracker.num_tracks == 0:
                detected = prepared.detections if prepared is not None and \
                    prepared.detections is not None else self.detector(frame)
                detected = detected[detected.scores >= self.min_box_score]
            else:
                detected = Detections.empty()
        around = boxes_around_keypoints(propagated.poses.keypoints,
                                        propagated.poses.keypoint_scores,
                                        self.propagation_keypoint_threshold,
                                        PROPAGATED_BOX_ENLARGE)
        candidates = merge_boxes(detected, around, propagated.poses.box_scores,
                                 self.nms_threshold)
        return best_candidates(candidates, self.max_people)

    def _estimate(self, frame: Frame, candidates: Candidates,
                  ahead: Optional[AheadPoses]) -> tuple[Poses, Candidates]:
        """A pose per candidate box (those of ``ahead`` already estimated), then one pose
        per person (``select_poses``)."""
        found = ahead.lookup(candidates.detected_row) if ahead is not None else \
            np.full(len(candidates), -1)
        todo = found < 0
        with self._timed("pose"), self._pose_lock:
            posed = self.estimator.predict(frame.image,
                                           xyxy_to_xywh(candidates.boxes_xyxy[todo]),
                                           candidates.scores[todo])
        if todo.all():
            poses = posed
        else:
            order = np.concatenate([np.flatnonzero(~todo), np.flatnonzero(todo)])
            poses = Poses.concatenate([ahead.poses[found[~todo]], posed])[np.argsort(order)]
        keep = select_poses(poses, candidates, oks_sigmas=self.tracker.oks_sigmas,
                            keypoint_threshold=self.propagation_keypoint_threshold,
                            min_propagated_pose_score=self.min_propagated_pose_score,
                            duplicate_oks_threshold=self.duplicate_oks_threshold)
        self._pose_frames_done += 1
        return poses[keep], candidates[keep]

    def _flow_only(self, frame: Frame) -> FrameResult:
        """A frame without detector and pose network: every track's pose moved by the flow."""
        with self._timed("associate"):
            poses = self.tracker.propagated_poses().poses
            track_ids = self.tracker.update(poses, frame=frame)
        return self._result(frame, poses, track_ids)

    def _result(self, frame: Frame, poses: Poses, track_ids: np.ndarray) -> FrameResult:
        """The frame's people with an id (id -1: a pose the tracker does not write), and those
        of tentative tracks (written later by ``tracker.tracking.backfill`` if confirmed)."""
        tentative, confirmed = tentative_of(self.tracker, poses)
        written = track_ids >= 0
        if not written.all():
            poses, track_ids = poses[written], track_ids[written]
        keypoints = poses.keypoints
        if self.smoother is not None and len(poses):
            keypoints = self.smoother(track_ids, keypoints, frame.timestamp_s)
        self._previous_image = frame.image
        self._frames_done += 1
        return FrameResult(index=frame.index, name=frame.name, timestamp_s=frame.timestamp_s,
                           track_ids=track_ids, tentative=tentative, confirmed=confirmed,
                           poses=Poses(keypoints=keypoints, keypoint_scores=poses.keypoint_scores,
                                       boxes_xyxy=poses.boxes_xyxy, box_scores=poses.box_scores))

    def _propagated(self) -> PropagatedPoses:
        """The tracks' poses to build propagated boxes around (none without propagation;
        not those kept alive by propagation alone for ``max_propagated_frames``)."""
        if not self.propagate:
            return PropagatedPoses.empty(len(self.tracker.oks_sigmas))
        propagated = self.tracker.propagated_poses()
        if self.max_propagated_frames:
            propagated = propagated[propagated.frames_propagated < self.max_propagated_frames]
        return propagated
