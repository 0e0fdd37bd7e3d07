"""PoseTracker: gives every pose of a frame a track id (Simple Baselines section 3.2).

Per frame: ``warp(flow)`` moves the stored poses of every track into the current frame, then
``update(poses)`` runs the numbered steps of ``update``. Track ids are owned by the instance
(0, 1, 2, ... in order of creation) and restart from 0 after ``reset()``.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Optional

import numpy as np

from tracker.tracking.association import MATCHERS, oks_matrix
from tracker.boxes import box_areas, iou_matrix
from tracker.tracking.flow import warp_point_sets
from tracker.types import Poses

#: Similarity functions by name: box IoU, OKS to the last pose, OKS to flow-warped poses.
SIMILARITIES = ("iou", "oks", "flow_oks")


@dataclass
class _Track:
    track_id: int
    keypoints: deque            # last observed poses, (K, 2) each, newest last
    warped: deque               # the same poses moved into the current frame by the flow
    scores: deque               # (K,) keypoint scores of those poses
    areas: deque                # box areas (pixels^2) of those poses
    box_xyxy: np.ndarray        # last observed box
    box_score: float
    frames_unseen: int = 0      # consecutive frames without a matched pose
    frames_propagated: int = 0  # consecutive frames matched only to poses in propagated boxes


@dataclass
class PropagatedPoses:
    """The poses of the tracks seen in the previous frame, moved into the current one.

    Attributes:
        track_ids: (T,) int64.
        poses: T poses: keypoints moved by the flow, the last keypoint scores, the last
            boxes moved by the mean keypoint motion, the last box scores.
        frames_propagated: (T,) int64 consecutive frames each track was kept alive only by
            poses estimated in propagated boxes (0: seen by the detector last frame).
    """

    track_ids: np.ndarray
    poses: Poses
    frames_propagated: np.ndarray

    def __len__(self) -> int:
        return len(self.track_ids)

    @classmethod
    def empty(cls, num_keypoints: int) -> "PropagatedPoses":
        return cls(track_ids=np.zeros(0, np.int64), poses=Poses.empty(num_keypoints),
                   frames_propagated=np.zeros(0, np.int64))

    def __getitem__(self, index) -> "PropagatedPoses":
        return PropagatedPoses(track_ids=self.track_ids[index], poses=self.poses[index],
                               frames_propagated=self.frames_propagated[index])

    @classmethod
    def moved(cls, *, track_ids, keypoints_xy: np.ndarray, moved_xy: np.ndarray,
              keypoint_scores, boxes_xyxy, box_scores, frames_propagated) -> "PropagatedPoses":
        """T tracks' last poses ``keypoints_xy`` (T, K, 2) moved to ``moved_xy`` (T, K, 2);
        each last box (T, 4) moves by the mean motion of its pose's finite keypoints.
        track_ids, box_scores, frames_propagated: (T,); keypoint_scores: (T, K)."""
        motion = moved_xy - keypoints_xy
        finite = np.isfinite(motion).all(axis=2, keepdims=True)
        shift = np.where(finite, motion, 0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
        poses = Poses(keypoints=moved_xy, keypoint_scores=keypoint_scores,
                      boxes_xyxy=boxes_xyxy + np.tile(shift, 2),
                      box_scores=np.asarray(box_scores, np.float32))
        return cls(track_ids=np.asarray(track_ids, np.int64), poses=poses,
                   frames_propagated=np.asarray(frames_propagated, np.int64))


class PoseTracker:
    """Associates the poses of consecutive frames.

    Args:
        oks_sigmas: (K,) OKS constants of the keypoint set (COCO's for PoseTrack18).
        similarity: "flow_oks" (default, the paper's best: OKS to poses warped by optical
            flow; needs ``warp`` every frame), "oks" (pose OKS, no flow) or "iou" (box IoU).
        matcher: "greedy" (the paper's) or "hungarian" (``lap``; better in crowds).
        min_similarity: pairs below this never match; the pose then starts a new track.
            Low values keep ids through fast motion, high values avoid id swaps in crowds.
        history_frames: L_Q of the paper's multi-flow similarity: each track keeps its last
            L observed poses (all warped forward) and a pose matches the best of them.
            1 = flow OKS to the previous pose only.
        max_age_frames: a track not matched for more frames than this is retired; a person
            reappearing within the gap keeps the id.
        keypoint_score_threshold: keypoints scored at or below this are ignored by OKS.
        min_area: lower bound (pixels^2) of the pose area that scales OKS distances. People
            cut by the frame border can have boxes of almost zero area, which makes any
            motion an OKS of 0 and starts a new id every frame.
    """

    def __init__(self, *, oks_sigmas, similarity: str = "flow_oks", matcher: str = "greedy",
                 min_similarity: float = 0.1, history_frames: int = 1, max_age_frames: int = 10,
                 keypoint_score_threshold: float = 0.2, min_area: float = 32.0 ** 2) -> None:
        if similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
        if matcher not in MATCHERS:
            raise ValueError(f"matcher must be one of {sorted(MATCHERS)}, got {matcher!r}")
        if history_frames < 1:
            raise ValueError(f"history_frames must be >= 1, got {history_frames}")
        if max_age_frames < 0:
            raise ValueError(f"max_age_frames must be >= 0, got {max_age_frames}")
        self.oks_sigmas = np.asarray(oks_sigmas, np.float64)
        self.similarity = similarity
        self.match = MATCHERS[matcher]
        self.min_similarity = min_similarity
        self.history_frames = history_frames
        self.max_age_frames = max_age_frames
        self.keypoint_score_threshold = keypoint_score_threshold
        if not min_area >= 0:
            raise ValueError(f"min_area must be >= 0, got {min_area}")
        self.min_area = float(min_area)
        self.reset()

    def reset(self) -> None:
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._last_count = 0      # poses in the last update

    @property
    def num_tracks(self) -> int:
        """Tracks alive (seen within the last ``max_age_frames`` frames)."""
        return len(self._tracks)

    @property
    def confirmation_delay(self) -> int:
        """0: every pose is written with its id at once (no tentative tracks)."""
        return 0

    def tentative(self) -> tuple[np.ndarray, dict]:
        """No tentative tracks: (N,) -1 for the poses of the last ``update``, and {}."""
        return np.full(self._last_count, -1, np.int64), {}

    @property
    def needs_flow(self) -> bool:
        """The similarity compares poses warped by optical flow: call ``warp`` every frame."""
        return self.similarity == "flow_oks"

    def warp(self, flow: np.ndarray) -> None:
        """Move every track's stored poses by the flow F(k-1 -> k): an (H, W, 2) array or a
        ``tracker.tracking.flow.FlowField``."""
        moved = iter(warp_point_sets([p for t in self._tracks for p in t.warped], flow))
        for track in self._tracks:   # one flow lookup for every stored pose of every track
            track.warped = deque([next(moved) for _ in range(len(track.warped))],
                                 maxlen=self.history_frames)

    def propagated_poses(self) -> PropagatedPoses:
        """Latest pose of the tracks seen in the previous frame, moved by the last ``warp``."""
        recent = [t for t in self._tracks if t.frames_unseen == 0]
        if not recent:
            return PropagatedPoses.empty(len(self.oks_sigmas))
        return PropagatedPoses.moved(
            track_ids=[t.track_id for t in recent],
            keypoints_xy=np.stack([t.keypoints[-1] for t in recent]),
            moved_xy=np.stack([t.warped[-1] for t in recent]),
            keypoint_scores=np.stack([t.scores[-1] for t in recent]),
            boxes_xyxy=np.stack([t.box_xyxy for t in recent]),
            box_scores=[t.box_score for t in recent],
            frames_propagated=[t.frames_propagated for t in recent])

    def _similarity(self, poses: Poses) -> np.ndarray:
        if self.similarity == "iou":
            boxes = np.stack([t.box_xyxy for t in self._tracks]) if self._tracks else np.zeros((0, 4))
            return iou_matrix(boxes, poses.boxes_xyxy)
        areas = np.maximum(box_areas(poses.boxes_xyxy), self.min_area)
        matrix = np.zeros((len(self._tracks), len(poses)))
        for row, track in enumerate(self._tracks):
            history = track.warped if self.similarity == "flow_oks" else track.keypoints
            oks = oks_matrix(np.stack(history), poses.keypoints, np.asarray(track.areas), areas,
                             self.oks_sigmas, np.stack(track.scores), poses.keypoint_scores,
                             self.keypoint_score_threshold)
            matrix[row] = oks.max(axis=0) if len(oks) else 0.0
        return matrix

    def update(self, poses: Poses, propagated: Optional[np.ndarray] = None,
               frame=None, timestamp_s: Optional[float] = None) -> np.ndarray:
        """Track ids (N,) int64 for the poses of the current frame.

        Args:
            poses: the N poses of the frame.
            propagated: (N,) bool, pose i was estimated in a box propagated by flow (not
                found by the detector); counts ``frames_propagated``. None leaves the counts
                as they are (a frame where every pose is only moved by the flow).
            frame, timestamp_s: the ``Frame`` or the frame's time (unused here: the paper's
                tracker needs neither time nor image; ``RobustPoseTracker`` uses both).
        """
        # 1. similarity of every live track to every current pose
        similarity = self._similarity(poses)
        # 2. match (rows: tracks, columns: poses)
        matches, unmatched_tracks, unmatched_poses = self.match(similarity, self.min_similarity)
        track_ids = np.full(len(poses), -1, np.int64)
        # 3. matched tracks take the new pose
        for row, column in matches:
            self._observe(self._tracks[row], poses, column)
            track_ids[column] = self._tracks[row].track_id
        # 4. unmatched poses start new tracks
        for column in unmatched_poses:
            track = self._new_track(poses, column)
            track_ids[column] = track.track_id
        # 5. unmatched tracks age, and retire after max_age_frames
        for row in unmatched_tracks:
            self._tracks[row].frames_unseen += 1
        if propagated is not None:
            self._count_propagated(track_ids, np.asarray(propagated, bool))
        self._tracks = [t for t in self._tracks if t.frames_unseen <= self.max_age_frames]
        self._last_count = len(poses)
        return track_ids

    def _count_propagated(self, track_ids: np.ndarray, propagated: np.ndarray) -> None:
        if propagated.shape != track_ids.shape:
            raise ValueError(f"propagated must have shape {track_ids.shape} (one flag per "
                             f"pose), got {propagated.shape}")
        from_propagation = dict(zip(track_ids.tolist(), propagated.tolist()))
        for track in self._tracks:
            flag = from_propagation.get(track.track_id)
            track.frames_propagated = track.frames_propagated + 1 if flag else 0

    def _observe(self, track: _Track, poses: Poses, column: int) -> None:
        for history, value in ((track.keypoints, poses.keypoints[column]),
                               (track.warped, poses.keypoints[column]),
                               (track.scores, poses.keypoint_scores[column]),
                               (track.areas, max(self.min_area, float(
                                   box_areas(poses.boxes_xyxy[column:column + 1])[0])))):
            history.append(value)
        track.box_xyxy = poses.boxes_xyxy[column]
        track.box_score = float(poses.box_scores[column])
        track.frames_unseen = 0

    def _new_track(self, poses: Poses, column: int) -> _Track:
        track = _Track(track_id=self._next_id, **{
            name: deque(maxlen=self.history_frames)
            for name in ("keypoints", "warped", "scores", "areas")},
            box_xyxy=poses.boxes_xyxy[column], box_score=float(poses.box_scores[column]))
        self._next_id += 1
        self._observe(track, poses, column)
        self._tracks.append(track)
        return track
