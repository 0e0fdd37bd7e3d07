"""Per-frame poses from other tools' files, for re-tracking (``posetrack-track``).

Four layouts are read (each person's entry as in ``tracker.io.pose_entries``):

* PoseTrack18 (a mapping with ``images`` and ``annotations``): frames in the order of
  ``images``, keypoints in PoseTrack18 order. Track ids in the file are ignored.
* COCO keypoint results (a list of ``{"image_id", "keypoints", "score", ["bbox"]}``, e.g.
  ``posetrack-run --format coco`` or mmpose's test results): ``image_id`` is the 0-based frame
  index; frames 0 .. the largest id.
* mmpose's predictions of a video (a list of ``{"frame_id", "instances": [...]}``, what
  ``MMPoseInferencer`` writes to ``pred_out_dir`` for a video): frames 0 .. the largest id.
* A folder of per-frame JSON files, each a list of people: mmpose's per-image predictions
  (``pred_out_dir`` for images) or Ultralytics' ``Results.to_json()``. Frames are the files in
  natural order of their names (``2.json`` before ``10.json``); frame ``000001.json`` is
  named ``000001.jpg``.

COCO, mmpose and Ultralytics keypoints are in COCO order. Returns ``PoseFrames``: one
``Poses`` per frame plus the frame names and the keypoint set, ready for a tracker's ``update``
and ``TrackWriter``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracker.errors import FileFormatError
from tracker.files import read_json
from tracker.io.pose_entries import (NUM_KEYPOINTS, Person, coco_person, mmpose_person,
                                     posetrack18_person, ultralytics_person)
from tracker.io.posetrack18 import posetrack18_from_json
from tracker.types import Poses


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


def read_pose_file(path: str | os.PathLike) -> PoseFrames:
    """The per-frame poses of a pose file or a folder of per-frame files (module docstring)."""
    path = Path(path)
    if path.is_dir():
        return _read_frame_folder(path)
    data = read_json(path, "pose file")
    if isinstance(data, dict):
        return _read_posetrack18(path, data)
    if isinstance(data, list):
        if data and isinstance(data[0], dict) and "instances" in data[0]:
            return _read_mmpose_video(path, data)
        return _read_coco_results(path, data)
    raise FileFormatError(f"{path}: expected a PoseTrack18 file (a mapping with images and "
                          f"annotations), COCO keypoint results or mmpose predictions (a "
                          f"list), got {type(data).__name__}")


def _poses(people: list[Person]) -> Poses:
    if not people:
        return Poses.empty(NUM_KEYPOINTS)
    return Poses(keypoints=np.stack([p.keypoints_xy for p in people]),
                 keypoint_scores=np.stack([p.keypoint_scores for p in people]),
                 boxes_xyxy=np.stack([p.box_xyxy for p in people]),
                 box_scores=np.asarray([p.box_score for p in people], np.float64))


def _mapping(entry, where: str) -> dict:
    if not isinstance(entry, dict):
        raise FileFormatError(f"{where}: expected a mapping, got {type(entry).__name__}")
    return entry


def _frame_index(entry: dict, key: str, where: str) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FileFormatError(f"{where}.{key}: expected the 0-based frame index (an integer "
                              f">= 0), got {value!r}")
    return value


def _numbered_frames(frames: dict[int, list[Person]], keypoint_set: str) -> PoseFrames:
    count = max(frames) + 1
    return PoseFrames(sequence_name="", names=[f"{i:06d}.jpg" for i in range(count)],
                      poses=[_poses(frames.get(i, [])) for i in range(count)],
                      keypoint_set=keypoint_set, timestamps_s=None)


def _read_posetrack18(path: Path, document: dict) -> PoseFrames:
    data = posetrack18_from_json(document, path)
    position = {image["id"]: i for i, image in enumerate(data.images)}
    people: list[list[Person]] = [[] for _ in data.images]
    for index, entry in enumerate(data.annotations):
        where = f"{path}: annotations[{index}]"
        entry = _mapping(entry, where)
        if entry.get("image_id") not in position:
            raise FileFormatError(f"{where}.image_id: {entry.get('image_id')!r} is the id of no "
                                  "entry of images")
        people[position[entry["image_id"]]].append(posetrack18_person(entry, where))
    file_names = data.file_names
    times = [image.get("timestamp_s") for image in data.images]
    folder = str(Path(file_names[0]).parent)
    return PoseFrames(sequence_name="" if folder == "." else folder,
                      names=[Path(name).name for name in file_names],
                      poses=[_poses(p) for p in people], keypoint_set="posetrack18",
                      timestamps_s=times if all(isinstance(t, (int, float)) for t in times)
                      else None)


def _read_coco_results(path: Path, entries: list) -> PoseFrames:
    frames: dict[int, list[Person]] = {}
    for index, entry in enumerate(entries):
        where = f"{path}: [{index}]"
        entry = _mapping(entry, where)
        frames.setdefault(_frame_index(entry, "image_id", where), []).append(
            coco_person(entry, where))
    if not frames:
        raise FileFormatError(f"{path}: no entries; expected COCO keypoint results")
    return _numbered_frames(frames, "coco")


def _read_mmpose_video(path: Path, entries: list) -> PoseFrames:
    frames: dict[int, list[Person]] = {}
    for index, entry in enumerate(entries):
        where = f"{path}: [{index}]"
        entry = _mapping(entry, where)
        frame_index = _frame_index(entry, "frame_id", where)
        instances = entry.get("instances")
        if not isinstance(instances, list):
            raise FileFormatError(f"{where}.instances: expected a list of people, got "
                                  f"{type(instances).__name__}")
        frames.setdefault(frame_index, []).extend(
            mmpose_person(_mapping(person, f"{where}.instances[{k}]"),
                          f"{where}.instances[{k}]") for k, person in enumerate(instances))
    return _numbered_frames(frames, "coco")


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _read_frame_folder(folder: Path) -> PoseFrames:
    files = sorted(folder.glob("*.json"), key=_natural_key)
    if not files:
        raise FileFormatError(f"{folder}: no .json files; expected one JSON list of people per "
                              "frame (mmpose's pred_out_dir, Ultralytics' Results.to_json())")
    frames = [_frame_file_people(path) for path in files]
    return PoseFrames(sequence_name=folder.name, names=[f"{path.stem}.jpg" for path in files],
                      poses=[_poses(people) for people in frames], keypoint_set="coco",
                      timestamps_s=None)


def _frame_file_people(path: Path) -> list[Person]:
    entries = read_json(path, "pose file")
    if not isinstance(entries, list):
        raise FileFormatError(f"{path}: expected a list of people (mmpose or Ultralytics "
                              f"per-frame JSON), got {type(entries).__name__}")
    people = []
    normalized = bool(entries)
    for index, entry in enumerate(entries):
        where = f"{path}: [{index}]"
        entry = _mapping(entry, where)
        if isinstance(entry.get("keypoints"), dict):
            if entry.get("name", "person") != "person":
                continue
            person = ultralytics_person(entry, where)
            normalized &= bool((np.abs(person.keypoints_xy) <= 1).all()
                               and (np.abs(person.box_xyxy) <= 1).all())
        elif "keypoint_scores" in entry:
            person = mmpose_person(entry, where)
            normalized = False
        else:
            raise FileFormatError(f"{where}: expected an mmpose instance (keypoints, "
                                  "keypoint_scores) or an Ultralytics detection (keypoints "
                                  f"{{x, y, visible}}, box), got keys {sorted(entry)}")
        people.append(person)
    if normalized and people:
        raise FileFormatError(f"{path}: every coordinate is within [0, 1], as Ultralytics "
                              "writes with normalize=True; expected pixels (Results.to_json() "
                              "with normalize=False, the default)")
    return people
