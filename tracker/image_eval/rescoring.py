"""What mmpose 0.29 does to a top-down result before COCO-style scoring (pure functions).

* ``rescore``: person score = box score x mean of the keypoint scores above ``vis_thr``
  (`TopDownCocoDataset.evaluate`, l.289-313).
* ``oks_nms`` / ``soft_oks_nms``: per-image non-maximum suppression by OKS
  (`mmpose/core/post_processing/nms.py`), with ``oks_overlap`` = its ``oks_iou``.

Shapes: N persons, K keypoints; keypoints (N, K, 3) float32 x, y, score. The float widths
follow the reference (numpy 1.x promotion): see each docstring.
"""
from __future__ import annotations

import numpy as np

#: Soft-NMS keeps at most this many persons per image (mmpose's ``max_dets``).
SOFT_NMS_MAX_DETS = 20


def rescore(keypoint_scores: np.ndarray, box_scores: np.ndarray, vis_thr: float) -> np.ndarray:
    """Rescored person confidences.

    Args:
        keypoint_scores: (N, K) float32 heatmap maxima.
        box_scores: (N,) float32 box (detector) scores.
        vis_thr: only keypoint scores strictly above this count.

    Returns:
        (N,) float64: ``box_score * mean(scores > vis_thr)``, 0 where no keypoint counts.
        The sum runs in float64 in joint order, as Python's ``0 + float32 + ...`` does under
        numpy 1.x; the comparison with ``vis_thr`` is made in float64 as well.
    """
    scores = np.asarray(keypoint_scores, np.float32).astype(np.float64)
    visible = scores > float(vis_thr)
    count = visible.sum(axis=1)
    total = np.cumsum(np.where(visible, scores, 0.0), axis=1)[:, -1] if scores.shape[1] \
        else np.zeros(len(scores))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return mean * np.asarray(box_scores, np.float32).astype(np.float64)


def oks_overlap(anchor: np.ndarray, others: np.ndarray, anchor_area: np.float32,
                other_areas: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """OKS of one person with M others over all K keypoints (mmpose ``oks_iou``).

    Args:
        anchor: (K, 3) float32 keypoints. others: (M, K, 3) float32.
        anchor_area, other_areas: float32 crop areas (scalar, (M,)).
        sigmas: (K,) float64 dataset sigmas.

    Returns:
        (M,) float32 OKS. Coordinate differences and squares are float32, the area mean is
        taken in float32, everything after the division by ``(2 sigma)^2`` in float64.
    """
    anchor = np.asarray(anchor, np.float32)
    others = np.asarray(others, np.float32).reshape(-1, *anchor.shape)
    variances = (np.asarray(sigmas, np.float64) * 2) ** 2
    dx = others[:, :, 0] - anchor[:, 0]
    dy = others[:, :, 1] - anchor[:, 1]
    squared = dx ** 2 + dy ** 2
    areas = (np.float32(anchor_area) + np.asarray(other_areas, np.float32)).astype(np.float64)
    e = squared / variances / (areas / 2 + np.spacing(1))[:, None] / 2
    out = np.zeros(len(others), np.float32)
    for m, row in enumerate(np.exp(-e)):   # 1-D sums: numpy's pairwise order, as the reference
        out[m] = np.sum(row) / len(row) if len(row) else 0.0
    return out


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray,
            sigmas: np.ndarray, oks_thr: float) -> np.ndarray:
    """Greedy OKS-NMS of one image's persons (mmpose ``oks_nms``).

    Args:
        keypoints: (N, K, 3) float32. scores: (N,) float64 rescored confidences.
        areas: (N,) float32 crop areas. sigmas: (K,) float64. oks_thr: a person whose OKS
            with a kept, higher-scored person is above this is dropped (OKS compared in
            float32).

    Returns:
        (M,) int64 indices of the kept persons, in keep order (descending score; ties as
        numpy's default ``argsort``, reversed).
    """
    scores = np.asarray(scores, np.float64)
    order = scores.argsort()[::-1]
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        overlap = oks_overlap(keypoints[i], keypoints[order[1:]], areas[i], areas[order[1:]],
                              sigmas)
        order = order[np.flatnonzero(overlap <= np.float32(oks_thr)) + 1]
    return np.asarray(keep, np.int64)


def soft_oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray,
                 sigmas: np.ndarray, oks_thr: float,
                 max_dets: int = SOFT_NMS_MAX_DETS) -> np.ndarray:
    """Gaussian soft OKS-NMS (mmpose ``soft_oks_nms``): decay scores by ``exp(-oks^2/thr)``.

    Same arguments as ``oks_nms``; keeps at most ``max_dets`` persons. The decayed scores
    only order the selection: the persons keep their rescored confidence.
    """
    scores = np.asarray(scores, np.float64)
    order = scores.argsort()[::-1]
    scores = scores[order]
    keep = []
    while len(order) and len(keep) < max_dets:
        i = order[0]
        overlap = oks_overlap(keypoints[i], keypoints[order[1:]], areas[i], areas[order[1:]],
                              sigmas)
        order, scores = order[1:], scores[1:] * np.exp(-overlap ** 2 / oks_thr)
        resort = scores.argsort()[::-1]
        order, scores = order[resort], scores[resort]
        keep.append(i)
    return np.asarray(keep, np.int64)
