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
that is not 4 numbers, is non-finite (NaN boxes are errors, never silently dropped), has a
negative side or a corner beyond 1e6 px (``files.MAX_COORDINATE``), a score that is not a
finite number in [0, 1], a ``category_id`` that is not an integer (a string "1" is an error,
not another category), an ``image_id`` missing from the ``images`` list. Boxes with zero
width or height are valid COCO but carry no person: they are dropped. Boxes are replayed as
they are in the file (not clipped to the frame).

Files for other frames. An image with no entry is legitimate (nobody in it), so a frame
that is none of the file's images is not an error by itself; a file none of whose images is
a frame of the run is (it is for another video, another sequence, or uses names where the
frames have indices). This is judged in two places, both working on streams:

* While no frame has matched yet, a frame whose name has a form none of the file's image
  names has (``files.same_naming``: "000000" from a video against "000000.jpg",
  "000000.jpg" against "000000000785.jpg") can never match: ``__call__`` raises a
  ``DetectionsFileError`` at that frame, naming the file, an entry, the frame and the
  option that fixes it. A pipeline asks for every frame while it tracks nobody, so such a
  file is caught at the first frame, with no help from the caller.
* After the last frame the caller passes the frames it processed to
  ``check_coverage(frames, whole_source=...)``. When none of them is one of the file's
  images and the run covered the whole source, that is a ``DetectionsFileError``; on part
  of a source (a frame selection) it is a warning (those frames may simply have nobody in
  them). When some images with detections are none of the frames of a whole source, a
  warning gives the count and an example. Its result is the list of warning lines.

With ``frame_names=`` (every frame name of the video, known up front) the check is made,
strictly, at construction: any image with detections that is no frame is an error.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from detectors.base import check_score_threshold, make_detections
from detectors.files import (PERSON_CATEGORY_ID, DetectionsFileError, FileNameIndex,
                             image_file_names, in_sequence, is_person, name_form,
                             parse_bbox_xywh, parse_score, same_naming)
from tracker.files import read_json
from tracker.types import Detections, Frame

__all__ = ["CocoDetectionsFile", "DetectionsFileError", "KEYS", "PERSON_CATEGORY_ID"]

