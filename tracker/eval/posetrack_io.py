"""Load PoseTrack18 ground truth and predictions as poseval does, into per-frame arrays.

Reproduces `leonid-pishchulin/poseval@4258a15` (`eval_helpers.load_data_dir`, `cleanupData`,
`removeIgnoredPoints`, `convert.py`); the section numbers refer to
`shared/specs/posetrack18-eval.md`.

* Files are paired by basename: every ``GT_DIR/*.json`` needs ``PRED_DIR/<same name>``; extra
  prediction files are ignored (§1). Frames are paired by position in ``images`` (§1).
* Keypoints are mapped by category name onto poseval's 15 joints (ears dropped); a keypoint
  is absent iff it is exactly ``(0, 0, 0)`` (§2.2). Missing, ``null`` or empty ``scores``
  give every joint ``MIN_SCORE`` (§5.1); a ``null`` entry in ``scores`` is a NaN score (what
  poseval's numpy score array stores for it; NaN ranks first), scores stay float64.
* Sequence order: poseval takes the GT files in ``glob`` (directory) order, and that order
  is the order of the concatenation whose ``argsort`` ranks tied scores (§5.4), so AP with
  tied scores equals poseval's only with ``sort_files=False``.
* Only frames whose GT image has at least one annotation are evaluated (§4.1). Then, in frames
  with ignore regions, every GT and predicted point strictly inside a region polygon is
  removed, and people left without points are removed (§4.2).

Files are read by ``tracker.io.posetrack18.read_posetrack18``, whose ``FileFormatError``
names the file and the field for malformed JSON, a file that is no PoseTrack18 mapping, a
missing or malformed ``images``/``annotations`` list, image ids that are missing, not int/str
or duplicated, and PoseTrack17 ``annolist`` files (convert them to PoseTrack18 first).
Where poseval crashes, asserts or silently drops data, this module raises
:class:`PoseTrackEvalError` (a ``FileFormatError`` too) with the file, the field and what was
expected:

* a missing prediction file, a frame-count mismatch or a missing field;
* an annotation whose ``image_id`` is missing or the id of no image of the file (poseval
  silently drops it, which changes AP on GT files and predictions alike);
* a file whose images belong to several videos (poseval silently keeps the first video);
* keypoints of the wrong length or not numbers, ``scores`` whose length differs from the
  keypoint names (poseval accepts longer lists), duplicated joint names in ``categories``;
* track ids that are not integers or are >= 10000 (negative ids are accepted, like poseval);
  duplicate track ids in one prediction frame (GT duplicates are not checked, like poseval);
* non-finite keypoint coordinates unless ``allow_nonfinite=True`` (then, like poseval, such a
  point is present but never matches and is never inside an ignore region);
* a GT person without ``bbox_head`` (absent, ``null`` or ``[]``) in an evaluated frame that
  has predictions (poseval: KeyError, or IndexError for ``[]`` already while loading);
  elsewhere it is allowed. Prediction head boxes are never read.
"""
from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from tracker.eval.posetrack_types import (MAX_TRACK_ID, MIN_SCORE, NUM_JOINTS, POSEVAL_JOINTS,
                                          FramePair, PoseSet, PoseTrackEvalError, SequencePair)
from tracker.io.posetrack18 import PoseTrack18File, read_posetrack18

SEQUENCE_TYPES = ("mpii", "bonn", "mpiinew")   # `posetrack18_id2fname.seqtype2idx`
MAX_FRAME_NUMBER = 10000

@dataclass(frozen=True)
class _Video:
    file_names: list[str]
    people: list[PoseSet]
    regions: list[list]  # per image: list of (V, 2) float64 polygon vertex arrays


