"""Ground-truth person boxes of a PoseTrack18 annotation file, served as a detector.

This gives the seed's "with ground-truth bounding boxes" setting. A PoseTrack18 file (one
per video; also the Bonn PoseTrack conversion) holds:

* ``images``: ``{"id", "file_name": "images/val/<seq>/000012.jpg", "frame_id", "is_labeled",
  ...}``, one per frame of the video, in frame order;
* ``annotations``: ``{"image_id", "bbox": [x, y, w, h], "keypoints": [x, y, v] * 17,
  "track_id", ...}``.

Each frame gets the boxes of its annotations, score 1.0, in file order. Annotations are
skipped (not errors) when they have no ``bbox`` (missing, null or empty), a box of zero
width or height, no ``keypoints`` with visibility > 0 (PoseTrack18 keeps such people for
the ignore logic; they are not evaluated), or an integer ``category_id`` other than 1. A
``bbox`` that is malformed, non-finite, has a negative side or a corner beyond 1e6 px
(``files.MAX_COORDINATE``), a ``category_id`` that is not an integer (a string "1"),
malformed ``keypoints`` or an ``image_id`` that is not in ``images`` are
``DetectionsFileError``; a file that is not a
PoseTrack18 file is a ``FileFormatError`` of its reader, ``tracker.io.posetrack18``. Boxes
are not clipped to the frame (PoseTrack18 boxes may reach past it).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from detectors.base import make_detections
from detectors.files import (DetectionsFileError, FileNameIndex, is_number, is_person,
                             parse_bbox_xywh)
from detectors.precomputed import KEYS
from tracker.io.posetrack18 import read_posetrack18
from tracker.types import Detections, Frame

__all__ = ["PoseTrackGroundTruthBoxes"]


class PoseTrackGroundTruthBoxes:
    """Annotated person boxes of each frame of one PoseTrack18 video (see module docstring).

    Args:
        annotation_file: the PoseTrack18 JSON of the video.
        padding: factor enlarging each box about its center (1.0 = the annotated box; the
            pose estimator applies its own 1.25 on top).
        key: "file_name" matches ``Frame.name`` to an image's file name by trailing path
            components ("000012.jpg" matches "images/val/<seq>/000012.jpg"); "frame_index"
            takes ``Frame.index`` as the position in the file's ``images`` list.

    Calling it with a ``Frame`` returns ``Detections`` ((N, 4) xyxy frame pixels, scores 1.0).
    A frame that is not one of the file's images is a ``DetectionsFileError`` (wrong file).
    """

    def __init__(self, annotation_file: str | Path, *, padding: float = 1.0,
                 key: str = "file_name"):
        if key not in KEYS:
            raise ValueError(f"key must be one of {KEYS}, got {key!r}")
        if not is_number(padding) or not math.isfinite(padding) or padding <= 0:
            raise ValueError(f"padding must be a finite number > 0, got {padding!r}")
        self.path = Path(annotation_file)
        self.padding = float(padding)
        self.key = key
        video = read_posetrack18(self.path, "annotation file")
        names = {image["id"]: image["file_name"] for image in video.images}
        self.image_ids = list(names)
        self._file_names = names
        self._index = FileNameIndex(names.values(), self.path)
        self._id_by_name = {name: image_id for image_id, name in names.items()}
        boxes: dict = {}
        for index, annotation in enumerate(video.annotations):
            parsed = self._parse(annotation, f"{self.path}: annotation {index}")
            if parsed is not None:
                boxes.setdefault(parsed[0], []).append(parsed[1])
        self._boxes = {image_id: np.array(b, np.float32) for image_id, b in boxes.items()}

    def __len__(self) -> int:
        """Number of images (frames) of the file."""
        return len(self.image_ids)

    def __call__(self, frame: Frame) -> Detections:
        """The kept annotated boxes of ``frame``, (N, 4) xyxy frame pixels, scores 1.0."""
        image_id = self._image_id(frame)
        boxes = self._boxes.get(image_id)
        if boxes is None:
            return Detections.empty()
        return make_detections(boxes, np.ones(len(boxes), np.float32))

    def __repr__(self) -> str:
        return (f"PoseTrackGroundTruthBoxes({str(self.path)!r}, padding={self.padding}, "
                f"key={self.key!r}, {len(self)} images)")

    def _image_id(self, frame: Frame):
        if self.key == "frame_index":
            if not 0 <= frame.index < len(self.image_ids):
                raise DetectionsFileError(f"{self.path}: frame index {frame.index} is outside "
                                          f"the file's {len(self.image_ids)} images")
            return self.image_ids[frame.index]
        name = self._index.lookup(frame.name)
        if name is None:
            raise DetectionsFileError(f"{self.path}: frame {frame.name!r} is none of the "
                                      f"file's {len(self.image_ids)} images (wrong file?)")
        return self._id_by_name[name]

    def _parse(self, annotation, where: str):
        """(image_id, [x1, y1, x2, y2]) of a kept annotation, None for a skipped one."""
        if not isinstance(annotation, dict):
            raise DetectionsFileError(f"{where}: expected a mapping, "
                                      f"got {type(annotation).__name__}")
        image_id = annotation.get("image_id")
        if not isinstance(image_id, (int, str)) or image_id not in self._file_names:
            raise DetectionsFileError(f"{where}: 'image_id' {image_id!r} is not among the "
                                      f"{len(self._file_names)} images of the file")
        if not is_person(annotation, where):
            return None
        if not annotation.get("bbox"):
            return None
        x, y, w, h = parse_bbox_xywh(annotation["bbox"], where)
        if w == 0 or h == 0 or not _has_labelled_keypoint(annotation, where):
            return None
        cx, cy = x + w / 2, y + h / 2
        w, h = w * self.padding, h * self.padding
        return image_id, [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def _has_labelled_keypoint(annotation: dict, where: str) -> bool:
    """True when some keypoint has visibility > 0; errors on a malformed ``keypoints``."""
    keypoints = annotation.get("keypoints")
    if keypoints is None:
        return False
    if not (isinstance(keypoints, list) and len(keypoints) % 3 == 0
            and all(is_number(v) for v in keypoints)):
        raise DetectionsFileError(f"{where}: 'keypoints' must be a flat list of numbers "
                                  "[x, y, visibility] * K")
    return any(v > 0 for v in keypoints[2::3])
