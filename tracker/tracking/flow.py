"""Pose propagation by dense optical flow (Simple Baselines section 3.1).

``DenseFlow`` computes the flow F(k-1 -> k) of two frames as a ``FlowField``; ``warp_points``
moves keypoints by it (``warp_point_sets``: many poses in one call); ``global_motion`` is the
camera's motion; ``boxes_around_keypoints`` puts an enlarged box around each propagated
pose. A flow is either a plain (H, W, 2) float32 array in pixels of the full frame or a
``FlowField`` computed at a lower resolution (only sampled at keypoints, so it is never
upscaled); keypoints are (N, K, 2) frame pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Frames are upscaled so that both sides of the image the flow is computed on are at least
#: this many pixels: OpenCV's DIS fails (and later crashes) on images under 12 px on a side.
MIN_FLOW_SIDE = 16
#: ``global_motion`` takes the median of about this many flow vectors (an even grid of them).
GLOBAL_MOTION_SAMPLES = 6000
#: The paper enlarges the box around propagated joints "by some extent, 15% in experiments".
PROPAGATED_BOX_ENLARGE = 0.15

DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
               "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


@dataclass
class FlowField:
    """Dense flow computed on a downscaled frame.

    Attributes:
        vectors: (h, w, 2) float32 displacements in pixels of the downscaled frame.
        scale: frame pixels per flow pixel (>= 1, except for frames smaller than
            ``MIN_FLOW_SIDE``, which are upscaled): frame point p moves by
            ``scale * vectors[p / scale]``.
    """

    vectors: np.ndarray
    scale: float = 1.0

    def full_resolution(self, frame_size_wh: tuple[int, int]) -> np.ndarray:
        """(H, W, 2) float32 flow in frame pixels (upscaled; costs ~10 ms at 720p)."""
        width, height = frame_size_wh
        if self.scale == 1.0 and self.vectors.shape[:2] == (height, width):
            return self.vectors
        flow = cv2.resize(self.vectors, (width, height), interpolation=cv2.INTER_LINEAR)
        return (flow * self.scale).astype(np.float32)


class DenseFlow:
    """Classical dense optical flow between consecutive frames (no weights needed).

    Args:
        method: "dis" (OpenCV DIS, default) or "farneback".
        dis_preset: "ultrafast", "fast" or "medium" (DIS speed/accuracy trade-off).
        max_side: frames are downscaled so that their longer side is at most this before the
            flow is computed (flow vectors are scaled back); 0 keeps the full resolution.
            A frame (or downscaled frame) with a side under ``MIN_FLOW_SIDE`` is upscaled
            until both sides reach it, so tiny frames get a flow instead of an OpenCV error.
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
        self._cached = None     # (last current frame, its prepared gray image)

    def __call__(self, previous_bgr: np.ndarray, current_bgr: np.ndarray) -> FlowField:
        """Flow F(previous -> current): frame pixel p of ``previous`` moves to p + flow(p).

        The grayscale, downscaled current frame is kept, so that the next call (whose
        ``previous`` is this ``current``) does not prepare it again.
        """
        height, width = previous_bgr.shape[:2]
        size = flow_size_wh((width, height), self.max_side)
        if self._cached is not None and self._cached[0] is previous_bgr:
            prev = self._cached[1]
        else:
            prev = _gray_resized(previous_bgr, size)
        curr = _gray_resized(current_bgr, size)
        self._cached = (current_bgr, curr)
        if self._dis is not None:
            vectors = self._dis.calc(prev, curr, None)
        else:
            vectors = cv2.calcOpticalFlowFarneback(prev, curr, None, pyr_scale=0.5, levels=3,
                                                   winsize=15, iterations=3, poly_n=5,
                                                   poly_sigma=1.2, flags=0)
        return FlowField(vectors=vectors.astype(np.float32, copy=False), scale=width / size[0])