def load_sequences(gt_dir: str | os.PathLike, pred_dir: str | os.PathLike, *,
                   allow_nonfinite: bool = False,
                   sort_files: bool = True) -> tuple[SequencePair, ...]:
    """All sequences of ``gt_dir`` paired with ``pred_dir``, cleaned up as poseval does.

    sort_files: True sorts GT files by name (the same on every machine); False keeps the
    ``glob.glob(GT_DIR/*.json)`` order, which is poseval's. AP depends on it as soon as any
    two scores tie (rounded scores, missing scores = -9999, NaN): numpy's unstable argsort
    ranks tied entries by their positions in the concatenation of all sequences (§5.4).
    """
    gt_dir, pred_dir = Path(gt_dir), Path(pred_dir)
    for folder, what in ((gt_dir, "ground-truth"), (pred_dir, "prediction")):
        if not folder.is_dir():
            raise PoseTrackEvalError(f"{folder}: {what} directory does not exist")
    gt_files = [Path(p) for p in glob.glob(os.path.join(glob.escape(str(gt_dir)), "*.json"))]
    if sort_files:
        gt_files.sort(key=lambda p: p.name)
    if not gt_files:
        raise PoseTrackEvalError(f"{gt_dir}: no *.json ground-truth files")
    return tuple(load_sequence_pair(gt_file, pred_dir / gt_file.name,
                                    allow_nonfinite=allow_nonfinite) for gt_file in gt_files)


def load_sequence_pair(gt_file: Path, pred_file: Path, *,
                       allow_nonfinite: bool = False) -> SequencePair:
    """One GT file and its prediction file, paired frame by frame and cleaned up (§1-§4)."""
    gt_file, pred_file = Path(gt_file), Path(pred_file)
    if not pred_file.is_file():
        raise PoseTrackEvalError(f"{pred_file}: prediction file does not exist (needed for "
                                 f"ground truth {gt_file.name})")
    gt_video = read_posetrack18(gt_file, "ground-truth file")
    pred_video = read_posetrack18(pred_file, "prediction file")
    gt = parse_video(gt_video, is_gt=True, allow_nonfinite=allow_nonfinite)
    pred = parse_video(pred_video, is_gt=False, allow_nonfinite=allow_nonfinite)
    if len(pred.people) != len(gt.people):
        raise PoseTrackEvalError(f"{pred_file}: images: {len(pred.people)} prediction frames, "
                                 f"expected {len(gt.people)} as in {gt_file}")
    frames = []
    for index, (gt_people, pred_people) in enumerate(zip(gt.people, pred.people)):
        if len(gt_people) == 0:
            continue  # unlabeled (or labeled-empty) GT frame: dropped with its predictions
        polygons = _polygons(gt.regions[index], gt_file, index)
        if polygons:
            gt_people = drop_ignored_points(gt_people, polygons=polygons)
            pred_people = drop_ignored_points(pred_people, polygons=polygons)
        if len(pred_people) and np.isnan(gt_people.head_boxes).any():
            bad = int(gt_people.annotation_index[np.isnan(gt_people.head_boxes).any(axis=1)][0])
            raise PoseTrackEvalError(
                f"{gt_file}: annotations[{bad}].bbox_head: missing (image "
                f"'{gt.file_names[index]}' has predictions, so the GT head box is needed)")
        frames.append(FramePair(gt_people, pred_people, gt.file_names[index], index))
    return SequencePair(gt_file.name.split(".")[0], gt_file, pred_file, tuple(frames),
                        gt_bboxes=_bboxes(gt_video), pred_bboxes=_bboxes(pred_video))


def _bboxes(video: PoseTrack18File) -> tuple:
    """Each annotation's ``bbox`` value as in the file (None where absent)."""
    return tuple(a.get("bbox") if isinstance(a, dict) else None for a in video.annotations)


def drop_ignored_points(people: PoseSet, *, polygons: list) -> PoseSet:
    """Remove points strictly inside any polygon, then people left without points (§4.2)."""
    points = people.keypoints[people.present]                          # (M, 2)
    inside = np.zeros(len(points), bool)
    finite = np.isfinite(points).all(axis=1)                            # NaN is never inside
    shapely_points = shapely.points(points[finite])
    for polygon in polygons:
        inside[finite] |= shapely.contains(polygon, shapely_points)
    present = people.present.copy()
    present[people.present] = ~inside
    return people.select(present.any(axis=1), present)


