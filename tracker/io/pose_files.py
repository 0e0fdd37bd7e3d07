"""Per-frame poses from other tools' files, for re-tracking (``posetrack-track``).

Two layouts are read, told apart by the JSON's top level:

* PoseTrack18 (a mapping with ``images`` and ``annotations``): frames in the order of
  ``images``; keypoints (17 x (x, y, v)) in PoseTrack18 order; a keypoint's score is its
  entry of ``scores`` when the annotation has 17 of them, else 1 where ``v > 0``; the box is
  ``bbox`` (x, y, w, h) or, without it, the box around the present keypoints; the box score
  is ``score`` (default 1). Track ids in the file are ignored.
* COCO keypoint results (a list of ``{"image_id", "keypoints", "score", ["bbox"]}``, e.g.
  ``posetrack-run --format coco`` or mmpose's results): ``image_id`` is the 0-based frame
  index; keypoints (17 x (x, y, score)) in COCO order; frames 0 .. the largest id.

Returns ``PoseFrames``: one ``Poses`` per frame plus the frame names and the keypoint set,
ready for a tracker's ``update`` and ``TrackWriter``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracker.errors import FileFormatError
from tracker.files import read_json
from tracker.io.posetrack18 import read_posetrack18
from tracker.types import Poses

NUM_KEYPOINTS = 17


@dataclass
class PoseFrames:
    """Poses of every frame of one sequence, as read.

    sequence_name: folder part of the frame file names ("" when the file has none);
    names: (F,) frame file names; poses: (F,) ``Poses`` with K = 17 keypoints each;
    keypoint_set: "posetrack18" or "coco" (the order of the keypoints);
    timestamps_s: (F,) seconds, or None when the file has no times.
    """

    sequence_name: str
    names: list[str]
    poses: list[Poses]
    keypoint_set: str
    timestamps_s: list[float] | None


def _triplets(entry: dict, where: str) -> np.ndarray:
    values = entry.get("keypoints")
    if not isinstance(values, list) or len(values) != 3 * NUM_KEYPOINTS:
        raise FileFormatError(f"{where}.keypoints: expected {3 * NUM_KEYPOINTS} numbers "
                              f"(17 x, y, v/score), got {_describe(values)}")
    try:
        triplets = np.asarray(values, np.float64).reshape(NUM_KEYPOINTS, 3)
    except (TypeError, ValueError) as error:
        raise FileFormatError(f"{where}.keypoints: expected numbers: {error}") from error
    if not np.isfinite(triplets).all():
        raise FileFormatError(f"{where}.keypoints: expected finite numbers")
    return triplets


def _describe(value) -> str:
    return f"{len(value)} values" if isinstance(value, list) else type(value).__name__


def _score(entry: dict, key: str, where: str, default: float = 1.0) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise FileFormatError(f"{where}.{key}: expected a finite number, got {value!r}")
    return float(value)


def _box(entry: dict, keypoints: np.ndarray, scores: np.ndarray, where: str) -> np.ndarray:
    """x1, y1, x2, y2 from ``bbox`` (x, y, w, h), else around the present keypoints."""
    box = entry.get("bbox")
    if box is not None:
        if not isinstance(box, list) or len(box) != 4:
            raise FileFormatError(f"{where}.bbox: expected [x, y, w, h], got {box!r}")
        x, y, w, h = (float(v) for v in box)
        return np.array([x, y, x + w, y + h])
    present = keypoints[scores > 0]
    if not len(present):
        return np.zeros(4)
    return np.concatenate([present.min(axis=0), present.max(axis=0)])


def _poses(people: list[tuple]) -> Poses:
    if not people:
        return Poses.empty(NUM_KEYPOINTS)
    keypoints, scores, boxes, box_scores = zip(*people)
    return Poses(keypoints=np.stack(keypoints), keypoint_scores=np.stack(scores),
                 boxes_xyxy=np.stack(boxes), box_scores=np.asarray(box_scores))


def _read_posetrack18(path: Path) -> PoseFrames:
    data = read_posetrack18(path, "pose file")
    position = {image["id"]: i for i, image in enumerate(data.images)}
    people: list[list] = [[] for _ in data.images]
    for index, entry in enumerate(data.annotations):
        where = f"{path}: annotations[{index}]"
        if not isinstance(entry, dict):
            raise FileFormatError(f"{where}: expected a mapping, got {type(entry).__name__}")
        if entry.get("image_id") not in position:
            raise FileFormatError(f"{where}.image_id: {entry.get('image_id')!r} is the id of no "
                                  "entry of images")
        triplets = _triplets(entry, where)
        given = entry.get("scores")
        if isinstance(given, list) and len(given) == NUM_KEYPOINTS:
            scores = np.where(triplets[:, 2] > 0, np.asarray(given, np.float64), 0.0)
        else:
            scores = (triplets[:, 2] > 0).astype(np.float64)
        box = _box(entry, triplets[:, :2], scores, where)
        people[position[entry["image_id"]]].append(
            (triplets[:, :2], scores, box, _score(entry, "score", where)))
    file_names = [image["file_name"] for image in data.images]
    times = [image.get("timestamp_s") for image in data.images]
    folder = str(Path(file_names[0]).parent)
    return PoseFrames(sequence_name="" if folder == "." else folder,
                      names=[Path(name).name for name in file_names],
                      poses=[_poses(p) for p in people], keypoint_set="posetrack18",
                      timestamps_s=times if all(isinstance(t, (int, float)) for t in times)
                      else None)


def _read_coco_results(path: Path, entries: list) -> PoseFrames:
    frames: dict[int, list] = {}
    for index, entry in enumerate(entries):
        where = f"{path}: [{index}]"
        if not isinstance(entry, dict):
            raise FileFormatError(f"{where}: expected a mapping, got {type(entry).__name__}")
        image_id = entry.get("image_id")
        if isinstance(image_id, bool) or not isinstance(image_id, int) or image_id < 0:
            raise FileFormatError(f"{where}.image_id: expected the 0-based frame index (an "
                                  f"integer >= 0), got {image_id!r}")
        triplets = _triplets(entry, where)
        scores = triplets[:, 2]
        box = _box(entry, triplets[:, :2], scores, where)
        frames.setdefault(image_id, []).append(
            (triplets[:, :2], scores, box, _score(entry, "score", where)))
    if not frames:
        raise FileFormatError(f"{path}: no entries; expected COCO keypoint results")
    count = max(frames) + 1
    return PoseFrames(sequence_name="", names=[f"{i:06d}.jpg" for i in range(count)],
                      poses=[_poses(frames.get(i, [])) for i in range(count)],
                      keypoint_set="coco", timestamps_s=None)


def read_pose_file(path: str | os.PathLike) -> PoseFrames:
    """The per-frame poses of a PoseTrack18 file or a COCO keypoint results file."""
    path = Path(path)
    data = read_json(path, "pose file")
    if isinstance(data, dict):
        return _read_posetrack18(path)
    if isinstance(data, list):
        return _read_coco_results(path, data)
    raise FileFormatError(f"{path}: expected a PoseTrack18 file (a mapping with images and "
                          f"annotations) or COCO keypoint results (a list), got "
                          f"{type(data).__name__}")
