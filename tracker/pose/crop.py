"""Affine crops of person boxes (the top-down input), bit-exact with mmpose 0.x.

Shapes: ``center`` and ``size`` are (2,) float32 in frame pixels; crops are (N, H, W, C)
uint8 with (W, H) the network input size.
"""
from __future__ import annotations

import cv2
import numpy as np


def _third_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The point that makes (a, b, c) a right angle at b, turned +90 degrees (float32)."""
    direction = a - b
    return b + np.array([-direction[1], direction[0]], dtype=np.float32)


def crop_affine(center: np.ndarray, size: np.ndarray, output_size_wh: tuple[int, int],
                rotation_deg: float = 0.0, inverse: bool = False) -> np.ndarray:
    """The 2x3 affine that maps the box (center, size) onto the output image.

    The box width ``size[0]`` maps onto the output width, rotated by ``rotation_deg`` about
    the center. With ``inverse=True`` the matrix maps output pixels back to the frame.
    Three point pairs are built in float32, in mmpose's order, and solved by
    ``cv2.getAffineTransform`` so that ``cv2.warpAffine`` gives mmpose's crop bit for bit.
    """
    center = np.asarray(center, dtype=np.float32)
    src_w = np.float32(np.asarray(size, dtype=np.float32)[0])
    out_w, out_h = float(output_size_wh[0]), float(output_size_wh[1])
    angle = np.pi * rotation_deg / 180.0
    sin, cos = np.sin(angle), np.cos(angle)
    half = src_w * np.float32(-0.5)
    src_dir = np.array([-half * sin, half * cos], dtype=np.float64)

    src = np.zeros((3, 2), dtype=np.float32)
    src[0] = center
    src[1] = center + src_dir
    src[2] = _third_point(src[0], src[1])
    dst = np.zeros((3, 2), dtype=np.float32)
    dst[0] = [out_w * 0.5, out_h * 0.5]
    dst[1] = np.array([out_w * 0.5, out_h * 0.5]) + np.array([0.0, out_w * -0.5])
    dst[2] = _third_point(dst[0], dst[1])
    if inverse:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


def crop_persons(image: np.ndarray, centers: np.ndarray, sizes: np.ndarray,
                 output_size_wh: tuple[int, int]) -> np.ndarray:
    """Warp every box of ``image`` to the network input size.

    Args:
        image: (H, W, C) uint8 frame.
        centers: (N, 2) float32 box centers, frame pixels.
        sizes: (N, 2) float32 crop sizes (width, height), frame pixels.
        output_size_wh: network input (width, height).

    Returns:
        (N, out_h, out_w, C) uint8 crops; pixels outside the frame are 0 (bilinear).
    """
    out_w, out_h = int(output_size_wh[0]), int(output_size_wh[1])
    crops = np.zeros((len(centers), out_h, out_w, image.shape[2]), dtype=np.uint8)
    for i, (center, size) in enumerate(zip(centers, sizes)):
        matrix = crop_affine(center, size, (out_w, out_h))
        crops[i] = cv2.warpAffine(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    return crops
