"""Top-down inference over a whole benchmark, batched across images.

    persons (PersonBox, N) --crop_geometry--> centers, scales (N, 2) float32 (mmpose's)
      images, read and cropped by ``workers`` threads ahead of the network (bounded queue)
      --crops of several images--> batches of ``batch_size`` --estimator (+ flip test)-->
      heatmaps --decode + heatmap_to_image--> keypoints (N, K, 3) --> person dicts

The numbers are those of ``TopDownPoseEstimator.predict`` for each person (same crop, same
normalisation, same network call, same decoding); only the grouping of crops into network
batches differs. ``batch_size=1, workers=0`` is the one-crop-at-a-time baseline.
"""
from __future__ import annotations

import collections
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from tracker.boxes import BOX_PADDING, PIXEL_STD, mmpose_center_scale, valid_box_mask
from tracker.image_eval.datasets import PersonBox
from tracker.pose.crop import crop_persons
from tracker.pose.estimator import TopDownPoseEstimator
from tracker.pose.heatmap import decode, heatmap_to_image

DEFAULT_BATCH_SIZE = 64
DEFAULT_WORKERS = 2


def crop_geometry(boxes: Sequence[PersonBox], input_size_wh: tuple[int, int],
                  padding: float = BOX_PADDING) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centers (N, 2), scales (N, 2) float32 and a (N,) validity mask of the persons' crops.

    A person with a box gets the box's aspect-fixed, padded crop, computed on the box
    rounded to float32 as mmpose's dataset pipeline holds it; one with ``center`` and
    ``scale`` (MPII, MPII-TRB) gets those. A box that is not finite or has no area is invalid.
    """
    n = len(boxes)
    centers, scales = np.zeros((n, 2), np.float32), np.zeros((n, 2), np.float32)
    valid = np.ones(n, bool)
    with_box = [i for i, b in enumerate(boxes) if b.bbox_xywh is not None]
    if with_box:
        box_array = np.array([boxes[i].bbox_xywh for i in with_box], np.float64)
        ok = valid_box_mask(box_array)
        c, s = mmpose_center_scale(np.where(ok[:, None], box_array, 1.0).astype(np.float32),
                                   input_size_wh[0] / input_size_wh[1], padding)
        centers[with_box], scales[with_box], valid[with_box] = c, s, ok
    for i, box in enumerate(boxes):
        if box.bbox_xywh is None:
            centers[i], scales[i] = box.center, box.scale
    valid &= np.isfinite(centers).all(axis=1) & np.isfinite(scales).all(axis=1) \
        & (scales > 0).all(axis=1)
    return centers, scales, valid


def _ordered_prefetch(load, items: list, workers: int) -> Iterator:
    """``load(item)`` for every item, in order, computed by ``workers`` threads ahead."""
    if workers <= 0:
        for item in items:
            yield load(item)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-crop") as pool:
        remaining = iter(items)
        pending = collections.deque(pool.submit(load, item)
                                    for item in islice(remaining, 2 * workers))
        while pending:
            result = pending.popleft().result()
            following = next(remaining, None)
            if following is not None:
                pending.append(pool.submit(load, following))
            yield result


def _rebatch(stream: Iterator[tuple[np.ndarray, np.ndarray]],
             batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(members (n,), crops (n, h, w, 3)) per image -> the same in chunks of ``batch_size``
    across images (the last one shorter)."""
    members, crops = [], []
    queued = 0
    for image_members, image_crops in stream:
        members.append(image_members)
        crops.append(image_crops)
        queued += len(image_members)
        while queued >= batch_size:
            all_members, all_crops = np.concatenate(members), np.concatenate(crops)
            yield all_members[:batch_size], all_crops[:batch_size]
            members, crops = [all_members[batch_size:]], [all_crops[batch_size:]]
            queued -= batch_size
    if queued:
        yield np.concatenate(members), np.concatenate(crops)


