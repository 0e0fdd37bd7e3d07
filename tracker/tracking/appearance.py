"""Appearance cues for re-identifying a person after an occlusion (pure functions + one model).

``colour_descriptors`` is the cheap default: for each pose, hue-saturation histograms of the
torso (the box around shoulders and hips) and of the legs (hips to ankles, else to knees),
each L1-normalised and concatenated, so a red shirt over blue jeans is told from a blue shirt
over red shorts. Each histogram counts a grid of about ``SAMPLES_PER_PART`` of the part's
pixels, and only those pixels are converted to HSV, so the cost does not grow with the
resolution.
``ReidModel`` runs any person re-identification ONNX model (one input ``(N, 3, H, W)``
float32 RGB crop batch normalised with ImageNet's mean and std, one output ``(N, D)``
embedding) on the people's boxes. ``appearance_similarity`` compares descriptors
(cosine for embeddings, histogram intersection for histograms: both in [0, 1]).
"""
from __future__ import annotations

import os

import cv2
import numpy as np

#: Hue x saturation bins of each body-part histogram.
HUE_BINS, SATURATION_BINS = 8, 4
#: Keypoints scored at or below this do not place a body part.
PART_KEYPOINT_SCORE = 0.3
#: COCO / PoseTrack18 slots (both use COCO's 17-slot order for the body).
SHOULDERS, HIPS, KNEES, ANKLES = (5, 6), (11, 12), (13, 14), (15, 16)
#: A body part's histogram counts a grid of about this many of its pixels (a denser grid
#: changes the histogram by sampling noise only, and costs time in proportion).
SAMPLES_PER_PART = 1024
#: Parts counted by one 3-D histogram (their index is stored in a uint8 channel).
PARTS_PER_CALL = 255
IMAGENET_MEAN_RGB = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD_RGB = np.array([0.229, 0.224, 0.225], np.float32)


def _part_box(points: np.ndarray, width: int, height: int):
    """Integer (x1, y1, x2, y2) around ``points`` (P, 2), clipped; None if under 2 px."""
    if len(points) < 2:
        return None
    x1, y1 = np.floor(points.min(axis=0)).astype(int)
    x2, y2 = np.ceil(points.max(axis=0)).astype(int)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    return (x1, y1, x2, y2) if x2 - x1 >= 2 and y2 - y1 >= 2 else None


