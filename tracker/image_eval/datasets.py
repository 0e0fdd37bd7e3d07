"""Reading each benchmark's official annotation layout into the persons to crop.

* COCO-style files (COCO, OCHuman, AIC, MHP, CrowdPose, PoseTrack18, Sub-JHMDB): one person
  per non-crowd annotation with a usable box and labelled keypoints, box cleaned as mmpose 0.29
  does (`TopDownCocoDataset._load_coco_keypoint_annotation_kernel`); Sub-JHMDB is 1-based.
* Detection files (COCO results ``[{"image_id", "category_id", "bbox", "score"}]``): one person
  per person detection scored >= ``det_bbox_thr``.
* MPII (a JSON list with ``center``/``scale``) and MPII-TRB (COCO-style, ``center``/``scale``
  per annotation): the crop comes from the annotation's center and scale, not from a box.

Every reader raises ``ValueError`` naming the file and the field on malformed input; JSON is
read by ``tracker.files.read_json`` (``MissingFileError``, ``FileFormatError``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from tracker.boxes import PIXEL_STD
from tracker.files import read_json


@dataclass(frozen=True)
class PersonBox:
    """One person to crop: from ``bbox_xywh`` (aspect fix + padding), or from mmpose's
    ``center`` / ``scale`` (crop size / 200) where the dataset gives those (MPII, MPII-TRB)."""

    image_file: str
    bbox_id: object
    bbox_xywh: Optional[tuple] = None
    center: Optional[tuple] = None
    scale: Optional[tuple] = None
    bbox_score: float = 1.0


@dataclass(frozen=True)
class CocoGroundTruth:
    """A COCO-style annotation file: its lists plus mmpose's ``name2id`` / ``id2name``."""

    path: Path
    images: list
    annotations: list
    categories: list
    name_to_id: dict
    id_to_image: dict


def load_coco_ground_truth(path: str | os.PathLike) -> CocoGroundTruth:
    """Read and check a COCO-style keypoint annotation file (a missing ``iscrowd`` is 0)."""
    data = read_json(path, "annotation file")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object with images/annotations/categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise ValueError(f"{path}: {key}: missing or not a list")
    if not data["categories"]:
        raise ValueError(f"{path}: categories: empty; expected the person category")
    for k, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or \
                not isinstance(image.get("file_name"), str):
            raise ValueError(f"{path}: images[{k}]: expected an object with id and file_name")
    for k, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or not {"id", "image_id", "category_id"} <= set(ann):
            raise ValueError(f"{path}: annotations[{k}]: expected an object with id, image_id "
                             "and category_id")
        ann.setdefault("iscrowd", 0)
    id_to_image = {image["id"]: image for image in data["images"]}
    name_to_id = {image["file_name"]: image_id for image_id, image in id_to_image.items()}
    return CocoGroundTruth(Path(path), data["images"], data["annotations"], data["categories"],
                           name_to_id, id_to_image)


def clean_box(bbox, width: float, height: float) -> Optional[list]:
    """mmpose's box sanitising: clip to the image; None if nothing is left."""
    x, y, w, h = bbox
    x1, y1 = max(0, x), max(0, y)
    x2 = min(width - 1, x1 + max(0, w))
    y2 = min(height - 1, y1 + max(0, h))
    if x2 > x1 and y2 > y1:
        return [x1, y1, x2 - x1, y2 - y1]
    return None


def ground_truth_persons(truth: CocoGroundTruth, *, one_based: bool = False) -> list[tuple]:
    """The db of a COCO-style file: ``(image_id, bbox_id, annotation, clean_box)`` per person.

    Images in file order, annotations in file order; non-crowd only; the box is cleaned
    (``one_based``: Sub-JHMDB's 1-based box is shifted by -1 first); annotations without a
    usable box, without keypoints, with all keypoint values 0 or ``num_keypoints == 0`` are
    skipped. ``bbox_id`` counts per image (Sub-JHMDB: the string ``"<image_id>_<k:03>"``).
    """
    by_image: dict = {}
    for ann in truth.annotations:
        by_image.setdefault(ann["image_id"], []).append(ann)
    persons = []
    for image_id, image in truth.id_to_image.items():
        if by_image.get(image_id) and not {"width", "height"} <= set(image):
            raise ValueError(f"{truth.path}: image id {image_id!r}: width and height are needed "
                             "to clip the person boxes")
        count = 0
        for ann in by_image.get(image_id, []):
            if ann.get("iscrowd") or "bbox" not in ann:
                continue
            x, y, w, h = (float(v) for v in ann["bbox"])
            if one_based:
                x, y = x - 1, y - 1
            box = clean_box((x, y, w, h), image["width"], image["height"])
            if box is None or ("area" in ann and not ann["area"] > 0):
                continue
            keypoints = ann.get("keypoints")
            if not keypoints or max(keypoints) == 0 or ann.get("num_keypoints", 1) == 0:
                continue
            bbox_id = f"{image_id}_{count:03}" if one_based else count
            persons.append((image_id, bbox_id, ann, box))
            count += 1
    return persons


