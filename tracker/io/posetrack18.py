"""PoseTrack18 JSON: the one reader (``read_posetrack18``) and the one writer (``TrackWriter``).

Layout (one file per video; poseval pairs prediction and ground-truth frames by position, so
the writer lists every processed frame, in order, also those without people)::

    {"images": [{"id", "file_name": "<sequence>/<frame>.jpg", "frame_id", "vid_id",
                 "nframes", ...}],
     "annotations": [{"id", "image_id", "category_id": 1, "track_id",
                      "keypoints": [x, y, v] * 17, "scores": [s] * 17, "score",
                      "bbox": [x, y, w, h]}],
     "categories": [{"id": 1, "name": "person", "keypoints": [17 PoseTrack18 names],
                     "skeleton": []}]}

Reading checks what every reader of such a file needs (a mapping; ``images`` a non-empty list
of mappings with unique ``id``s and ``file_name`` strings; an ``annotations`` list; PoseTrack17
``annolist`` files rejected); each caller checks the annotation fields it uses. Errors are
``FileFormatError``s naming the file and the field (``MissingFileError`` for a missing file).

Writing: ``TrackWriter`` streams one ``FrameResult`` per processed frame into a temporary
file in the output folder and renames it into place on ``close()`` (``os.replace``), so a
failed run never leaves a half-written file and an earlier file of the same name stays intact
until the new one is complete. It also writes COCO results (``format="coco"``, the layout of
``tracker.io.coco``). A keypoint below ``min_keypoint_score``, scored 0 or NaN is written as
``0, 0, 0``, which poseval reads as "not predicted"; kept keypoints have ``v = 1`` and their
score in ``scores``.

COCO keypoint models on PoseTrack18: PoseTrack18 uses COCO's 17-slot order, but slots 1 and 2
are ``head_bottom`` and ``head_top`` instead of COCO's eyes. ``coco_to_posetrack18`` places
them on the line from the shoulder midpoint S to the nose N:
``head_bottom = S + 0.27 (N - S)`` and ``head_top = S + 1.46 (N - S)``, scored with the
lowest score of nose and shoulders. The factors are the mean positions of the annotated head
points along that line over the 13 fully annotated people of the PoseTrack18 val frames in
mmpose's test data (standard deviation 0.24 across the line for head_top, so head_top stays the
weakest joint). Ears keep their COCO slots (poseval does not score them).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from tracker.boxes import xyxy_to_xywh
from tracker.errors import FileFormatError, OutputError
from tracker.files import check_output_folder, read_json, temporary_file_next_to
from tracker.io.coco import PERSON_CATEGORY_ID, coco_result, keypoint_triplets, person_entry
from tracker.types import FrameResult

#: Positions of head_bottom and head_top along shoulder-midpoint -> nose (see module doc).
HEAD_BOTTOM_ALONG = 0.27
HEAD_TOP_ALONG = 1.46


@dataclass(frozen=True)
class PoseTrack18File:
    """A PoseTrack18 file as read by ``read_posetrack18``.

    Attributes:
        path: the file.
        images: one mapping per frame, in file order, each with a unique ``id`` (int or
            str) and a non-empty ``file_name``; other keys as in the file.
        annotations: the entries as in the file (each caller checks the fields it reads).
        categories: the list as in the file; None when the file has none.
    """

    path: Path
    images: list
    annotations: list
    categories: Optional[list]

    @property
    def file_names(self) -> list[str]:
        """The ``file_name`` of each image, in file order."""
        return [image["file_name"] for image in self.images]


def read_posetrack18(path: str | os.PathLike, what: str = "PoseTrack18 file") -> PoseTrack18File:
    """Read a PoseTrack18 file and check its structure (see the module docstring).

    ``what`` names the file in the error for a missing file ("annotation file", ...).
    """
    path = Path(path)
    return posetrack18_from_json(read_json(path, what), path)


def posetrack18_from_json(data: object, path: Path) -> PoseTrack18File:
    """``read_posetrack18`` of an already parsed document (``path`` names it in errors)."""
    if not isinstance(data, dict):
        raise FileFormatError(f"{path}: expected a PoseTrack18 mapping with 'images', "
                              f"'annotations' and 'categories', got {type(data).__name__}")
    if "annolist" in data:
        raise FileFormatError(f"{path}: annolist: PoseTrack17 files are not supported, "
                              "expected PoseTrack18 'images'/'annotations'/'categories'")
    images = _list_field(data, "images", path)
    if not images:
        raise FileFormatError(f"{path}: images: empty; expected one entry per frame")
    _check_images(images, path)
    annotations = _list_field(data, "annotations", path)
    categories = _list_field(data, "categories", path) if "categories" in data else None
    return PoseTrack18File(path, images, annotations, categories)


def _list_field(data: dict, key: str, path: Path) -> list:
    if key not in data:
        raise FileFormatError(f"{path}: {key}: missing")
    if not isinstance(data[key], list):
        raise FileFormatError(f"{path}: {key}: expected a list, got {type(data[key]).__name__}")
    return data[key]


def _check_images(images: list, path: Path) -> None:
    """Each image a mapping with a unique int/str ``id`` and a non-empty ``file_name``."""
    seen = set()
    for index, image in enumerate(images):
        where = f"{path}: images[{index}]"
        if not isinstance(image, dict):
            raise FileFormatError(f"{where}: expected a mapping, got {type(image).__name__}")
        for key in ("id", "file_name"):
            if key not in image:
                raise FileFormatError(f"{where}.{key}: missing")
        image_id, file_name = image["id"], image["file_name"]
        if not isinstance(image_id, (int, str)) or isinstance(image_id, bool):
            raise FileFormatError(f"{where}.id: expected an integer or a string, "
                                  f"got {image_id!r}")
        if image_id in seen:
            raise FileFormatError(f"{where}.id: duplicate image id {image_id!r}")
        seen.add(image_id)
        if not isinstance(file_name, str) or not file_name:
            raise FileFormatError(f"{where}.file_name: expected a non-empty string, "
                                  f"got {file_name!r}")


def _keypoint_names(set_name: str) -> tuple[str, ...]:
    """The names of a keypoint set of ``configs/keypoint_sets.yaml``."""
    # Imported here, not at the top: tracker.pose loads torch, which the readers of
    # PoseTrack18 files (the evaluator, the dataset walker) do not need.
    from tracker.pose.zoo import keypoint_sets
    return keypoint_sets()[set_name].names


def coco_to_posetrack18(keypoints_xy: np.ndarray, keypoint_scores: np.ndarray):
    """COCO-order poses -> PoseTrack18-order poses (see the module docstring).

    Args:
        keypoints_xy: (N, 17, 2) COCO order. keypoint_scores: (N, 17).

    Returns:
        keypoints (N, 17, 2) float32 and scores (N, 17) float32 in PoseTrack18 order.
    """
    keypoints = np.array(keypoints_xy, np.float32).reshape(-1, 17, 2)
    scores = np.array(keypoint_scores, np.float32).reshape(-1, 17)
    nose, shoulders = keypoints[:, 0], (keypoints[:, 5] + keypoints[:, 6]) / 2
    head_score = np.minimum(scores[:, 0], np.minimum(scores[:, 5], scores[:, 6]))
    keypoints[:, 1] = shoulders + HEAD_BOTTOM_ALONG * (nose - shoulders)
    keypoints[:, 2] = shoulders + HEAD_TOP_ALONG * (nose - shoulders)
    scores[:, 1] = scores[:, 2] = head_score
    return keypoints, scores


def sequence_name_for(source: str) -> str:
    """The ``file_name`` folder written for a source, e.g. "images/val/012834_mpii_test".

    A folder of frames keeps its last three path components (PoseTrack's
    ``images/<split>/<sequence>`` layout, so poseval can parse the names); a video file its
    stem; a camera index "camera<N>"; a URL "stream".
    """
    text = str(source)
    if re.fullmatch(r"\d+", text):
        return f"camera{text}"
    if "://" in text:
        return "stream"
    path = Path(text).resolve()
    if path.is_dir():
        return "/".join(path.parts[-3:]) if len(path.parts) > 3 else path.name
    return path.stem


def posetrack18_annotation(*, number: int, image_id: int, track_id: int, keypoints: np.ndarray,
                           scores: np.ndarray, present: np.ndarray, box_xywh: np.ndarray,
                           box_score: float) -> dict:
    """The PoseTrack18 annotation of a person: keypoints (K, 2) frame pixels, scores (K,),
    present (K,) bool. Written keypoints get ``v = 1`` and their score in ``scores``; the
    others are ``0, 0, 0`` with score 0. Pixels rounded to 2 decimals, scores to 5."""
    triplets = keypoint_triplets(keypoints, present, 1)
    annotation = person_entry(number=number, image_id=image_id, track_id=track_id,
                              box_xywh=box_xywh, box_score=box_score, scores=scores,
                              present=present,
                              keypoints=[round(float(v), 2) for v in triplets.ravel()])
    annotation["scores"] = [round(float(v), 5) for v in np.where(present, scores, 0.0)]
    return annotation


#: The entry written for each person, by output format.
ENTRY_LAYOUTS = {"posetrack18": posetrack18_annotation, "coco": coco_result}
FORMATS = tuple(ENTRY_LAYOUTS)


class TrackWriter:
    """Writes ``FrameResult``s as PoseTrack18 or COCO JSON, streaming and atomically.

    Annotations go to a temporary file next to ``path`` as frames arrive (memory stays flat
    on long videos); ``close()`` appends the image list and renames the file onto ``path``;
    ``abort()`` deletes it, leaving any earlier file at ``path`` untouched.

    Args:
        path: output file.
        keypoint_names: K names of the model's keypoint set, in output order.
        sequence_name: folder part of every image ``file_name`` (``sequence_name_for``).
        format: "posetrack18" (needs a COCO or PoseTrack18 keypoint model) or "coco".
        min_person_score: people whose box score is below this are not written (the paper
            uses 0.5 for MOTA).
        min_keypoint_score: keypoints scored below this (or exactly 0) are written as
            absent. MOTA counts every written joint, so low-confidence joints cost MOTA
            while they help AP: the paper uses 0.4 for MOTA, 0 gives the best AP.
    """

    def __init__(self, path: str | Path, *, keypoint_names: Sequence[str], sequence_name: str,
                 format: str = "posetrack18", min_person_score: float = 0.0,
                 min_keypoint_score: float = 0.0) -> None:
        if format not in FORMATS:
            raise OutputError(f"output format must be one of {FORMATS}, got {format!r}")
        names = tuple(keypoint_names)
        coco_names, posetrack18_names = _keypoint_names("coco"), _keypoint_names("posetrack18")
        if format == "posetrack18" and names not in (coco_names, posetrack18_names):
            raise OutputError(
                f"PoseTrack18 output needs a COCO or PoseTrack18 keypoint model (17 keypoints); "
                f"this model has {len(names)}: {', '.join(names[:5])}, ... — use --format coco")
        self.path = check_output_folder(path)
        self.keypoint_names = names
        self.sequence_name = sequence_name.strip("/")
        self.format = format
        self.min_person_score = min_person_score
        self.min_keypoint_score = min_keypoint_score
        self._map_coco_head = format == "posetrack18" and names == coco_names
        self._posetrack18_names = posetrack18_names
        self._images: list[dict] = []
        self.num_annotations = 0
        self.max_track_id = -1
        #: most people written in one frame (after the score filters)
        self.max_people_in_frame = 0
        #: track id -> number of frames it was written in
        self.frames_per_track: dict[int, int] = {}
        handle, self._temporary = temporary_file_next_to(self.path)
        self._file = os.fdopen(handle, "w", encoding="utf-8")
        self._file.write("[" if format == "coco" else '{"annotations": [')

    @property
    def num_frames(self) -> int:
        return len(self._images)

    def add(self, result: FrameResult) -> None:
        """Write one frame's people (call in frame order). The frame is written with one
        call, so a stop (Ctrl-C, a signal) between frames leaves whole frames only."""
        image_id = len(self._images)
        stem = Path(result.name).stem if Path(result.name).suffix else result.name
        suffix = Path(result.name).suffix or ".jpg"
        image = {"id": image_id, "file_name": f"{self.sequence_name}/{stem}{suffix}",
                 "frame_id": image_id, "frame_index": result.index,
                 "timestamp_s": round(float(result.timestamp_s), 6)}
        entries = self._entries(result, image_id)
        if entries:
            self._write("".join(("," if self.num_annotations + i else "")
                                + json.dumps(entry, allow_nan=False)
                                for i, entry in enumerate(entries)))
        self._images.append(image)
        self.num_annotations += len(entries)
        self.max_people_in_frame = max(self.max_people_in_frame, len(entries))
        for entry in entries:
            track_id = entry["track_id"]
            self.max_track_id = max(self.max_track_id, track_id)
            self.frames_per_track[track_id] = self.frames_per_track.get(track_id, 0) + 1

    def _entries(self, result: FrameResult, image_id: int) -> list[dict]:
        """The entries of one frame's people that pass the score filters."""
        poses = result.poses
        keypoints, scores = poses.keypoints, poses.keypoint_scores
        if self._map_coco_head:
            keypoints, scores = coco_to_posetrack18(keypoints, scores)
        boxes_xywh = xyxy_to_xywh(poses.boxes_xyxy)
        layout = ENTRY_LAYOUTS[self.format]
        entries = []
        for i in np.flatnonzero(poses.box_scores >= self.min_person_score):
            present = ((scores[i] >= self.min_keypoint_score) & (scores[i] > 0)
                       & np.isfinite(keypoints[i]).all(1))
            if present.any():
                entries.append(layout(
                    number=self.num_annotations + len(entries), image_id=image_id,
                    track_id=int(result.track_ids[i]), keypoints=keypoints[i],
                    scores=scores[i], present=present, box_xywh=boxes_xywh[i],
                    box_score=float(poses.box_scores[i])))
        return entries

    def _write(self, text: str) -> None:
        """Append ``text`` to the temporary file; a failed write (full disk, file-size limit)
        drops the file and is an ``OutputError`` naming ``path``."""
        try:
            self._file.write(text)
        except OSError as error:
            self.abort()
            raise self._write_error(error) from error

    def _write_error(self, error: OSError) -> OutputError:
        return OutputError(f"cannot write {self.path}: {error.strerror or error} (disk full "
                           "or file-size limit?); nothing was written there, an earlier file "
                           "is kept")

    def close(self) -> Path:
        """Finish the file and rename it onto ``path``; returns ``path``."""
        try:
            if self.format == "coco":
                self._file.write("]")
            else:
                images = [{**image, "vid_id": self.sequence_name, "nframes": len(self._images)}
                          for image in self._images]
                categories = [{"id": PERSON_CATEGORY_ID, "name": "person",
                               "supercategory": "person",
                               "keypoints": list(self._posetrack18_names), "skeleton": []}]
                self._file.write('], "images": ' + json.dumps(images)
                                 + ', "categories": ' + json.dumps(categories) + "}")
            self._file.close()
            os.replace(self._temporary, self.path)
        except OSError as error:
            self.abort()
            raise self._write_error(error) from error
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Drop what was written; an earlier file at ``path`` stays as it was. The temporary
        file is removed first: closing it may fail again on a full disk."""
        try:
            Path(self._temporary).unlink(missing_ok=True)
        finally:
            try:
                self._file.close()
            except OSError:
                pass   # the buffered rest could not be flushed: the file is gone anyway
