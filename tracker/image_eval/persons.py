"""Predicted persons: the list-of-dicts layout -> struct-of-arrays, validated.

The layout (what ``posetrack-bench`` writes to ``persons.json``, and what the reference
fixtures use)::

    {"image_file": "000000000785.jpg",      # the annotation's file_name (relative to img_prefix)
     "bbox_id": 0,                          # mmpose's bbox id (int; Sub-JHMDB: "<imgid>_000")
     "keypoints": [[x, y, score]] * K,      # 0-based pixels of the original image
     "bbox_xywh": [x, y, w, h] | None,      # the box the crop came from (None: center/scale)
     "bbox_score": 1.0,                     # detector score (1 for ground-truth boxes)
     "center": [cx, cy], "scale": [sx, sy], # mmpose's crop center and scale (size / 200)
     "area": float}                         # crop area in pixels, prod(scale * 200)

Numbers are stored as float32, as in mmpose's ``results`` arrays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class PredictionSet:
    """N predicted persons with K keypoints each.

    Attributes:
        image_files: (N,) file names as in the annotation.
        bbox_ids: (N,) ints, or strings (Sub-JHMDB).
        keypoints: (N, K, 3) float32 x, y, score.
        bbox_scores: (N,) float32 (1 where not given).
        areas: (N,) float32 crop areas (NaN where not given).
        centers, scales: (N, 2) float32 (NaN where not given).
    """

    image_files: tuple[str, ...]
    bbox_ids: tuple
    keypoints: np.ndarray
    bbox_scores: np.ndarray
    areas: np.ndarray
    centers: np.ndarray
    scales: np.ndarray

    def __len__(self) -> int:
        return len(self.image_files)

    @property
    def num_keypoints(self) -> int:
        return self.keypoints.shape[1]


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _numbers(values, count: int, where: str) -> list[float]:
    if not isinstance(values, (list, tuple, np.ndarray)) or len(values) != count:
        raise ValueError(f"{where}: expected {count} numbers, got {values!r}")
    return [_number(v, f"{where}[{i}]") for i, v in enumerate(values)]


def _keypoints(values, num_keypoints: int, where: str) -> np.ndarray:
    try:
        array = np.asarray(values)
    except ValueError:          # ragged nesting
        array = None
    if array is not None and array.shape == (num_keypoints, 3) and array.dtype.kind in "iuf":
        return array.astype(np.float32)
    if not isinstance(values, (list, tuple, np.ndarray)) or len(values) != num_keypoints:
        raise ValueError(f"{where}: expected {num_keypoints} [x, y, score] triplets, got "
                         f"{len(values) if isinstance(values, (list, tuple)) else values!r}")
    for j, row in enumerate(values):
        _numbers(row, 3, f"{where}[{j}]")
    raise ValueError(f"{where}: expected numbers")


def _bbox_id(value, where: str):
    if isinstance(value, (bool, float)) or not isinstance(value, (int, str, np.integer)):
        raise ValueError(f"{where}: expected an integer or a string, got {value!r}")
    return int(value) if isinstance(value, np.integer) else value


def _check_finite(keypoints: np.ndarray, areas: np.ndarray, bbox_ids: list, *,
                  need_areas: bool) -> None:
    """Finite keypoints (and areas where needed) and one kind of ``bbox_id``."""
    if not np.isfinite(keypoints).all():
        bad = int(np.argwhere(~np.isfinite(keypoints))[0, 0])
        raise ValueError(f"persons[{bad}].keypoints: non-finite value; expected finite pixels "
                         "and scores")
    if need_areas and not np.isfinite(areas).all():
        bad = int(np.flatnonzero(~np.isfinite(areas))[0])
        raise ValueError(f"persons[{bad}].area: expected a finite number, got {areas[bad]}")
    kinds = {type(b) for b in bbox_ids}
    if len(kinds) > 1:
        raise ValueError("persons[].bbox_id: mixes integers and strings; expected one kind")


def parse_persons(persons: Sequence[dict], num_keypoints: int, *,
                  need_areas: bool) -> PredictionSet:
    """Validate ``persons`` (the layout of the module docstring) into a ``PredictionSet``.

    Args:
        persons: the predicted persons, in any order.
        num_keypoints: K of the benchmark.
        need_areas: OKS-style benchmarks need ``area`` (OKS-NMS) and ``bbox_score``
            (rescoring); the PCK benchmarks do not.

    Raises:
        ValueError naming ``persons[i].<field>`` and what was expected.
    """
    if not isinstance(persons, (list, tuple)):
        raise ValueError(f"persons: expected a list of person dicts, got {type(persons).__name__}")
    n = len(persons)
    keypoints = np.zeros((n, num_keypoints, 3), np.float32)
    bbox_scores = np.ones(n, np.float32)
    areas = np.full(n, np.nan, np.float32)
    centers = np.full((n, 2), np.nan, np.float32)
    scales = np.full((n, 2), np.nan, np.float32)
    image_files, bbox_ids = [], []
    for i, person in enumerate(persons):
        where = f"persons[{i}]"
        if not isinstance(person, dict):
            raise ValueError(f"{where}: expected a dict, got {type(person).__name__}")
        for key in ("image_file", "bbox_id", "keypoints") + (("area",) if need_areas else ()):
            if key not in person:
                raise ValueError(f"{where}.{key}: missing")
        if not isinstance(person["image_file"], str):
            raise ValueError(f"{where}.image_file: expected a string, got "
                             f"{person['image_file']!r}")
        image_files.append(person["image_file"])
        bbox_ids.append(_bbox_id(person["bbox_id"], f"{where}.bbox_id"))
        keypoints[i] = _keypoints(person["keypoints"], num_keypoints, f"{where}.keypoints")
        if person.get("bbox_score") is not None:
            bbox_scores[i] = _number(person["bbox_score"], f"{where}.bbox_score")
        if person.get("area") is not None:
            areas[i] = _number(person["area"], f"{where}.area")
        for key, target in (("center", centers), ("scale", scales)):
            if person.get(key) is not None:
                target[i] = _numbers(person[key], 2, f"{where}.{key}")
    _check_finite(keypoints, areas, bbox_ids, need_areas=need_areas)
    return PredictionSet(tuple(image_files), tuple(bbox_ids), keypoints, bbox_scores, areas,
                         centers, scales)
