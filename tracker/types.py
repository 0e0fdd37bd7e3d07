"""Data passed between stages: one small struct-of-arrays dataclass per boundary.

Conventions used across the project:

* All coordinates are pixels of the original frame (x to the right, y down).
* Box formats are named: ``boxes_xyxy`` is ``(x1, y1, x2, y2)``, ``boxes_xywh`` is
  ``(x, y, width, height)`` with ``(x, y)`` the top-left corner (COCO's ``bbox``).
* ``N`` is the number of people in a frame, ``K`` the number of keypoints of the model's
  keypoint set (17 for COCO and PoseTrack18).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


def _check_array(name: str, value: np.ndarray, shape: tuple, dtype) -> np.ndarray:
    """Return ``value`` as a C-contiguous array of ``dtype``; ``shape`` uses None for any size."""
    array = np.ascontiguousarray(value, dtype=dtype)
    ok = array.ndim == len(shape) and all(
        want is None or want == got for want, got in zip(shape, array.shape))
    if not ok:
        expected = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {expected}, got {tuple(array.shape)}")
    return array


@dataclass
class Frame:
    """One decoded video frame.

    Attributes:
        index: 0-based position in the source (frames that failed to decode still count).
        image: (H, W, 3) uint8 BGR pixels.
        name: file name for a folder of frames (e.g. "000123.jpg"), else f"{index:06d}".
        timestamp_s: presentation time in seconds (index / fps when the source has no clock).
    """

    index: int
    image: np.ndarray
    name: str
    timestamp_s: float = 0.0

    def __post_init__(self) -> None:
        if not (isinstance(self.image, np.ndarray) and self.image.dtype == np.uint8
                and self.image.ndim == 3 and self.image.shape[2] == 3):
            shape = getattr(self.image, "shape", None)
            raise ValueError(f"frame image must be (H, W, 3) uint8, got {shape}")


@dataclass
class Detections:
    """Person boxes found in one frame.

    Attributes:
        boxes_xyxy: (N, 4) float32, frame pixels.
        scores: (N,) float32 detector confidence.
    """

    boxes_xyxy: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        self.boxes_xyxy = _check_array("boxes_xyxy", self.boxes_xyxy, (None, 4), np.float32)
        self.scores = _check_array("scores", self.scores, (len(self.boxes_xyxy),), np.float32)

    def __len__(self) -> int:
        return len(self.boxes_xyxy)

    def __getitem__(self, index) -> "Detections":
        return Detections(boxes_xyxy=self.boxes_xyxy[index], scores=self.scores[index])

    @classmethod
    def empty(cls) -> "Detections":
        return cls(boxes_xyxy=np.zeros((0, 4), np.float32), scores=np.zeros((0,), np.float32))


@dataclass
class Poses:
    """Keypoints of the people in one frame.

    Attributes:
        keypoints: (N, K, 2) float32 (x, y), frame pixels. NaN for a person whose box was
            invalid (non-finite or empty), see ``TopDownPoseEstimator.predict``.
        keypoint_scores: (N, K) float32 heatmap maxima (not clipped to [0, 1]).
        boxes_xyxy: (N, 4) float32, the person boxes the keypoints were estimated in.
        box_scores: (N,) float32 detector confidence of those boxes (1 when unknown).
    """

    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    boxes_xyxy: np.ndarray
    box_scores: np.ndarray

    def __post_init__(self) -> None:
        self.keypoints = _check_array("keypoints", self.keypoints, (None, None, 2), np.float32)
        n, k = self.keypoints.shape[:2]
        self.keypoint_scores = _check_array(
            "keypoint_scores", self.keypoint_scores, (n, k), np.float32)
        self.boxes_xyxy = _check_array("boxes_xyxy", self.boxes_xyxy, (n, 4), np.float32)
        self.box_scores = _check_array("box_scores", self.box_scores, (n,), np.float32)

    @property
    def num_keypoints(self) -> int:
        return self.keypoints.shape[1]

    def __len__(self) -> int:
        return len(self.keypoints)

    def __getitem__(self, index) -> "Poses":
        return Poses(keypoints=self.keypoints[index], keypoint_scores=self.keypoint_scores[index],
                     boxes_xyxy=self.boxes_xyxy[index], box_scores=self.box_scores[index])

    @classmethod
    def concatenate(cls, parts: list["Poses"]) -> "Poses":
        """The people of ``parts`` (at least one), in order."""
        return cls(keypoints=np.concatenate([p.keypoints for p in parts]),
                   keypoint_scores=np.concatenate([p.keypoint_scores for p in parts]),
                   boxes_xyxy=np.concatenate([p.boxes_xyxy for p in parts]),
                   box_scores=np.concatenate([p.box_scores for p in parts]))

    @classmethod
    def empty(cls, num_keypoints: int) -> "Poses":
        return cls(keypoints=np.zeros((0, num_keypoints, 2), np.float32),
                   keypoint_scores=np.zeros((0, num_keypoints), np.float32),
                   boxes_xyxy=np.zeros((0, 4), np.float32),
                   box_scores=np.zeros((0,), np.float32))


@dataclass
class FrameResult:
    """The tracked poses of one frame: what the pipeline hands to writers and renderers.

    Attributes:
        index: 0-based frame position in the source (``Frame.index``).
        name: frame name (``Frame.name``): a file name for a folder of frames.
        poses: the N people kept in this frame.
        track_ids: (N,) int64, one id per person, stable across frames (>= 0).
        timestamp_s: presentation time of the frame in seconds.
        tentative: poses of tracks not confirmed yet (not written as they are; see
            ``tracker.tracking.backfill``), or None.
        confirmed: tracks confirmed in this frame: their ``TentativePoses.track_keys`` key ->
            the id they are written with from now on (and, by ``Backfill``, retroactively).
    """

    index: int
    name: str
    poses: Poses
    track_ids: np.ndarray
    timestamp_s: float = 0.0
    tentative: Optional["TentativePoses"] = None
    confirmed: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.track_ids = _check_array("track_ids", self.track_ids, (len(self.poses),), np.int64)

    def __len__(self) -> int:
        return len(self.poses)


@dataclass
class TentativePoses:
    """Poses held by tentative tracks in one frame: written later, with the track's id, if the
    track is confirmed within the tracker's ``confirmation_delay`` frames, never otherwise.

    Attributes:
        poses: the P poses.
        track_keys: (P,) int64, the tracker's internal key of each one's track (not an id).
    """

    poses: Poses
    track_keys: np.ndarray

    def __post_init__(self) -> None:
        self.track_keys = _check_array("track_keys", self.track_keys, (len(self.poses),),
                                       np.int64)

    def __len__(self) -> int:
        return len(self.poses)
