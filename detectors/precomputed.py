"""Replaying person detections from a COCO detection-results JSON file.

Accepted layouts:

* a list of COCO results ``{"image_id", "bbox": [x, y, w, h], "score", "category_id"}``
  (mmpose's ``test_coco_det_AP_H_56.json``, ``test_posetrack18_human_detections.json``);
* a mapping with such a list under ``"annotations"`` and, optionally, its own ``"images"``.

Only persons are kept: ``category_id == 1``, or entries without ``category_id``.

Frames are matched to entries by one of two keys:

* ``key="file_name"``: each entry's image file name is its own ``"file_name"`` or
  ``"image_name"`` field if present, else ``image_id`` looked up in an ``images`` list: the
  file's own, or that of the COCO-style JSON passed as ``images=`` (for PoseTrack18 the
  val annotation file, e.g. ``test_posetrack18_val.json``; for COCO ``instances_val2017.json``).
  A frame matches the image whose trailing path components equal its name
  (``FileNameIndex``): "000000.jpg" matches "images/val/003418_mpii_test/000000.jpg".
  ``sequence="003418_mpii_test"`` keeps only the images in that folder, for files that
  cover several videos.
* ``key="frame_index"``: ``image_id`` is the 0-based frame index.

A frame with no entry gives empty ``Detections``. Malformed entries are errors naming the
file, the entry index and the field: a missing ``image_id``/``bbox``/``score``, a ``bbox``
that is not 4 numbers, is non-finite (NaN boxes are errors, never silently dropped) or has a
negative side, a non-finite score, an ``image_id`` missing from the ``images`` list. Boxes
with zero width or height are valid COCO but carry no person: they are dropped. Boxes are
replayed as they are in the file (not clipped to the frame).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from detectors.base import check_score_threshold, make_detections
from detectors.files import (DetectionsFileError, FileNameIndex, image_file_names, in_sequence,
                             is_number, parse_bbox_xywh)
from tracker.files import read_json
from tracker.types import Detections, Frame

__all__ = ["CocoDetectionsFile", "DetectionsFileError", "KEYS", "PERSON_CATEGORY_ID"]

KEYS = ("file_name", "frame_index")
#: COCO's category id of "person" (PoseTrack18 uses the same).
PERSON_CATEGORY_ID = 1


class CocoDetectionsFile:
    """Person detections replayed from a COCO detection-results file (see module docstring).

    Args:
        path: the results JSON.
        score_threshold: lowest score returned.
        key: "file_name" (match frames by ``Frame.name``) or "frame_index" (by ``Frame.index``).
        images: COCO-style JSON whose ``images`` list maps ``image_id`` to ``file_name``
            (key "file_name" only; overrides an ``images`` list inside ``path``).
        sequence: keep only images lying in this folder (key "file_name" only).
        frame_names: the names of all frames of the video; when given, an entry matching
            none of them is an error at construction (key "file_name" only).
        num_frames: the number of frames of the video; when given, an ``image_id`` outside
            ``[0, num_frames)`` is an error at construction (key "frame_index" only).

    Calling it with a ``Frame`` returns that frame's ``Detections`` (scores descending).
    ``unmatched_keys()`` lists the images with detections that no call asked for.
    """

    def __init__(self, path: str | Path, *, score_threshold: float = 0.0,
                 key: str = "file_name", images: Optional[str | Path] = None,
                 sequence: Optional[str] = None, frame_names: Optional[Sequence[str]] = None,
                 num_frames: Optional[int] = None):
        if key not in KEYS:
            raise ValueError(f"key must be one of {KEYS}, got {key!r}")
        by_name_only = {"images": images, "sequence": sequence, "frame_names": frame_names}
        for name, value in (by_name_only.items() if key == "frame_index" else
                            {"num_frames": num_frames}.items()):
            if value is not None:
                raise ValueError(f"{name}= cannot be used with key={key!r}")
        if num_frames is not None and (not isinstance(num_frames, int) or num_frames < 0):
            raise ValueError(f"num_frames must be a non-negative integer, got {num_frames!r}")
        self.path = Path(path)
        self.key = key
        self.score_threshold = check_score_threshold(score_threshold)
        self.sequence = sequence
        entries, names = self._read(images)
        boxes: dict = {}
        self._first_entry: dict = {}
        for index, entry in enumerate(entries):
            parsed = self._parse_entry(entry, index, names, num_frames)
            if parsed is None:
                continue
            entry_key, box, score = parsed
            self._first_entry.setdefault(entry_key, index)
            if box[2] > box[0] and box[3] > box[1]:
                boxes.setdefault(entry_key, []).append((box, score))
        self._boxes = {k: np.array([b for b, _ in v], np.float32) for k, v in boxes.items()}
        self._scores = {k: np.array([s for _, s in v], np.float32) for k, v in boxes.items()}
        self._seen: set = set()
        self._index = None
        if key == "file_name":
            known = list(names.values()) if names is not None else list(self._first_entry)
            if sequence is not None:
                known = [name for name in known if in_sequence(name, sequence)]
                if not known:
                    raise DetectionsFileError(f"{self.path}: no image lies in a folder named "
                                              f"{sequence!r}")
            self._index = FileNameIndex(known, self.path)
            if frame_names is not None:
                self._check_all_matched(frame_names)

    def __call__(self, frame: Frame) -> Detections:
        """The detections of ``frame`` (matched by name or index), scores descending."""
        entry_key = self._index.lookup(frame.name) if self._index else frame.index
        if entry_key is None or entry_key not in self._boxes:
            return Detections.empty()
        self._seen.add(entry_key)
        return make_detections(self._boxes[entry_key], self._scores[entry_key],
                               self.score_threshold)

    def keys(self) -> list:
        """Image file names (or frame indices) that have person detections, sorted."""
        return sorted(self._boxes)

    def unmatched_keys(self) -> list:
        """Images (file names or frame indices) with detections that no call has asked for."""
        return sorted(set(self._boxes) - self._seen)

    def __repr__(self) -> str:
        return (f"CocoDetectionsFile({str(self.path)!r}, key={self.key!r}, "
                f"{len(self._boxes)} images with detections)")

    def _read(self, images: Optional[str | Path]) -> tuple[list, Optional[dict]]:
        """(result entries, {image_id: file_name} or None) of the file and ``images``."""
        data = read_json(self.path, "detections file")
        names = None
        if isinstance(data, dict) and isinstance(data.get("annotations"), list):
            entries = data["annotations"]
            if "images" in data and images is None and self.key == "file_name":
                names = image_file_names(data, str(self.path))
        elif isinstance(data, list):
            entries = data
        else:
            raise DetectionsFileError(
                f"{self.path}: expected a list of detection results or a mapping with an "
                f"'annotations' list, got {type(data).__name__}")
        if images is not None:
            names = image_file_names(read_json(images, "images file"), str(images))
        return entries, names

    def _parse_entry(self, entry, index: int, names: Optional[dict],
                     num_frames: Optional[int]) -> Optional[tuple]:
        """(key, (4,) xyxy box, score) of a person entry, None for other categories."""
        where = f"{self.path}: entry {index}"
        if not isinstance(entry, dict):
            raise DetectionsFileError(f"{where}: expected a mapping, got {type(entry).__name__}")
        for field in ("image_id", "bbox", "score"):
            if field not in entry:
                raise DetectionsFileError(f"{where}: missing field {field!r}")
        x, y, w, h = parse_bbox_xywh(entry["bbox"], where)
        score = entry["score"]
        if not is_number(score) or not math.isfinite(score):
            raise DetectionsFileError(f"{where}: 'score' must be a finite number, got {score!r}")
        if entry.get("category_id", PERSON_CATEGORY_ID) != PERSON_CATEGORY_ID:
            return None
        image_id = entry["image_id"]
        if self.key == "frame_index":
            entry_key = _frame_index(image_id, num_frames, where)
        else:
            entry_key = _file_name(entry, names, where, self.path)
            if self.sequence is not None and not in_sequence(entry_key, self.sequence):
                return None
        return entry_key, (x, y, x + w, y + h), float(score)

    def _check_all_matched(self, frame_names: Sequence[str]) -> None:
        matched = {self._index.lookup(name) for name in frame_names}
        unmatched = sorted(set(self._first_entry) - matched, key=self._first_entry.get)
        if unmatched:
            first = unmatched[0]
            raise DetectionsFileError(
                f"{self.path}: entry {self._first_entry[first]}: image {first!r} (field "
                f"'image_id') is none of the {len(frame_names)} frames of the video; "
                f"{len(unmatched)} image(s) with detections match no frame")


def _frame_index(image_id, num_frames: Optional[int], where: str) -> int:
    if not isinstance(image_id, int) or isinstance(image_id, bool) or image_id < 0:
        raise DetectionsFileError(f"{where}: 'image_id' must be a frame index (an integer "
                                  f">= 0) with key='frame_index', got {image_id!r}")
    if num_frames is not None and image_id >= num_frames:
        raise DetectionsFileError(f"{where}: 'image_id' {image_id} is not a frame of the video "
                                  f"(it has {num_frames} frames, indices 0..{num_frames - 1})")
    return image_id


def _file_name(entry: dict, names: Optional[dict], where: str, path: Path) -> str:
    for field in ("file_name", "image_name"):
        if field in entry:
            value = entry[field]
            if not isinstance(value, str) or not value:
                raise DetectionsFileError(f"{where}: {field!r} must be a non-empty string, "
                                          f"got {value!r}")
            return value
    image_id = entry["image_id"]
    if names is None:
        raise DetectionsFileError(
            f"{where}: no 'file_name' or 'image_name' field, and {path} has no 'images' list "
            f"to look 'image_id' {image_id!r} up in: pass images= (a COCO-style JSON with "
            "'images': [{'id', 'file_name'}]) or use key='frame_index'")
    if not isinstance(image_id, (int, str)) or image_id not in names:
        raise DetectionsFileError(f"{where}: 'image_id' {image_id!r} is not among the "
                                  f"{len(names)} images of the images list")
    return names[image_id]
