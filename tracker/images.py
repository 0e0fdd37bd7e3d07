"""Frame images at the boundary: any 8-bit frame -> a contiguous (H, W, 3) uint8 BGR array."""
from __future__ import annotations

import cv2
import numpy as np


def as_bgr_image(image: np.ndarray) -> np.ndarray:
    """Validate a frame: uint8 (H, W, 3) BGR; grayscale is expanded and alpha dropped.

    Accepts (H, W), (H, W, 1), (H, W, 3) and (H, W, 4) uint8 arrays with H, W >= 1; returns
    (H, W, 3) uint8, C-contiguous (the input itself when it already is one).
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array (H, W, 3) uint8, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must have dtype uint8, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image must have shape (H, W, 3), (H, W, 4) or (H, W), got {image.shape}")
    return np.ascontiguousarray(image)