KEYS = ("file_name", "frame_index")
#: How to pass other options on the command line (posetrack-run has no flag for them).
_CONFIG_OPTION = "in the detector section of a --config file"


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
    ``unmatched_keys()`` lists the images with detections that no call asked for;
    ``check_coverage(frames)``, called after the last frame, checks that the file was made
    for these frames (see the module docstring).
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
        self._matched_a_frame = False       # some frame asked for is one of the file's images
        self._num_images = len(self._first_entry)
        self._forms: set = set()
        if key == "file_name":
            known = list(names.values()) if names is not None else list(self._first_entry)
            if sequence is not None:
                known = [name for name in known if in_sequence(name, sequence)]
                if not known:
                    raise DetectionsFileError(f"{self.path}: no image lies in a folder named "
                                              f"{sequence!r}")
            self._index = FileNameIndex(known, self.path)
            self._num_images = len(dict.fromkeys(known))
            self._forms = {name_form(name) for name in known}
            if frame_names is not None:
                self._check_all_matched(frame_names)

    def __call__(self, frame: Frame) -> Detections:
        """The detections of ``frame`` (matched by name or index), scores descending."""
        entry_key = self._index.lookup(frame.name) if self._index else frame.index
        if entry_key is None and not self._matched_a_frame and not self._could_match(frame.name):
            raise self._no_match_error(f"frame {frame.name!r} is named unlike every one of",
                                       frame.name)
        self._matched_a_frame |= entry_key is not None
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

    def check_coverage(self, frames: Iterable[tuple[int, str]], *,
                       whole_source: bool = False) -> list[str]:
        """After the last frame: checks that the file was made for the frames of the run.

        Args:
            frames: ``(Frame.index, Frame.name)`` of every frame the run processed (also
                those the detector was not asked for, e.g. with ``detect_every`` > 1).
            whole_source: the frames are all the frames of the source (no start, stride or
                frame limit, not interrupted).

        Returns:
            Warning lines (naming the file, with counts and an example): none of the frames
            is one of the file's images but the run covered part of the source only; or, for
            a whole source, some images with detections are none of its frames.

        Raises:
            DetectionsFileError: the file has detections and no frame is one of its images,
                when the frames are named unlike the file's images or ``whole_source``.
        """
        frames = list(frames)
        if not frames or not self._first_entry:
            return []
        if self._index is None:
            met = {index for index, _ in frames} & set(self._first_entry)
        else:
            met = {self._index.lookup(name) for _, name in frames} - {None}
        if not met:
            names = [name for _, name in frames]
            if self._index is not None and not any(map(self._could_match, names)):
                raise self._no_match_error(f"the frames (e.g. {names[0]!r}) are named unlike "
                                           "every one of", names[0])
            where = (f"none of the {len(frames)} frames (e.g. {self._frame_text(frames[0])}) is "
                     "one of")
            if whole_source:
                raise self._no_match_error(where, names[0])
            return [f"{self.path}: {where} the {self._images_text()} (e.g. {self._example()}): "
                    "frames without people have no entry, but if these frames show people the "
                    "file is for other frames (--detector-checkpoint)"]
        unmatched = sorted(set(self._first_entry) - met, key=self._first_entry.get)
        if not (whole_source and unmatched):
            return []
        first = unmatched[0]
        what = "frame indices" if self._index is None else "images"
        return [f"{self.path}: {len(unmatched)} of {len(self._first_entry)} {what} with "
                f"detections are no frame of the source (e.g. {first!r}, entry "
                f"{self._first_entry[first]}; the source has {len(frames)} frames)"]

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
        score = parse_score(entry["score"], where)
        if not is_person(entry, where):
            return None
        image_id = entry["image_id"]
        if self.key == "frame_index":
            entry_key = _frame_index(image_id, num_frames, where)
        else:
            entry_key = _file_name(entry, names, where, self.path)
            if self.sequence is not None and not in_sequence(entry_key, self.sequence):
                return None
        return entry_key, (x, y, x + w, y + h), score

    def _could_match(self, frame_name: str) -> bool:
        """False when the file has person detections (key file_name) and ``frame_name`` is
        named unlike all of its images (``files.same_naming``): it can never match."""
        if self._index is None or not self._first_entry:
            return True
        form = name_form(frame_name)
        return any(same_naming(form, known) for known in self._forms)

    def _no_match_error(self, what: str, frame_name: str) -> DetectionsFileError:
        """The error of a file none of whose images is a frame: ``what`` + the fix."""
        frame_index = f"'key: frame_index' {_CONFIG_OPTION}"
        if self._index is None:
            fix = ("if image_id is not the frame index, use 'key: file_name' (and 'images: "
                   f"FILE.json' for entries without file_name) {_CONFIG_OPTION}; otherwise pass "
                   "the detections made for this source with --detector-checkpoint")
        elif "." not in frame_name:
            fix = ("frames of a video or camera are named by their index (000000, 000001, "
                   f"...): for detections whose image_id is the frame index set {frame_index}; "
                   "otherwise pass the detections made for this source with "
                   "--detector-checkpoint")
        else:
            fix = ("pass the detections made for these frames with --detector-checkpoint (for "
                   f"detections whose image_id is the frame index set {frame_index})")
        return DetectionsFileError(f"{self.path}: no frame matches the file: {what} the "
                                   f"{self._images_text()} (e.g. {self._example()}); {fix}")

    def _images_text(self) -> str:
        if self._index is None:
            return f"{len(self._first_entry)} frame indices with detections"
        return f"{self._num_images} images of the file"

    def _example(self) -> str:
        """The first entry's image and index: "'clip/000000.jpg', entry 0"."""
        first = min(self._first_entry, key=self._first_entry.get)
        shown = f"image_id {first}" if self._index is None else repr(first)
        return f"{shown}, entry {self._first_entry[first]}"

    def _frame_text(self, frame: tuple[int, str]) -> str:
        return f"frame index {frame[0]}" if self._index is None else repr(frame[1])

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
