"""The detector interface: a callable from one ``Frame`` to person ``Detections``.

Every detector returns person boxes only, as ``(N, 4)`` float32 ``x1, y1, x2, y2`` in pixels
of the original frame (the detector undoes its own resizing), with ``(N,)`` float32 scores
sorted in descending order.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from tracker.types import Detections, Frame


@runtime_checkable
class Detector(Protocol):
    """Anything with ``__call__(frame) -> Detections`` (person boxes, frame pixels)."""

    def __call__(self, frame: Frame) -> Detections:
        ...


def make_detections(boxes_xyxy: np.ndarray, scores: np.ndarray,
                    score_threshold: float = 0.0) -> Detections:
    """Keep boxes with ``score >= score_threshold`` and sort them by score, highest first.

    Args:
        boxes_xyxy: (N, 4) boxes, frame pixels.
        scores: (N,) confidences.
        score_threshold: lowest score kept.

    Returns:
        ``Detections`` with (M, 4) float32 boxes and (M,) float32 scores, M <= N. The sort is
        stable, so boxes of equal score keep their input order.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    keep = scores >= score_threshold
    boxes, scores = boxes[keep], scores[keep]
    order = np.argsort(-scores, kind="stable")
    return Detections(boxes_xyxy=boxes[order], scores=scores[order])


def check_score_threshold(score_threshold: float) -> float:
    """``score_threshold`` as a float; ``ValueError`` unless it is a finite number."""
    try:
        value = float(score_threshold)
    except (TypeError, ValueError) as e:
        raise ValueError(f"score_threshold must be a number, got {score_threshold!r}") from e
    if not np.isfinite(value):
        raise ValueError(f"score_threshold must be finite, got {score_threshold!r}")
    return value