def _keypoints_of(estimator: TopDownPoseEstimator, crops: np.ndarray, centers: np.ndarray,
                  sizes: np.ndarray, flip_test: bool) -> np.ndarray:
    """(n, h, w, 3) uint8 crops -> (n, K, 3) float32 x, y (frame pixels), score: one network
    batch, exactly the steps of ``TopDownPoseEstimator.predict``."""
    heatmaps = estimator.heatmaps_of_crops(crops, flip_test)
    coords, scores = decode(heatmaps)
    h, w = heatmaps.shape[2:]
    xy = heatmap_to_image(coords, centers, sizes, (w, h))
    return np.concatenate([xy, scores[:, :, None]], axis=2)


def _load_and_crop(item: tuple, *, image_dir: Path, centers: np.ndarray, sizes: np.ndarray,
                   input_size_wh: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(image file, person indices) -> (indices, their crops)."""
    name, members = item
    image = cv2.imread(str(image_dir / name), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{image_dir / name}: missing or not an image OpenCV reads")
    members = np.asarray(members)
    return members, crop_persons(image, centers[members], sizes[members], input_size_wh)


def run_top_down(estimator: TopDownPoseEstimator, image_dir: str | os.PathLike,
                 boxes: Sequence[PersonBox], *, batch_size: int = DEFAULT_BATCH_SIZE,
                 workers: int = DEFAULT_WORKERS, flip_test: bool = True,
                 progress: bool = False) -> list[dict]:
    """Keypoints of every person, in the persons layout of ``persons.py``.

    Args:
        estimator: the pose model (its network, normalisation, keypoint set, input size).
        image_dir: folder the persons' ``image_file`` names are relative to.
        boxes: the persons (a benchmark's ``read_boxes``), any number per image.
        batch_size: crops per network call, gathered across images.
        workers: threads that read and crop images ahead of the network (0: in line).
        flip_test: average with the mirrored crop, as the seed's configs do.
        progress: show a tqdm bar (persons).

    Returns:
        One dict per person, in the order of ``boxes``. An invalid box (not finite, no area)
        gets keypoints (0, 0) with score 0, which the evaluation never matches.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    centers, scales, valid = crop_geometry(boxes, estimator.input_size_wh, estimator.box_padding)
    sizes = scales * np.float32(PIXEL_STD)
    by_image: dict = {}
    for i in np.flatnonzero(valid).tolist():
        by_image.setdefault(boxes[i].image_file, []).append(i)
    load = functools.partial(_load_and_crop, image_dir=Path(image_dir), centers=centers,
                             sizes=sizes, input_size_wh=estimator.input_size_wh)
    keypoints = np.zeros((len(boxes), estimator.num_keypoints, 3), np.float32)
    with tqdm(total=len(boxes), unit="person", disable=not progress, dynamic_ncols=True) as bar:
        bar.update(len(boxes) - int(valid.sum()))
        stream = _ordered_prefetch(load, list(by_image.items()), workers)
        for members, crops in _rebatch(stream, batch_size):
            keypoints[members] = _keypoints_of(estimator, crops, centers[members],
                                               sizes[members], flip_test)
            bar.update(len(members))
    return _person_dicts(boxes, keypoints, centers, scales)


def _person_dicts(boxes: Sequence[PersonBox], keypoints: np.ndarray, centers: np.ndarray,
                  scales: np.ndarray) -> list[dict]:
    areas = np.prod(scales * np.float32(PIXEL_STD), axis=1)
    return [{"image_file": box.image_file, "bbox_id": box.bbox_id,
             "keypoints": keypoints[i].tolist(),
             "bbox_xywh": None if box.bbox_xywh is None else [float(v) for v in box.bbox_xywh],
             "bbox_score": float(np.float32(box.bbox_score)),
             "center": centers[i].tolist(), "scale": scales[i].tolist(),
             "area": float(areas[i])} for i, box in enumerate(boxes)]