def flow_size_wh(frame_size_wh: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) the flow of a frame is computed at: the longer side at most
    ``max_side`` (0: no limit), both sides at least ``MIN_FLOW_SIDE`` (the upscaling wins
    for very elongated frames), aspect ratio kept."""
    width, height = frame_size_wh
    factor = 1.0
    if max_side and max(height, width) > max_side:
        factor = max_side / max(height, width)
    if min(height, width) * factor < MIN_FLOW_SIDE:
        factor = MIN_FLOW_SIDE / min(height, width)
    return max(MIN_FLOW_SIDE, round(width * factor)), max(MIN_FLOW_SIDE, round(height * factor))


def _gray_resized(image_bgr: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    if (image_bgr.shape[1], image_bgr.shape[0]) != tuple(size_wh):
        image_bgr = cv2.resize(image_bgr, size_wh, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)


def warp_points(points_xy: np.ndarray, flow) -> np.ndarray:
    """Move points by the flow sampled bilinearly at their positions.

    Args:
        points_xy: (..., 2) frame pixels; NaN points stay NaN, points outside the frame use
            the flow of the nearest border pixel.
        flow: (H, W, 2) float32 frame-pixel flow, or a ``FlowField``.

    Returns:
        (..., 2) float32 moved points.
    """
    scale = 1.0
    if isinstance(flow, FlowField):
        flow, scale = flow.vectors, float(flow.scale)
    points = np.asarray(points_xy, np.float32)
    flat = points.reshape(-1, 2)
    finite = np.isfinite(flat).all(axis=1)
    height, width = flow.shape[:2]
    # frame pixel p sits at p / scale in the flow (pixel centres stay aligned for scale 1)
    x = np.clip(np.where(finite, flat[:, 0], 0) / scale, 0, width - 1)
    y = np.clip(np.where(finite, flat[:, 1], 0) / scale, 0, height - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    sampled = (flow[y0, x0] * (1 - fx) * (1 - fy) + flow[y0, x1] * fx * (1 - fy)
               + flow[y1, x0] * (1 - fx) * fy + flow[y1, x1] * fx * fy)
    moved = np.where(finite[:, None], flat + scale * sampled, np.nan)
    return moved.reshape(points.shape).astype(np.float32)


def warp_point_sets(point_sets, flow) -> list[np.ndarray]:
    """``[warp_points(points, flow) for points in point_sets]`` in one call (one flow lookup
    for all the points: moving 15 poses costs about as much as moving one).

    Args:
        point_sets: sequence of (..., 2) frame-pixel arrays, of any shapes (e.g. one (K, 2)
            pose per track, or a track's (T, K, 2) history).
        flow: (H, W, 2) float32 frame-pixel flow, or a ``FlowField``.

    Returns:
        list of float32 arrays, each of its input's shape, equal to ``warp_points``'s.
    """
    arrays = [np.asarray(points, np.float32) for points in point_sets]
    if not arrays:
        return []
    moved = warp_points(np.concatenate([a.reshape(-1, 2) for a in arrays]), flow)
    ends = np.cumsum([a.size // 2 for a in arrays])[:-1]
    return [part.reshape(a.shape) for part, a in zip(np.split(moved, ends), arrays)]


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


def global_motion(flow) -> np.ndarray:
    """(2,) float32 median displacement of the flow in frame pixels: the camera's own motion
    (pan, shake) when people cover less than half of the frame.

    Args:
        flow: (H, W, 2) float32 frame-pixel flow, or a ``FlowField`` (its median is scaled
            to frame pixels).

    The median is taken over an even grid of about ``GLOBAL_MOTION_SAMPLES`` vectors (every
    vector of smaller fields): on DenseFlow's fields of real video it is within 0.02 px of
    the median of all vectors, in 0.2 ms instead of 7 ms at 640x360. Zeros for an empty flow.
    """
    scale = 1.0
    if isinstance(flow, FlowField):
        flow, scale = flow.vectors, float(flow.scale)
    vectors = np.asarray(flow, np.float32)
    if vectors.size == 0:
        return np.zeros(2, np.float32)
    grid = vectors if vectors.ndim == 3 else vectors.reshape(-1, 1, 2)      # (rows, cols, 2)
    step_y, step_x = _grid_steps(grid.shape[0], grid.shape[1], GLOBAL_MOTION_SAMPLES)
    sample = grid[step_y // 2::step_y, step_x // 2::step_x].reshape(-1, 2)
    return (np.median(sample, axis=0) * scale).astype(np.float32)


def _grid_steps(height: int, width: int, samples: int) -> tuple[int, int]:
    """Row and column steps of an even grid of about ``samples`` of ``height x width``
    cells (1, 1 when there are no more cells than that). A grid, not every n-th vector of the
    flattened field: that would sample the same few columns when n divides the width."""
    ratio = height * width / samples
    if ratio <= 1:
        return 1, 1
    step_x = max(1, min(width, round(ratio ** 0.5)))
    step_y = max(1, min(height, round(ratio / step_x)))
    return step_y, max(1, min(width, round(ratio / step_y)))   # again, if step_y was clipped
