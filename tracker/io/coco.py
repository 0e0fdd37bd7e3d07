"""The COCO keypoint results layout of one tracked person (``TrackWriter(format="coco")``).

A COCO results file is a JSON list of one entry per person and frame::

    [{"id", "image_id", "category_id": 1, "track_id", "bbox": [x, y, w, h], "score",
      "keypoints": [x, y, score] * K}, ...]

``keypoints`` keep the model's K keypoints in its own order; a keypoint that is not written
is ``0, 0, 0``. PoseTrack18 annotations (``tracker.io.posetrack18``) have the same fields
plus ``scores``, with a visibility flag in place of the score: ``person_entry`` and
``keypoint_triplets`` build both.
"""
from __future__ import annotations

import numpy as np

PERSON_CATEGORY_ID = 1


def keypoint_triplets(keypoints: np.ndarray, present: np.ndarray, third) -> np.ndarray:
    """(K, 3) float64: ``[x, y, third]`` for the present keypoints, ``0, 0, 0`` for the others.

    Args:
        keypoints: (K, 2) frame pixels. present: (K,) bool.
        third: what follows x, y of a present keypoint (its score, or a visibility flag).
    """
    triplets = np.zeros((len(keypoints), 3), np.float64)
    triplets[present, :2] = keypoints[present]
    triplets[present, 2] = third
    return triplets


def person_entry(*, number: int, image_id: int, track_id: int, box_xywh: np.ndarray,
                 box_score: float, scores: np.ndarray, present: np.ndarray,
                 keypoints: list) -> dict:
    """One person of one frame, the fields in file order.

    Args:
        number: the entry's ``id`` (0, 1, ... over the file).
        box_xywh: (4,) person box in frame pixels; NaN or infinite values are written as 0.
        box_score: the detector's score of the person.
        scores: (K,) keypoint scores; present: (K,) bool, the keypoints written.
        keypoints: the flat ``keypoints`` list as written.
    Returns:
        ``{"id", "image_id", "category_id", "track_id", "bbox", "score", "keypoints"}``, where
        ``score`` is the box score times the mean score of the written keypoints.
    """
    mean_score = float(np.asarray(scores)[present].mean())
    box = np.nan_to_num(box_xywh) if not np.isfinite(box_xywh).all() else box_xywh
    return {"id": number, "image_id": image_id, "category_id": PERSON_CATEGORY_ID,
            "track_id": track_id, "bbox": [round(float(v), 2) for v in box],
            "score": round(box_score * mean_score, 6), "keypoints": keypoints}


def coco_result(*, number: int, image_id: int, track_id: int, keypoints: np.ndarray,
                scores: np.ndarray, present: np.ndarray, box_xywh: np.ndarray,
                box_score: float) -> dict:
    """The COCO results entry of a person: keypoints (K, 2) frame pixels, scores (K,),
    present (K,) bool; coordinates and scores rounded to 3 decimals."""
    triplets = keypoint_triplets(keypoints, present, scores[present])
    return person_entry(number=number, image_id=image_id, track_id=track_id,
                        box_xywh=box_xywh, box_score=box_score, scores=scores, present=present,
                        keypoints=[round(float(v), 3) for v in triplets.ravel()])
