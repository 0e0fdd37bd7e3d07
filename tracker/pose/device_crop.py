"""Person crops made where the network runs: one bilinear sampling call for all boxes.

The fast path of ``TopDownPoseEstimator``: the frame is uploaded once, and every crop of the
frame is sampled from it by a single ``torch.nn.functional.grid_sample`` (on a GPU, one
kernel), with the same affine geometry as ``tracker.pose.crop.crop_persons``. cv2's
``warpAffine`` interpolates with 5-bit fixed-point weights; this samples in float32 and rounds
to whole pixel values, so a pixel differs from cv2's by up to 1/64 of the contrast between its
neighbours plus rounding: 99 % of the pixels of a real crop are equal and the largest
difference measured is 3 grey levels (``tests/tracker/pose/test_device_crop.py``; the keypoint
effect is in the README).

Shapes: ``frame`` (1, 3, H, W) float32 pixel values 0-255; ``centers``, ``sizes`` (N, 2)
frame pixels; crops (N, 3, h, w) float32 with (w, h) the network input size.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tracker.pose.crop import crop_affine


def inverse_affines(centers: np.ndarray, sizes: np.ndarray,
                    output_size_wh: tuple[int, int]) -> np.ndarray:
    """(N, 2, 3) float64: maps of crop pixels back to frame pixels (``crop_affine`` inverse)."""
    matrices = np.zeros((len(centers), 2, 3), np.float64)
    for i, (center, size) in enumerate(zip(centers, sizes)):
        matrices[i] = crop_affine(center, size, output_size_wh, inverse=True)
    return matrices


class FrameUploader:
    """Copies uint8 frames to the device as (1, 3, H, W) float32 in the network's channel order.

    On CUDA the frame goes through a reused page-locked buffer and a non-blocking copy, so the
    upload does not wait for the host; elsewhere it is a plain conversion.

    Args:
        device: where the frames go.
        rgb: reverse BGR frames to RGB.
    """

    def __init__(self, device: torch.device, rgb: bool) -> None:
        self.device = torch.device(device)
        self.rgb = rgb
        self._pinned: torch.Tensor | None = None

    def __call__(self, image_bgr: np.ndarray) -> torch.Tensor:
        """``image_bgr`` (H, W, 3) uint8 -> (1, 3, H, W) float32 on the device."""
        pixels = torch.from_numpy(np.ascontiguousarray(image_bgr))
        if self.device.type == "cuda":
            if self._pinned is None or self._pinned.shape != pixels.shape:
                self._pinned = torch.empty(pixels.shape, dtype=torch.uint8, pin_memory=True)
            else:   # the previous frame's copy must be done before the buffer is reused
                torch.cuda.current_stream(self.device).synchronize()
            self._pinned.copy_(pixels)
            pixels = self._pinned.to(self.device, non_blocking=True)
        frame = pixels.permute(2, 0, 1).unsqueeze(0).to(torch.float32)
        return frame.flip(1) if self.rgb else frame


def crop_on_device(frame: torch.Tensor, inverse: np.ndarray,
                   output_size_wh: tuple[int, int]) -> torch.Tensor:
    """Every crop of ``frame`` in one sampling call.

    Args:
        frame: (1, C, H, W) float32 pixel values on the device.
        inverse: (N, 2, 3) crop-to-frame affines (``inverse_affines``), N >= 1.
        output_size_wh: crop (width, height).

    Returns:
        (N, C, h, w) float32 crops rounded to whole values; pixels outside the frame are 0,
        as cv2's constant border.
    """
    out_w, out_h = int(output_size_wh[0]), int(output_size_wh[1])
    height, width = frame.shape[2:]
    device = frame.device
    ys, xs = torch.meshgrid(torch.arange(out_h, device=device, dtype=torch.float32),
                            torch.arange(out_w, device=device, dtype=torch.float32),
                            indexing="ij")
    crop_points = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).view(-1, 3)  # (h*w, 3)
    affines = torch.from_numpy(inverse.astype(np.float32)).to(device)            # (N, 2, 3)
    frame_points = torch.einsum("pk,nck->npc", crop_points, affines)              # (N, h*w, 2)
    # pixel centres -> grid_sample's [-1, 1] (align_corners=False: -1 is the left pixel edge)
    scale = torch.tensor([2.0 / width, 2.0 / height], device=device)
    grid = (frame_points + 0.5) * scale - 1.0
    grid = grid.reshape(1, len(inverse) * out_h, out_w, 2)
    crops = F.grid_sample(frame, grid, mode="bilinear", padding_mode="zeros",
                          align_corners=False)                                   # (1, C, N*h, w)
    crops = crops.view(frame.shape[1], len(inverse), out_h, out_w).transpose(0, 1)
    return crops.round()
