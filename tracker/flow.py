"""Pose propagation by dense optical flow (Simple Baselines section 3.1).

``DenseFlow`` computes the flow F(k-1 -> k) of two frames; ``warp_points`` moves keypoints
by it; ``boxes_around_keypoints`` puts an enlarged box around each propagated pose. Shapes:
flow (H, W, 2) float32 in pixels of the full frame; keypoints (N, K, 2) pixels.
"""
from __future__ import annotations

import cv2
import numpy as np

#: The paper enlarges the box around propagated joints "by some extent, 15% in experiments".
PROPAGATED_BOX_ENLARGE = 0.15

DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
               "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


class DenseFlow:
    """Classical dense optical flow between consecutive frames (no weights needed).

    Args:
        method: "dis" (OpenCV DIS, default) or "farneback".
        dis_preset: "ultrafast", "fast" or "medium" (DIS speed/accuracy trade-off).
        max_side: frames are downscaled so that their longer side is at most this before the
            flow is computed (flow vectors are scaled back); 0 keeps the full resolution.
    """

    def __init__(self, method: str = "dis", dis_preset: str = "fast", max_side: int = 640):
        if method not in ("dis", "farneback"):
            raise ValueError(f"flow method must be 'dis' or 'farneback', got {method!r}")
        if dis_preset not in DIS_PRESETS:
            raise ValueError(f"dis_preset must be one of {sorted(DIS_PRESETS)}, got {dis_preset!r}")
        if max_side < 0:
            raise ValueError(f"max_side must be >= 0, got {max_side}")
        self.method = method
        self.max_side = max_side
        self._dis = cv2.DISOpticalFlow_create(DIS_PRESETS[dis_preset]) if method == "dis" else None

    def __call__(self, previous_bgr: np.ndarray, current_bgr: np.ndarray) -> np.ndarray:
        """(H, W, 2) float32 flow: pixel (x, y) of ``previous`` moves to (x, y) + flow."""
        height, width = previous_bgr.shape[:2]
        factor = 1.0
        if self.max_side and max(height, width) > self.max_side:
            factor = self.max_side / max(height, width)
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        prev = cv2.cvtColor(cv2.resize(previous_bgr, size, interpolation=cv2.INTER_AREA),
                            cv2.COLOR_BGR2GRAY)
        curr = cv2.cvtColor(cv2.resize(current_bgr, size, interpolation=cv2.INTER_AREA),
                            cv2.COLOR_BGR2GRAY)
        if self._dis is not None:
            flow = self._dis.calc(prev, curr, None)
        else:
            flow = cv2.calcOpticalFlowFarneback(prev, curr, None, pyr_scale=0.5, levels=3,
                                                winsize=15, iterations=3, poly_n=5,
                                                poly_sigma=1.2, flags=0)
        if factor != 1.0:
            flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR) / factor
        return flow.astype(np.float32)


def warp_points(points_xy: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Move points by the flow sampled bilinearly at their positions.

    Args:
        points_xy: (..., 2) pixels; NaN points stay NaN, points outside the frame use the
            flow of the nearest border pixel.
        flow: (H, W, 2) float32.

    Returns:
        (..., 2) float32 moved points.
    """
    points = np.asarray(points_xy, np.float32)
    flat = points.reshape(-1, 2)
    finite = np.isfinite(flat).all(axis=1)
    height, width = flow.shape[:2]
    x = np.clip(np.where(finite, flat[:, 0], 0), 0, width - 1)
    y = np.clip(np.where(finite, flat[:, 1], 0), 0, height - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    sampled = (flow[y0, x0] * (1 - fx) * (1 - fy) + flow[y0, x1] * fx * (1 - fy)
               + flow[y1, x0] * (1 - fx) * fy + flow[y1, x1] * fx * fy)
    moved = np.where(finite[:, None], flat + sampled, np.nan)
    return moved.reshape(points.shape).astype(np.float32)


def boxes_around_keypoints(keypoints: np.ndarray, keypoint_scores: np.ndarray,
                           min_score: float = 0.0,
                           enlarge: float = PROPAGATED_BOX_ENLARGE) -> np.ndarray:
    """(N, K, 2) poses -> (N, 4) xyxy boxes around keypoints scored above ``min_score``,
    with width and height enlarged by ``enlarge`` about the centre; NaN where none qualify."""
    keypoints = np.asarray(keypoints, np.float64)
    usable = (np.asarray(keypoint_scores) > min_score) & np.isfinite(keypoints).all(axis=2)
    boxes = np.full((len(keypoints), 4), np.nan)
    for i, (points, mask) in enumerate(zip(keypoints, usable)):
        if mask.any():
            low, high = points[mask].min(axis=0), points[mask].max(axis=0)
            center, half = (low + high) / 2, (high - low) / 2 * (1 + enlarge)
            boxes[i] = np.concatenate([center - half, center + half])
    return boxes.astype(np.float32)
