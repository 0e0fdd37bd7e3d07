"""MSRA Gaussian-heatmap codec of "Simple Baselines", as mmpose 0.x decodes it.

Shape legend: N people, K keypoints, H x W heatmap. Heatmap pixel ``(px, py)`` maps to the
crop at ``stride = input / heatmap`` (4 for three deconvolutions, 8 for two).

* ``decode``: argmax per map, then a quarter-pixel shift towards the higher neighbour
  (mmpose's ``post_process='default'``), giving heatmap coordinates and the raw maximum.
* ``heatmap_to_image``: heatmap coordinates -> frame pixels for crops given as (center, size).
* ``flip_back`` / ``fuse_flip``: the flip test (average with the mirrored prediction of the
  mirrored crop, shifted by one heatmap column as mmpose's ``shift_heatmap=True``).
* ``encode``: Gaussian targets, for synthetic data and round-trip tests.
"""
from __future__ import annotations

import numpy as np
import torch


def decode(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps -> keypoints in heatmap pixels and their scores.

    Args:
        heatmaps: (N, K, H, W) float32.

    Returns:
        coords: (N, K, 2) float32 (x, y) in heatmap pixels; (-1, -1) where the maximum is <= 0.
        scores: (N, K) float32 heatmap maximum (the first one in row-major order on ties).

    The shift of 0.25 * sign(right - left) along x (and below - above along y) is applied only
    when ``1 < px < W - 1`` and ``1 < py < H - 1``: mmpose 0.x leaves column 1 and row 1
    unshifted, and so do we.
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must have shape (N, K, H, W), got {heatmaps.shape}")
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    index = flat.argmax(axis=2) if h * w else np.zeros((n, k), np.int64)
    scores = np.take_along_axis(flat, index[..., None], axis=2)[..., 0]
    px, py = index % w, index // w
    coords = np.stack([px, py], axis=2).astype(np.float32)
    coords[scores <= 0] = -1.0

    inner = (scores > 0) & (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    n_idx, k_idx = np.nonzero(inner)
    x, y = px[inner], py[inner]
    maps = heatmaps[n_idx, k_idx]
    rows = np.arange(len(n_idx))
    dx = maps[rows, y, x + 1] - maps[rows, y, x - 1]
    dy = maps[rows, y + 1, x] - maps[rows, y - 1, x]
    shift = np.sign(np.stack([dx, dy], axis=1)).astype(np.float32) * np.float32(0.25)
    coords[n_idx, k_idx] += shift
    return coords, scores.astype(np.float32)


def heatmap_to_image(coords: np.ndarray, centers: np.ndarray, sizes: np.ndarray,
                     heatmap_size_wh: tuple[int, int]) -> np.ndarray:
    """Map heatmap coordinates back to frame pixels (mmpose ``transform_preds``, no UDP).

    Args:
        coords: (N, K, 2) float32 heatmap coordinates.
        centers: (N, 2) float32 crop centers, frame pixels.
        sizes: (N, 2) float32 crop sizes (width, height), frame pixels.
        heatmap_size_wh: heatmap (width, height).

    Returns:
        (N, K, 2) float32 frame pixels: ``x * size / W + center - size / 2``, in float32.
    """
    coords = np.asarray(coords, dtype=np.float32)
    centers = np.asarray(centers, dtype=np.float32)[:, None, :]
    sizes = np.asarray(sizes, dtype=np.float32)[:, None, :]
    per_pixel = sizes / np.asarray(heatmap_size_wh, dtype=np.float32)
    return coords * per_pixel + centers - sizes * np.float32(0.5)


def flip_back(heatmaps: torch.Tensor, flip_pairs: list[tuple[int, int]]) -> torch.Tensor:
    """Mirror heatmaps of a mirrored crop along W and swap left/right channels.

    Args:
        heatmaps: (N, K, H, W) network output on horizontally flipped crops.
        flip_pairs: (left, right) keypoint index pairs of the keypoint set.
    """
    order = list(range(heatmaps.shape[1]))
    for left, right in flip_pairs:
        order[left], order[right] = right, left
    return heatmaps[:, order].flip(3)


def fuse_flip(heatmaps: torch.Tensor, heatmaps_of_flipped: torch.Tensor,
              flip_pairs: list[tuple[int, int]], shift: bool = True) -> torch.Tensor:
    """Flip-test fusion: ``(hm + shift(flip_back(hm_flipped))) / 2``.

    ``shift`` moves the mirrored maps one column to the right (column 0 keeps its value),
    compensating the half-pixel asymmetry of flipping an even-width crop.
    """
    mirrored = flip_back(heatmaps_of_flipped, flip_pairs)
    if shift:
        mirrored = torch.cat([mirrored[..., :1], mirrored[..., :-1]], dim=3)
    return (heatmaps + mirrored) * 0.5


def encode(keypoints_hm: np.ndarray, heatmap_size_wh: tuple[int, int],
           sigma: float = 2.0) -> np.ndarray:
    """Gaussian targets centred on keypoints given in heatmap pixels.

    Args:
        keypoints_hm: (N, K, 2) float (x, y) in heatmap pixels; NaN for an absent keypoint.
        heatmap_size_wh: heatmap (width, height).
        sigma: Gaussian standard deviation in heatmap pixels (mmpose default 2).

    Returns:
        (N, K, H, W) float32 with peak value 1 at the keypoint, 0 for absent keypoints.
    """
    w, h = heatmap_size_wh
    keypoints_hm = np.asarray(keypoints_hm, dtype=np.float64)
    xs = np.arange(w, dtype=np.float64)[None, None, None, :]
    ys = np.arange(h, dtype=np.float64)[None, None, :, None]
    cx = keypoints_hm[..., 0][..., None, None]
    cy = keypoints_hm[..., 1][..., None, None]
    maps = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma ** 2))
    return np.nan_to_num(maps, nan=0.0).astype(np.float32)
