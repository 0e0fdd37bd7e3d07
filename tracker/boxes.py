"""Pure box geometry: format conversion, box -> (center, scale) for top-down crops, IoU.

Shapes: boxes are (N, 4); centers and scales are (N, 2) float32, in frame pixels.
"""
from __future__ import annotations

import numpy as np

#: Enlargement of the person box before cropping (mmpose ``TopDownGetBboxCenterScale``).
BOX_PADDING = 1.25

#: mmpose 0.x stores the crop size divided by this constant ("scale"); we keep pixels.
PIXEL_STD = 200.0


def xywh_to_xyxy(boxes_xywh: np.ndarray) -> np.ndarray:
    """(N, 4) (x, y, w, h) -> (N, 4) (x1, y1, x2, y2), same dtype."""
    boxes = np.asarray(boxes_xywh)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:4]], axis=1)


def xyxy_to_xywh(boxes_xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) (x1, y1, x2, y2) -> (N, 4) (x, y, w, h), same dtype."""
    boxes = np.asarray(boxes_xyxy)
    return np.concatenate([boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]], axis=1)


def valid_box_mask(boxes_xywh: np.ndarray) -> np.ndarray:
    """(N,) bool: finite boxes with non-negative sides that are not both zero.

    A box of zero width but positive height (or the reverse) is valid: the aspect fix of
    ``box_to_center_scale`` widens it to the model's aspect ratio, as mmpose does.
    """
    boxes = np.asarray(boxes_xywh, dtype=np.float64)
    w, h = boxes[:, 2], boxes[:, 3]
    finite = np.isfinite(boxes).all(axis=1)
    with np.errstate(invalid="ignore"):
        return finite & (w >= 0) & (h >= 0) & ((w > 0) | (h > 0))


def mmpose_center_scale(boxes_xywh: np.ndarray, aspect_ratio: float,
                        padding: float = BOX_PADDING) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes -> crop centers and mmpose 0.x's crop scales (crop size / ``PIXEL_STD``).

    Args:
        boxes_xywh: (N, 4) boxes (float64 recommended: mmpose's inference API works on
            Python floats; round them to float32 first to get the numbers of mmpose's
            dataset pipeline, which holds boxes in float32).
        aspect_ratio: width / height of the network input (e.g. 192 / 256).
        padding: enlargement factor of the aspect-corrected box.

    Returns:
        centers: (N, 2) float32 box centers, frame pixels.
        scales: (N, 2) float32 crop width and height divided by ``PIXEL_STD`` (mmpose's
            ``scale``, as written to its result files).

    The float order matters for bit-exact crops: the center is rounded to float32, the aspect
    fix runs in float64, and ``scale = float32(w, h) / 200 * padding`` runs in float32.
    """
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    x, y, w, h = boxes.T
    centers = np.stack([x + w * 0.5, y + h * 0.5], axis=1).astype(np.float32)
    w_fixed = np.where(w > aspect_ratio * h, w, np.where(w < aspect_ratio * h, h * aspect_ratio, w))
    h_fixed = np.where(w > aspect_ratio * h, w * 1.0 / aspect_ratio, h)
    scales = np.stack([w_fixed, h_fixed], axis=1).astype(np.float32) / np.float32(PIXEL_STD)
    return centers, scales * np.float32(padding)


def box_to_center_scale(boxes_xywh: np.ndarray, aspect_ratio: float,
                        padding: float = BOX_PADDING) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes -> crop centers and crop sizes, exactly as mmpose 0.x computes them.

    Args:
        boxes_xywh, aspect_ratio, padding: as ``mmpose_center_scale``.

    Returns:
        centers: (N, 2) float32 box centers, frame pixels.
        sizes: (N, 2) float32 crop width and height in frame pixels: mmpose's
            ``scale * 200`` in float32, the size its affine crop uses. (``sizes / PIXEL_STD``
            is not always bit-equal to mmpose's ``scale``: use ``mmpose_center_scale``.)
    """
    centers, scales = mmpose_center_scale(boxes_xywh, aspect_ratio, padding)
    return centers, scales * np.float32(PIXEL_STD)


def box_areas(boxes_xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) xyxy -> (N,) float64 areas; negative sides count as 0, NaN boxes as 0."""
    boxes = np.nan_to_num(np.asarray(boxes_xyxy, np.float64).reshape(-1, 4))
    return (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)


def iou_matrix(boxes_a_xyxy: np.ndarray, boxes_b_xyxy: np.ndarray) -> np.ndarray:
    """(N, 4), (M, 4) xyxy -> (N, M) intersection over union; 0 where the union is empty."""
    a = np.asarray(boxes_a_xyxy, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b_xyxy, dtype=np.float64).reshape(-1, 4)
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clip(0).prod(axis=2)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)
