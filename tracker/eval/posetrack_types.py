"""Data types of the PoseTrack18 evaluator: joints, per-frame people arrays, frame pairs.

Shapes: N people, 15 joints in poseval's order (``POSEVAL_JOINTS``), pixel coordinates of
the original frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from tracker.errors import FileFormatError

POSEVAL_JOINTS = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
    "left_wrist", "head_bottom", "nose", "head_top",
)  # poseval joint ids 0..14 (`convert.py:POSETRACK18_LM_NAMES`); head_bottom is poseval's "neck"
NUM_JOINTS = len(POSEVAL_JOINTS)
MIN_SCORE = -9999.0         # score of a predicted joint without one (`eval_helpers.MIN_SCORE`)
MAX_TRACK_ID = 10000        # track ids must be < this (`eval_helpers.MAX_TRACK_ID`)
HEAD_SIZE_FACTOR = 0.6      # PCKh reference = 0.6 x head-box diagonal (`getHeadSize`)


class PoseTrackEvalError(FileFormatError):
    """Bad evaluator input; the message names the file, the field and what was expected."""


@dataclass(frozen=True, eq=False)
class PoseSet:
    """The people of one frame, in file order, with keypoints in poseval's joint order.

    track_ids (N,) int64; keypoints (N, 15, 2) float64 pixels (0 where absent);
    present (N, 15) bool; scores (N, 15) float64 (``MIN_SCORE`` where the file has none);
    head_boxes (N, 4) float64 x1, y1, x2, y2 (NaN without ``bbox_head``);
    annotation_index (N,) int64 position in the file's ``annotations`` list.
    """

    track_ids: np.ndarray
    keypoints: np.ndarray
    present: np.ndarray
    scores: np.ndarray
    head_boxes: np.ndarray
    annotation_index: np.ndarray

    def __post_init__(self):
        n = len(self.track_ids)
        expected = {"track_ids": (n,), "keypoints": (n, NUM_JOINTS, 2),
                    "present": (n, NUM_JOINTS), "scores": (n, NUM_JOINTS),
                    "head_boxes": (n, 4), "annotation_index": (n,)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"PoseSet.{name} must have shape {shape}, "
                                 f"got {getattr(self, name).shape}")
        if self.scores.dtype != np.float64:   # poseval ranks float64 scores (ties!)
            raise ValueError(f"PoseSet.scores must be float64, got {self.scores.dtype}")

    def __len__(self) -> int:
        return len(self.track_ids)

    @classmethod
    def empty(cls) -> PoseSet:
        return cls(np.zeros(0, np.int64), np.zeros((0, NUM_JOINTS, 2)),
                   np.zeros((0, NUM_JOINTS), bool), np.zeros((0, NUM_JOINTS)),
                   np.zeros((0, 4)), np.zeros(0, np.int64))

    def select(self, keep: np.ndarray, present: np.ndarray | None = None) -> PoseSet:
        """The people where ``keep`` (N,) is true, optionally with a new ``present`` (N, 15)."""
        present = self.present if present is None else present
        return PoseSet(self.track_ids[keep], self.keypoints[keep], present[keep],
                       self.scores[keep], self.head_boxes[keep], self.annotation_index[keep])

    @property
    def head_sizes(self) -> np.ndarray:
        """(N,) ``0.6 * ||(x2 - x1, y2 - y1)||``, no clamp (a degenerate box never matches)."""
        wh = self.head_boxes[:, 2:] - self.head_boxes[:, :2]
        return HEAD_SIZE_FACTOR * np.sqrt(wh[:, 0] * wh[:, 0] + wh[:, 1] * wh[:, 1])


@dataclass(frozen=True)
class FramePair:
    """One evaluated frame: GT and prediction after cleanup; ``image`` is the GT file_name."""

    gt: PoseSet
    pred: PoseSet
    image: str
    index: int  # position in the GT file's ``images``


@dataclass(frozen=True)
class SequencePair:
    """One GT file and its prediction file; ``frames`` holds only the evaluated frames.

    ``gt_bboxes`` / ``pred_bboxes``: each annotation's ``bbox`` value as in the file, in file
    order (None where absent), kept when loading so the identity metrics' person boxes need
    no second read of the files; None: not kept (then they are read again).
    """

    name: str
    gt_file: Path
    pred_file: Path
    frames: tuple[FramePair, ...]
    gt_bboxes: Optional[tuple] = None
    pred_bboxes: Optional[tuple] = None
