"""Writing tracked poses: PoseTrack18 JSON (what poseval reads) and COCO results JSON.

A ``TrackWriter`` streams one ``FrameResult`` per processed frame into a temporary file in
the output folder and renames it into place on ``close()`` (``os.replace``), so a failed run
never leaves a half-written file and an earlier file of the same name stays intact until the
new one is complete.

PoseTrack18 layout written (poseval pairs prediction and ground-truth frames by position, so
every processed frame is listed, in order, also those without people)::

    {"images": [{"id", "file_name": "<sequence>/<frame>.jpg", "frame_id", "vid_id",
                 "nframes", "has_no_densepose": true}],
     "annotations": [{"id", "image_id", "category_id": 1, "track_id",
                      "keypoints": [x, y, v] * 17, "scores": [s] * 17, "score",
                      "bbox": [x, y, w, h]}],
     "categories": [{"id": 1, "name": "person", "keypoints": [17 PoseTrack18 names],
                     "skeleton": []}]}

A keypoint below ``min_keypoint_score``, scored 0 or NaN is written as ``0, 0, 0``, which poseval
reads as "not predicted"; kept keypoints have ``v = 1`` and their score in ``scores``.

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
from pathlib import Path
from typing import Sequence

import numpy as np

from tracker.boxes import xyxy_to_xywh
from tracker.errors import OutputError
from tracker.files import temporary_file_next_to
from tracker.types import FrameResult

POSETRACK18_NAMES = ("nose", "head_bottom", "head_top", "left_ear", "right_ear",
                     "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
                     "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                     "right_knee", "left_ankle", "right_ankle")
COCO_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
              "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
#: Positions of head_bottom and head_top along shoulder-midpoint -> nose (see module doc).
HEAD_BOTTOM_ALONG = 0.27
HEAD_TOP_ALONG = 1.46
FORMATS = ("posetrack18", "coco")
#: poseval rejects track ids >= 10000 (its MAX_TRACK_ID).
POSEVAL_MAX_TRACK_ID = 9999


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
        if format == "posetrack18" and names not in (COCO_NAMES, POSETRACK18_NAMES):
            raise OutputError(
                f"PoseTrack18 output needs a COCO or PoseTrack18 keypoint model (17 keypoints); "
                f"this model has {len(names)}: {', '.join(names[:5])}, ... — use --format coco")
        self.path = Path(path)
        folder = self.path.parent
        if not folder.is_dir():
            raise OutputError(f"cannot write {self.path}: folder {folder} does not exist")
        self.keypoint_names = names
        self.sequence_name = sequence_name.strip("/")
        self.format = format
        self.min_person_score = min_person_score
        self.min_keypoint_score = min_keypoint_score
        self._images: list[dict] = []
        self.num_annotations = 0
        self.max_track_id = -1
        handle, self._temporary = temporary_file_next_to(self.path)
        self._file = os.fdopen(handle, "w", encoding="utf-8")
        self._file.write("[" if format == "coco" else '{"annotations": [')

    @property
    def num_frames(self) -> int:
        return len(self._images)

    def add(self, result: FrameResult) -> None:
        """Write one frame's people (call in frame order)."""
        image_id = len(self._images)
        stem = Path(result.name).stem if Path(result.name).suffix else result.name
        suffix = Path(result.name).suffix or ".jpg"
        self._images.append({"id": image_id, "file_name": f"{self.sequence_name}/{stem}{suffix}",
                             "frame_id": image_id, "frame_index": result.index,
                             "timestamp_s": round(float(result.timestamp_s), 6)})
        poses = result.poses
        keypoints, scores = poses.keypoints, poses.keypoint_scores
        if self.format == "posetrack18" and self.keypoint_names == COCO_NAMES:
            keypoints, scores = coco_to_posetrack18(keypoints, scores)
        boxes_xywh = xyxy_to_xywh(poses.boxes_xyxy)
        for i in np.flatnonzero(poses.box_scores >= self.min_person_score):
            present = ((scores[i] >= self.min_keypoint_score) & (scores[i] > 0)
                       & np.isfinite(keypoints[i]).all(1))
            if not present.any():
                continue
            track_id = int(result.track_ids[i])
            annotation = self._annotation(image_id, track_id, keypoints[i], scores[i], present,
                                          float(poses.box_scores[i]), boxes_xywh[i])
            text = json.dumps(annotation, allow_nan=False)
            self._file.write(("," if self.num_annotations else "") + text)
            self.num_annotations += 1
            self.max_track_id = max(self.max_track_id, track_id)

    def _annotation(self, image_id, track_id, keypoints, scores, present, box_score, box_xywh):
        xyv = np.zeros((len(keypoints), 3), np.float64)
        xyv[present, :2] = keypoints[present]
        visible_scores = np.where(present, scores, 0.0)
        mean_score = float(visible_scores[present].mean())
        box = np.nan_to_num(box_xywh) if not np.isfinite(box_xywh).all() else box_xywh
        annotation = {"id": self.num_annotations, "image_id": image_id, "category_id": 1,
                      "track_id": track_id, "bbox": [round(float(v), 2) for v in box],
                      "score": round(box_score * mean_score, 6)}
        if self.format == "posetrack18":
            xyv[present, 2] = 1
            annotation["keypoints"] = [round(float(v), 2) for v in xyv.ravel()]
            annotation["scores"] = [round(float(v), 5) for v in visible_scores]
        else:
            xyv[present, 2] = scores[present]
            annotation["keypoints"] = [round(float(v), 3) for v in xyv.ravel()]
        return annotation

    def close(self) -> Path:
        """Finish the file and rename it onto ``path``; returns ``path``."""
        try:
            if self.format == "coco":
                self._file.write("]")
            else:
                images = [{**image, "vid_id": self.sequence_name, "nframes": len(self._images)}
                          for image in self._images]
                categories = [{"id": 1, "name": "person", "supercategory": "person",
                               "keypoints": list(POSETRACK18_NAMES), "skeleton": []}]
                self._file.write('], "images": ' + json.dumps(images)
                                 + ', "categories": ' + json.dumps(categories) + "}")
            self._file.close()
            os.replace(self._temporary, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Drop what was written; an earlier file at ``path`` stays as it was."""
        self._file.close()
        Path(self._temporary).unlink(missing_ok=True)