def gt_boxes(truth: CocoGroundTruth, *, one_based: bool = False) -> list[PersonBox]:
    """Persons to crop from the ground-truth boxes (box score 1)."""
    return [PersonBox(truth.id_to_image[image_id]["file_name"], bbox_id, tuple(box))
            for image_id, bbox_id, _, box in ground_truth_persons(truth, one_based=one_based)]


def detection_boxes(path: str | os.PathLike, truth: CocoGroundTruth, *,
                    det_bbox_thr: float) -> list[PersonBox]:
    """Persons to crop from a detection file, as mmpose's person-detection db.

    Person detections (``category_id == 1``) of every image must name an image of the
    annotation file; those scored below ``det_bbox_thr`` are dropped; ``bbox_id`` counts the
    kept ones. Errors name the file, the entry and the field.
    """
    entries = read_json(path, "detection file")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected a non-empty JSON list of COCO detection results")
    boxes = []
    for k, det in enumerate(entries):
        where = f"{path}: entry {k}"
        if not isinstance(det, dict) or \
                not {"image_id", "category_id", "bbox", "score"} <= set(det):
            raise ValueError(f"{where}: expected an object with image_id, category_id, bbox, score")
        if det["category_id"] != 1:
            continue
        if det["image_id"] not in truth.id_to_image:
            raise ValueError(f"{where}: image_id {det['image_id']!r} is not an image of "
                             f"{truth.path}; the detections belong to other images")
        box, score = det["bbox"], det["score"]
        if not (isinstance(box, list) and len(box) >= 4 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in box[:4])
                and np.isfinite(box[:4]).all()):
            raise ValueError(f"{where}: bbox: expected [x, y, w, h] finite numbers, got {box!r}")
        if isinstance(score, bool) or not isinstance(score, (int, float)) \
                or not np.isfinite(score):
            raise ValueError(f"{where}: score: expected a finite number, got {score!r}")
        if score < det_bbox_thr:
            continue
        boxes.append(PersonBox(truth.id_to_image[det["image_id"]]["file_name"], len(boxes),
                               tuple(float(v) for v in box[:4]), bbox_score=float(score)))
    return boxes


def mpii_boxes(path: str | os.PathLike) -> list[PersonBox]:
    """MPII's JSON list: the crop is the annotation's center (moved down by 15 scale units,
    made 0-based) and its scale x 1.25, in float32; ``bbox_id`` = position in the file."""
    entries = read_json(path, "annotation file")
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON list of MPII annotations")
    boxes = []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict) or not {"image", "center", "scale"} <= set(entry):
            raise ValueError(f"{path}: entry {k}: expected an object with image, center, scale")
        center = np.array(entry["center"], dtype=np.float32)
        scale = np.array([entry["scale"], entry["scale"]], dtype=np.float32)
        if center[0] != -1:
            center[1] = center[1] + 15 * scale[1]
            scale = scale * np.float32(1.25)
        center = center - np.float32(1)
        boxes.append(PersonBox(entry["image"], k, center=tuple(center.tolist()),
                               scale=tuple(scale.tolist())))
    return boxes


def mpii_trb_persons(truth: CocoGroundTruth) -> list[dict]:
    """MPII-TRB's db: annotations whose keypoints are not all 0, sorted by id."""
    kept = [ann for ann in truth.annotations if max(ann.get("keypoints") or [0]) != 0]
    return sorted(kept, key=lambda ann: ann["id"])


def mpii_trb_boxes(truth: CocoGroundTruth, input_size_wh: tuple[int, int]) -> list[PersonBox]:
    """MPII-TRB: crop from the annotation's center and ``input_size / scale / 200``."""
    boxes = []
    for ann in mpii_trb_persons(truth):
        if ann["image_id"] not in truth.id_to_image or "center" not in ann or "scale" not in ann:
            raise ValueError(f"{truth.path}: annotation id {ann['id']}: needs center, scale and "
                             "an image_id of images[]")
        scale = np.asarray(input_size_wh, np.float64) / ann["scale"] / PIXEL_STD
        boxes.append(PersonBox(truth.id_to_image[ann["image_id"]]["file_name"], ann["id"],
                               center=tuple(np.float32(ann["center"]).tolist()),
                               scale=tuple(scale.astype(np.float32).tolist())))
    return boxes


def missing_images(image_dir: str | os.PathLike, boxes: list[PersonBox]) -> list[Path]:
    """Image files of ``boxes`` that do not exist under ``image_dir`` (each once, in order)."""
    missing, seen = [], set()
    for box in boxes:
        if box.image_file not in seen:
            seen.add(box.image_file)
            path = Path(image_dir) / box.image_file
            if not path.is_file():
                missing.append(path)
    return missing
