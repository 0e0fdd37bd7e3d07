"""One person's entry in each pose tool's JSON, read into arrays (for ``pose_files``).

Every reader returns a ``Person``: 17 keypoints in the entry's own order (PoseTrack18 for
PoseTrack18 files, COCO for the others), their scores, the box and the box score. ``where``
names the file and the entry in errors (``"clip.json: [3]"``).

* PoseTrack18 annotation: ``keypoints`` 17 x (x, y, v); a keypoint's score is its entry of
  ``scores`` when there are 17 of them, else 1 where ``v > 0``; ``bbox`` (x, y, w, h);
  ``score`` (default 1).
* COCO keypoint result: ``keypoints`` 17 x (x, y, score); ``bbox`` (x, y, w, h); ``score``.
* mmpose instance (``MMPoseInferencer(..., pred_out_dir=...)``): ``keypoints`` 17 x [x, y],
  ``keypoint_scores`` (17,), ``bbox`` [x1, y1, x2, y2] or [[x1, y1, x2, y2]], ``bbox_score``.
* Ultralytics detection (``Results.to_json()`` / ``summary()``): ``keypoints`` {"x": (17,),
  "y": (17,), "visible": (17,) scores, optional}, ``box`` {"x1", "y1", "x2", "y2"},
  ``confidence``; in pixels (``normalize=False``, Ultralytics' default).

Without a box, the box is the one around the keypoints that have a score above 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.errors import FileFormatError

NUM_KEYPOINTS = 17


@dataclass(frozen=True)
class Person:
    """keypoints_xy: (17, 2) pixels; keypoint_scores: (17,); box_xyxy: (4,); box_score."""

    keypoints_xy: np.ndarray
    keypoint_scores: np.ndarray
    box_xyxy: np.ndarray
    box_score: float


def posetrack18_person(entry: dict, where: str) -> Person:
    triplets = _numbers(entry.get("keypoints"), 3 * NUM_KEYPOINTS, f"{where}.keypoints",
                        "17 x, y, v").reshape(NUM_KEYPOINTS, 3)
    given = entry.get("scores")
    if isinstance(given, list) and len(given) == NUM_KEYPOINTS:
        scores = np.where(triplets[:, 2] > 0,
                          _numbers(given, NUM_KEYPOINTS, f"{where}.scores", "17 scores"), 0.0)
    else:
        scores = (triplets[:, 2] > 0).astype(np.float64)
    return _person(triplets[:, :2], scores, _box_xywh(entry, where), entry, "score", where)


def coco_person(entry: dict, where: str) -> Person:
    triplets = _numbers(entry.get("keypoints"), 3 * NUM_KEYPOINTS, f"{where}.keypoints",
                        "17 x, y, score").reshape(NUM_KEYPOINTS, 3)
    return _person(triplets[:, :2], triplets[:, 2], _box_xywh(entry, where), entry, "score",
                   where)


def mmpose_person(entry: dict, where: str) -> Person:
    keypoints = entry.get("keypoints")
    flat = ([v for point in keypoints for v in point]
            if isinstance(keypoints, list) and all(isinstance(p, list) and len(p) == 2
                                                   for p in keypoints) else None)
    if flat is None or len(flat) != 2 * NUM_KEYPOINTS:
        raise FileFormatError(f"{where}.keypoints: expected 17 [x, y] pairs, got "
                              f"{_describe(keypoints)}")
    keypoints_xy = _numbers(flat, 2 * NUM_KEYPOINTS, f"{where}.keypoints", "17 [x, y]")
    scores = _numbers(entry.get("keypoint_scores"), NUM_KEYPOINTS, f"{where}.keypoint_scores",
                      "17 scores")
    box = entry.get("bbox")
    if isinstance(box, list) and len(box) == 1 and isinstance(box[0], list):
        box = box[0]                                    # mmpose writes [[x1, y1, x2, y2]]
    box_xyxy = None if box is None else _numbers(box, 4, f"{where}.bbox", "[x1, y1, x2, y2]")
    return _person(keypoints_xy.reshape(NUM_KEYPOINTS, 2), scores, box_xyxy, entry,
                   "bbox_score", where)


def ultralytics_person(entry: dict, where: str) -> Person:
    keypoints = entry["keypoints"]
    x = _numbers(keypoints.get("x"), NUM_KEYPOINTS, f"{where}.keypoints.x", "17 numbers")
    y = _numbers(keypoints.get("y"), NUM_KEYPOINTS, f"{where}.keypoints.y", "17 numbers")
    scores = (np.ones(NUM_KEYPOINTS) if "visible" not in keypoints else
              _numbers(keypoints["visible"], NUM_KEYPOINTS, f"{where}.keypoints.visible",
                       "17 scores"))
    box = entry.get("box")
    box_xyxy = None
    if box is not None:
        if not isinstance(box, dict) or not all(k in box for k in ("x1", "y1", "x2", "y2")):
            raise FileFormatError(f"{where}.box: expected {{\"x1\", \"y1\", \"x2\", \"y2\"}}, "
                                  f"got {box!r}")
        box_xyxy = _numbers([box[k] for k in ("x1", "y1", "x2", "y2")], 4, f"{where}.box",
                            "4 numbers")
    return _person(np.stack([x, y], axis=1), scores, box_xyxy, entry, "confidence", where)


def _person(keypoints_xy: np.ndarray, scores: np.ndarray, box_xyxy: np.ndarray | None,
            entry: dict, score_key: str, where: str) -> Person:
    if box_xyxy is None:
        present = keypoints_xy[scores > 0]
        box_xyxy = (np.concatenate([present.min(axis=0), present.max(axis=0)]) if len(present)
                    else np.zeros(4))
    return Person(keypoints_xy=keypoints_xy, keypoint_scores=scores, box_xyxy=box_xyxy,
                  box_score=_score(entry, score_key, where))


def _box_xywh(entry: dict, where: str) -> np.ndarray | None:
    if entry.get("bbox") is None:
        return None
    x, y, w, h = _numbers(entry["bbox"], 4, f"{where}.bbox", "[x, y, w, h]")
    return np.array([x, y, x + w, y + h])


def _numbers(values, count: int, field: str, expected: str) -> np.ndarray:
    """``values`` as (count,) finite float64; ``FileFormatError`` naming ``field`` otherwise."""
    if not isinstance(values, list) or len(values) != count:
        raise FileFormatError(f"{field}: expected {count} numbers ({expected}), got "
                              f"{_describe(values)}")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise FileFormatError(f"{field}: expected numbers ({expected})")
    array = np.asarray(values, np.float64)
    if not np.isfinite(array).all():
        raise FileFormatError(f"{field}: expected finite numbers")
    return array


def _describe(value) -> str:
    return f"{len(value)} values" if isinstance(value, list) else type(value).__name__


def _score(entry: dict, key: str, where: str, default: float = 1.0) -> float:
    value = entry.get(key, default)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]                                # mmpose may write [score]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise FileFormatError(f"{where}.{key}: expected a finite number, got {value!r}")
    return float(value)