def _polygons(regions: list, path: Path, index: int) -> list:
    polygons = []
    for k, vertices in enumerate(regions):
        try:
            polygons.append(shapely.Polygon(vertices) if len(vertices) else shapely.Polygon())
        except (ValueError, shapely.errors.GEOSException) as e:
            raise PoseTrackEvalError(f"{path}: images[{index}].ignore_regions_x/y[{k}]: not a "
                                     f"polygon ({e})") from e
    return polygons


def parse_video(video: PoseTrack18File, *, is_gt: bool, allow_nonfinite: bool) -> _Video:
    """A read PoseTrack18 file -> per-image people (in ``images`` order) and GT ignore
    regions."""
    path, annotations = video.path, video.annotations
    columns = _joint_columns(video.categories, path)
    ids, file_names, regions, video_ids = [], [], [], {}
    for i, image in enumerate(video.images):
        where = f"images[{i}]"
        file_name = image["file_name"]
        video_ids.setdefault(_video_id(file_name, path, where), file_name)
        ids.append(image["id"])
        file_names.append(file_name)
        regions.append(_ignore_regions(image, path, where) if is_gt else [])
    if len(video_ids) > 1:
        raise PoseTrackEvalError(
            f"{path}: images[].file_name: images of {len(video_ids)} videos "
            f"({', '.join(sorted(video_ids))}); expected one video per file")
    by_image = {image_id: [] for image_id in ids}
    for k, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            raise PoseTrackEvalError(f"{path}: annotations[{k}]: expected an object")
        by_image[_image_id(ann, by_image, path, k)].append(k)
    order = [k for image_id in ids for k in by_image[image_id]]
    everybody = _people([annotations[k] for k in order], order, columns, path, is_gt=is_gt,
                        allow_nonfinite=allow_nonfinite)
    bounds = np.cumsum([0] + [len(by_image[image_id]) for image_id in ids])
    people = [everybody.select(slice(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]
    if not is_gt:
        _check_unique_track_ids(people, file_names, path)
    return _Video(file_names, people, regions)


def _image_id(ann: dict, by_image: dict, path: Path, k: int):
    """The ``image_id`` of annotation ``k``, which must be the id of an image of the file
    (poseval silently drops an annotation of no image, and with it a person)."""
    where, annotation = f"{path}: annotations[{k}].image_id", f"annotation id {ann.get('id')!r}"
    if "image_id" not in ann:
        raise PoseTrackEvalError(f"{where}: missing ({annotation})")
    image_id = ann["image_id"]
    if isinstance(image_id, (int, float, str)) and image_id in by_image:
        return image_id
    ids = list(by_image)
    listed = ", ".join(repr(i) for i in ids[:3]) + (f", ... ({len(ids)} in all)"
                                                    if len(ids) > 3 else "")
    raise PoseTrackEvalError(f"{where}: {image_id!r} ({annotation}) is the id of no image; "
                             f"expected one of the ids of 'images' ({listed})")


def _field(obj: dict, key: str, types, path: Path, where: str = ""):
    prefix = f"{where}." if where else ""
    if key not in obj:
        raise PoseTrackEvalError(f"{path}: {prefix}{key}: missing")
    value = obj[key]
    if not isinstance(value, types) or isinstance(value, bool):
        names = "/".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise PoseTrackEvalError(f"{path}: {prefix}{key}: expected {names}, got "
                                 f"{type(value).__name__}")
    return value


def _joint_columns(categories: list | None, path: Path) -> tuple[np.ndarray, int]:
    """(column of each poseval joint in the file's keypoint list (15,), number of names)."""
    if categories is None:
        raise PoseTrackEvalError(f"{path}: categories: missing")
    if len(categories) != 1 or not isinstance(categories[0], dict) \
            or categories[0].get("name") != "person":
        raise PoseTrackEvalError(f"{path}: categories: expected exactly one category named "
                                 "'person'")
    names = _field(categories[0], "keypoints", list, path, "categories[0]")
    if len(names) not in (15, 17):
        raise PoseTrackEvalError(f"{path}: categories[0].keypoints: expected 15 or 17 names, "
                                 f"got {len(names)}")
    columns = []
    for joint in POSEVAL_JOINTS:
        count = names.count(joint)
        if count != 1:
            raise PoseTrackEvalError(f"{path}: categories[0].keypoints: '{joint}' appears "
                                     f"{count} times, expected once")
        columns.append(names.index(joint))
    return np.array(columns), len(names)


def _video_id(file_name: str, path: Path, where: str) -> str:
    """The video id of a PoseTrack18 file_name, checked as `posetrack18_fname2id` does."""
    folder = os.path.basename(os.path.dirname(file_name))
    stem = os.path.basename(file_name).split(".")[0]
    tokens = folder.split("_")
    if not (stem.isascii() and stem.isdigit() and int(stem) < MAX_FRAME_NUMBER
            and len(tokens) >= 2 and tokens[0].isascii() and tokens[0].isdigit()
            and tokens[1] in SEQUENCE_TYPES):
        raise PoseTrackEvalError(
            f"{path}: {where}.file_name: cannot parse {file_name!r}; expected "
            f"'.../<video>_<{'|'.join(SEQUENCE_TYPES)}>_.../<frame 0-9999>.<ext>'")
    return tokens[0]


def _ignore_regions(image: dict, path: Path, where: str) -> list:
    has_x, has_y = "ignore_regions_x" in image, "ignore_regions_y" in image
    if not has_x and not has_y:
        return []
    if has_x != has_y:
        raise PoseTrackEvalError(f"{path}: {where}.ignore_regions_{'y' if has_x else 'x'}: "
                                 "missing (both ignore_regions_x and _y are needed)")
    xs, ys = image["ignore_regions_x"], image["ignore_regions_y"]
    if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
        raise PoseTrackEvalError(f"{path}: {where}.ignore_regions_x/y: expected two lists of "
                                 "the same length")
    regions = []
    for k, (x, y) in enumerate(zip(xs, ys)):
        vertices = _numbers([x, y], f"{where}.ignore_regions_x/y[{k}]", path) \
            if isinstance(x, list) and isinstance(y, list) and len(x) == len(y) else None
        if vertices is None or not np.isfinite(vertices).all():
            raise PoseTrackEvalError(f"{path}: {where}.ignore_regions_x/y[{k}]: expected two "
                                     "lists of finite numbers of the same length")
        regions.append(vertices.T.reshape(-1, 2))
    return regions


def _numbers(values: list, field: str, path: Path) -> np.ndarray:
    """float64 array of a (nested) list of JSON numbers; bools, strings and nulls are errors."""
    try:
        array = np.array(values)
    except ValueError as e:   # ragged nesting
        raise PoseTrackEvalError(f"{path}: {field}: expected numbers") from e
    if array.size and array.dtype.kind not in "iuf":
        raise PoseTrackEvalError(f"{path}: {field}: expected numbers")
    return array.astype(np.float64)


def _people(annotations: list[dict], indices: list[int], columns, path: Path, *,
            is_gt: bool, allow_nonfinite: bool) -> PoseSet:
    """All ``annotations`` (positions ``indices`` in the file) as one PoseSet."""
    if not annotations:
        return PoseSet.empty()
    columns, n_names = columns
    n = len(annotations)
    track_ids = np.array([_track_id(a, path, k) for a, k in zip(annotations, indices)],
                         np.int64)
    for ann, k in zip(annotations, indices):
        kps = _field(ann, "keypoints", list, path, f"annotations[{k}]")
        if len(kps) != 3 * n_names:
            raise PoseTrackEvalError(f"{path}: annotations[{k}].keypoints: expected "
                                     f"{3 * n_names} numbers ({n_names} keypoints x 3), "
                                     f"got {len(kps)}")
    xyv = _per_annotation_numbers([a["keypoints"] for a in annotations], indices, "keypoints",
                                  path).reshape(n, n_names, 3)[:, columns]   # (N, 15, 3)
    absent = (xyv[..., 0] == 0) & (xyv[..., 1] == 0) & (xyv[..., 2] == 0)
    if not allow_nonfinite and not np.isfinite(xyv[..., :2]).all():
        bad = int(np.argwhere(~np.isfinite(xyv[..., :2]).all(axis=2))[0, 0])
        raise PoseTrackEvalError(f"{path}: annotations[{indices[bad]}].keypoints: non-finite "
                                 "coordinate (NaN/Infinity); expected finite pixels")
    scores = np.full((n, NUM_JOINTS), MIN_SCORE)
    rows = [r for r, a in enumerate(annotations) if a.get("scores") not in (None, [])]
    for r in rows:
        given = annotations[r]["scores"]
        if not isinstance(given, list) or len(given) != n_names:
            raise PoseTrackEvalError(f"{path}: annotations[{indices[r]}].scores: expected a "
                                     f"list of {n_names} numbers (one per keypoint) or [], got "
                                     f"{len(given) if isinstance(given, list) else given!r}")
    if rows:
        given = [annotations[r]["scores"] for r in rows]
        given = [[math.nan if v is None else v for v in g] if None in g else g for g in given]
        scores[rows] = _per_annotation_numbers(given, [indices[r] for r in rows], "scores",
                                               path)[:, columns]
    head_boxes = np.full((n, 4), np.nan)
    if is_gt:
        rows = [r for r, a in enumerate(annotations) if a.get("bbox_head") not in (None, [])]
        for r in rows:                                  # [] or null: no head box
            head_boxes[r] = _head_box(annotations[r]["bbox_head"], path, indices[r])
    return PoseSet(track_ids, np.ascontiguousarray(xyv[..., :2]), ~absent, scores,
                   head_boxes, np.array(indices, np.int64))


def _per_annotation_numbers(lists: list[list], indices: list[int], key: str,
                            path: Path) -> np.ndarray:
    """(N, L) float64 of equally long lists; the error names the first bad annotation."""
    try:
        return _numbers(lists, f"annotations[].{key}", path)
    except PoseTrackEvalError:
        for values, k in zip(lists, indices):
            _numbers(values, f"annotations[{k}].{key}", path)
        raise


def _track_id(ann: dict, path: Path, k: int) -> int:
    value = _field(ann, "track_id", (int, float), path, f"annotations[{k}]")
    if isinstance(value, float) and not value.is_integer():
        raise PoseTrackEvalError(f"{path}: annotations[{k}].track_id: expected an integer, "
                                 f"got {value!r}")
    if not -2 ** 62 < value < MAX_TRACK_ID:
        raise PoseTrackEvalError(f"{path}: annotations[{k}].track_id: {value!r} is out of "
                                 f"range; poseval needs track ids < {MAX_TRACK_ID}")
    return int(value)


def _head_box(box, path: Path, k: int) -> np.ndarray:
    values = _numbers(box, f"annotations[{k}].bbox_head", path) \
        if isinstance(box, list) and len(box) == 4 else None
    if values is None or values.shape != (4,) or not np.isfinite(values).all():
        raise PoseTrackEvalError(f"{path}: annotations[{k}].bbox_head: expected 4 finite "
                                 "numbers [x, y, w, h]")
    x, y, w, h = (float(v) for v in box)
    return np.array([x, y, x + w, y + h])   # x2 = x + w in float64, as poseval's rect


def _check_unique_track_ids(people: list[PoseSet], file_names: list[str], path: Path) -> None:
    for people_in_frame, file_name in zip(people, file_names):
        ids = people_in_frame.track_ids.tolist()
        if len(set(ids)) != len(ids):
            dup = next(t for t in ids if ids.count(t) > 1)
            raise PoseTrackEvalError(f"{path}: annotations[].track_id: {dup} appears "
                                     f"{ids.count(dup)} times in image '{file_name}'; "
                                     "expected unique ids per frame")