def part_boxes(keypoints_xy: np.ndarray, keypoint_scores: np.ndarray,
               width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer xyxy torso and legs boxes of N poses, clipped to a ``width`` x ``height`` image.

    Args:
        keypoints_xy: (N, 17, 2) frame pixels in COCO body order. keypoint_scores: (N, 17).

    Returns:
        (N, 2, 4) int64 boxes (part 0: torso, 1: legs) and (N, 2) bool ``placed``: the part
        has at least 2 found keypoints and a box of at least 2 px on each side (where not
        placed the box is meaningless). The torso is the box around the found shoulders and
        hips, the legs the box around the found hips and ankles (knees when no ankle is found).
    """
    keypoints = np.asarray(keypoints_xy, np.float64)
    found = (np.asarray(keypoint_scores) > PART_KEYPOINT_SCORE) & np.isfinite(keypoints).all(axis=2)
    slots = np.zeros((4, found.shape[1]), bool)          # shoulders, hips, knees, ankles
    for row, group in enumerate((SHOULDERS, HIPS, KNEES, ANKLES)):
        slots[row, list(group)] = True
    any_ankle = (found & slots[3]).any(axis=1, keepdims=True)
    lower = found & np.where(any_ankle, slots[3], slots[2])
    masks = np.stack([found & (slots[0] | slots[1]), (found & slots[1]) | lower], axis=1)
    inside = masks[..., None]                                                   # (N, 2, 17, 1)
    low = np.where(inside, keypoints[:, None], np.inf).min(axis=2)              # (N, 2, 2)
    high = np.where(inside, keypoints[:, None], -np.inf).max(axis=2)
    limits = np.array([width, height], np.float64)
    boxes = np.concatenate([np.clip(np.floor(low), 0, limits),
                            np.clip(np.ceil(high), 0, limits)], axis=2).astype(np.int64)
    sides = boxes[..., 2:] - boxes[..., :2]
    placed = (masks.sum(axis=2) >= 2) & (sides >= 2).all(axis=2)
    placed[:, 1] &= lower.any(axis=1)
    return boxes, placed


def sample_strides(boxes: np.ndarray) -> np.ndarray:
    """(...) int64 pixel step of each xyxy box (..., 4) so that a grid of every step-th row
    and column holds about ``SAMPLES_PER_PART`` pixels or fewer (1: every pixel)."""
    sides = np.maximum(boxes[..., 2:] - boxes[..., :2], 0).astype(np.float64)
    steps = np.ceil(np.sqrt(sides.prod(axis=-1) / SAMPLES_PER_PART))
    return np.maximum(steps, 1).astype(np.int64)


def _part_histograms(image_bgr: np.ndarray, boxes: np.ndarray, placed: np.ndarray) -> np.ndarray:
    """(N, 2, HUE_BINS * SATURATION_BINS) float32 pixel counts (``cv2.calcHist``'s hue x
    saturation bins of OpenCV's 8-bit HSV) of the placed parts (zeros for the others), over
    each part's sampling grid (``sample_strides``, from its top-left pixel).

    The sampled pixels of up to ``PARTS_PER_CALL`` parts are converted to HSV at once, their
    value channel replaced by the part's index, and counted by one 3-D histogram."""
    counts = np.zeros(placed.shape + (HUE_BINS * SATURATION_BINS,), np.float32)
    where, chosen = np.argwhere(placed), boxes[placed]
    steps = sample_strides(chosen).tolist()
    for first in range(0, len(chosen), PARTS_PER_CALL):
        group = range(first, min(first + PARTS_PER_CALL, len(chosen)))
        pieces = [image_bgr[y1:y2:steps[j], x1:x2:steps[j]].reshape(-1, 3)
                  for j, (x1, y1, x2, y2) in zip(group, chosen[first:group.stop].tolist())]
        hsv = cv2.cvtColor(np.concatenate(pieces)[None], cv2.COLOR_BGR2HSV)
        hsv[0, :, 2] = np.repeat(np.arange(len(pieces), dtype=np.uint8),
                                 [len(piece) for piece in pieces])
        hist = cv2.calcHist([hsv], [2, 0, 1], None, [len(pieces), HUE_BINS, SATURATION_BINS],
                            [0, len(pieces), 0, 180, 0, 256])
        counts[where[group, 0], where[group, 1]] = hist.reshape(len(pieces), -1)
    return counts


def colour_descriptors(image_bgr: np.ndarray, keypoints_xy: np.ndarray,
                       keypoint_scores: np.ndarray) -> np.ndarray:
    """(N, 2 * HUE_BINS * SATURATION_BINS) float32 torso + legs histograms of N poses.

    Args:
        image_bgr: (H, W, 3) uint8 frame. keypoints_xy: (N, 17, 2) frame pixels in COCO
            body order. keypoint_scores: (N, 17).

    Each part (``part_boxes``) is a hue x saturation histogram of a grid of its box's pixels
    (``sample_strides``), L1-normalised. A part whose keypoints are not found (occluded,
    off-frame) gives a zero histogram, which ``appearance_similarity`` treats as unknown.
    """
    keypoints = np.asarray(keypoints_xy, np.float64)
    size = 2 * HUE_BINS * SATURATION_BINS
    if len(keypoints) == 0 or keypoints.shape[1] < 17:
        return np.zeros((len(keypoints), size), np.float32)
    height, width = image_bgr.shape[:2]
    boxes, placed = part_boxes(keypoints, keypoint_scores, width, height)
    counts = _part_histograms(image_bgr, boxes, placed)
    totals = counts.sum(axis=2, keepdims=True)       # whole pixel counts (exact in float32)
    return (counts / np.where(totals > 0, totals, 1)).reshape(len(keypoints), size)


def appearance_similarity(descriptors_a: np.ndarray, descriptors_b: np.ndarray) -> np.ndarray:
    """(A, B) similarity in [0, 1]; NaN where either descriptor is unknown (all zeros).

    Histograms (non-negative, each part L1-normalised): mean over the parts both know of
    the histogram intersection. Embeddings (any sign): cosine similarity mapped to [0, 1].
    """
    a = np.asarray(descriptors_a, np.float64)
    b = np.asarray(descriptors_b, np.float64)
    if a.size == 0 or b.size == 0:
        return np.zeros((len(a), len(b)))
    if (a >= 0).all() and (b >= 0).all() and a.shape[1] == 2 * HUE_BINS * SATURATION_BINS:
        parts_a = a.reshape(len(a), 2, -1)
        parts_b = b.reshape(len(b), 2, -1)
        known = (parts_a.sum(2) > 0)[:, None, :] & (parts_b.sum(2) > 0)[None, :, :]   # (A, B, 2)
        overlap = np.minimum(parts_a[:, None], parts_b[None]).sum(axis=3)            # (A, B, 2)
        counts = known.sum(axis=2)
        total = np.where(known, overlap, 0).sum(axis=2)
        return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)
    norms_a = np.linalg.norm(a, axis=1)[:, None]
    norms_b = np.linalg.norm(b, axis=1)[None, :]
    cosine = (a @ b.T) / np.maximum(norms_a * norms_b, 1e-12)
    return np.where((norms_a > 0) & (norms_b > 0), (cosine + 1) / 2, np.nan)


class ReidModel:
    """A person re-identification ONNX model run on the people's boxes (see module doc).

    Args:
        path: the .onnx file. Its input's last two dimensions give the crop size (H, W)
            (256 x 128, the common ReID size, when they are symbolic).
        threads: onnxruntime intra-op threads (0: its default).
    """

    def __init__(self, path: str | os.PathLike, threads: int = 1) -> None:
        import onnxruntime
        from tracker.errors import MissingFileError
        from tracker.pose.backends import onnx_session_options
        if not os.path.isfile(path):
            raise MissingFileError(f"ReID model {path} does not exist")
        self._session = onnxruntime.InferenceSession(str(path), onnx_session_options(threads),
                                                     providers=["CPUExecutionProvider"])
        shape = self._session.get_inputs()[0].shape
        self.crop_size_hw = tuple(v if isinstance(v, int) else d
                                  for v, d in zip(shape[-2:], (256, 128)))
        self._input = self._session.get_inputs()[0].name

    def __call__(self, image_bgr: np.ndarray, boxes_xyxy: np.ndarray) -> np.ndarray:
        """(N, D) float32 embeddings of the N boxes (zeros for boxes outside the image)."""
        boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
        height, width = self.crop_size_hw
        crops = np.zeros((len(boxes), 3, height, width), np.float32)
        valid = np.zeros(len(boxes), bool)
        for i, box in enumerate(boxes):
            region = _part_box(box.reshape(2, 2), image_bgr.shape[1], image_bgr.shape[0]) \
                if np.isfinite(box).all() else None
            if region is None:
                continue
            x1, y1, x2, y2 = region
            rgb = cv2.cvtColor(cv2.resize(image_bgr[y1:y2, x1:x2], (width, height)),
                               cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
            crops[i] = ((rgb - IMAGENET_MEAN_RGB) / IMAGENET_STD_RGB).transpose(2, 0, 1)
            valid[i] = True
        if not len(boxes):
            return np.zeros((0, 1), np.float32)
        embeddings = np.asarray(self._session.run(None, {self._input: crops})[0], np.float32)
        embeddings = embeddings.reshape(len(boxes), -1)
        embeddings[~valid] = 0.0
        return embeddings


def running_descriptors(stored: list, counts: np.ndarray,
                        seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """New running descriptors of M tracks that see the descriptors ``seen`` (M, D): the mean
    over their first 10 sightings, then an average giving the new one a weight of 1/10.

    Args:
        stored: M descriptors (D,) float32, or None for a track with none yet.
        counts: (M,) sightings averaged into each.
        seen: (M, D) float32; an all-zero row is unknown and changes nothing.

    Returns:
        (M, D) float32 descriptors, and (M,) bool: the sighting was known (use the new one).
    """
    known = seen.any(axis=1)
    weights = 1.0 / np.minimum(np.asarray(counts) + 1, 10)
    old = np.stack([s if s is not None else new for s, new in zip(stored, seen)])
    fresh = np.array([s is None for s in stored])[:, None]
    keep = (1 - weights).astype(np.float32)[:, None]     # float32 all through
    blended = keep * old + weights.astype(np.float32)[:, None] * seen
    return np.where(fresh, seen, blended), known
