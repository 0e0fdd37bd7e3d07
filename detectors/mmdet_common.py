"""What the mmdet detectors share: mmdet's test-time image recipe, anchors, box maths, NMS.

Image recipe (mmdet 3.3 ``Resize(keep_ratio=True)`` then ``DetDataPreprocessor``):

1. ``s = min(long / max(h, w), short / min(h, w))`` for a test scale ``(long, short)``; the
   image is resized with cv2 bilinear to ``(int(w * s + 0.5), int(h * s + 0.5))``
   (``mmcv.imrescale``); ``scale_factor = (new_w / w, new_h / h)``;
2. BGR -> RGB, float32, ``(x - mean) / std``;
3. zero-padded at the bottom and right to a multiple of 32 (after normalising: 0 there).

Boxes go back to frame pixels by multiplying with ``1 / scale_factor`` (mmdet 3.3
``scale_boxes``). Shapes: N images, R boxes, C classes; boxes are ``x1, y1, x2, y2``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np
import torch
import torchvision

from tracker.errors import ConfigError
from tracker.images import as_bgr_image
from tracker.types import Detections, Frame

#: COCO class index of "person" in mmdet's 80-class label order.
PERSON_LABEL = 0
#: mmcv ``batched_nms``: at or above this many boxes NMS runs class by class.
NMS_SPLIT_THRESHOLD = 10000
#: mmdet ``DeltaXYWHBBoxCoder``: largest |log(w_new / w)|, i.e. ``|log(16 / 1000)|``.
DELTA_WH_CLIP = abs(math.log(16 / 1000))


@dataclass(frozen=True)
class ImageMeta:
    """Where one image sits in the network input.

    Attributes:
        ori_hw: (H, W) of the frame.
        img_hw: (h, w) after the resize (the padded input can be larger).
        scale_factor: (new_w / W, new_h / H).
    """

    ori_hw: tuple[int, int]
    img_hw: tuple[int, int]
    scale_factor: tuple[float, float]


def as_image(frame_or_image) -> np.ndarray:
    """A ``Frame`` or an image array -> (H, W, 3) uint8 BGR (grayscale/BGRA converted)."""
    image = frame_or_image.image if isinstance(frame_or_image, Frame) else frame_or_image
    return as_bgr_image(image)


def rescaled_size(height: int, width: int, scale: tuple[int, int]) -> tuple[int, int]:
    """(new_h, new_w) of ``mmcv.imrescale`` for a test scale (long edge, short edge)."""
    long_edge, short_edge = max(scale), min(scale)
    factor = min(long_edge / max(height, width), short_edge / min(height, width))
    return max(1, int(height * factor + 0.5)), max(1, int(width * factor + 0.5))


def resize_keep_ratio(image: np.ndarray, scale: tuple[int, int]) -> tuple[np.ndarray, ImageMeta]:
    """(H, W, 3) uint8 -> resized uint8 image and its ``ImageMeta`` (step 1 above)."""
    height, width = image.shape[:2]
    new_h, new_w = rescaled_size(height, width, scale)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    resized = resized.reshape(new_h, new_w, 3)
    meta = ImageMeta(ori_hw=(height, width), img_hw=(new_h, new_w),
                     scale_factor=(new_w / width, new_h / height))
    return resized, meta


def normalize_and_pad(images: Sequence[np.ndarray], mean: torch.Tensor, std: torch.Tensor,
                      pad_divisor: int, device: torch.device) -> torch.Tensor:
    """Resized BGR uint8 images -> (N, 3, Hp, Wp) float32 RGB batch (steps 2 and 3 above).

    ``mean`` and ``std`` are (3,) RGB float32; Hp, Wp are the largest sides rounded up to a
    multiple of ``pad_divisor``.
    """
    height = max(image.shape[0] for image in images)
    width = max(image.shape[1] for image in images)
    height = int(math.ceil(height / pad_divisor)) * pad_divisor
    width = int(math.ceil(width / pad_divisor)) * pad_divisor
    batch = torch.zeros((len(images), 3, height, width), dtype=torch.float32, device=device)
    mean = mean.to(device).view(3, 1, 1)
    std = std.to(device).view(3, 1, 1)
    for i, image in enumerate(images):
        rgb = torch.from_numpy(image).to(device).permute(2, 0, 1)[[2, 1, 0]].float()
        batch[i, :, :image.shape[0], :image.shape[1]] = (rgb - mean) / std
    return batch


def decode_deltas(rois: torch.Tensor, deltas: torch.Tensor, stds: Sequence[float],
                  max_hw: tuple[int, int] | None) -> torch.Tensor:
    """mmdet ``DeltaXYWHBBoxCoder.decode`` (means 0): (R, 4) boxes + (R, 4) deltas -> (R, 4).

    Centres move by ``delta_xy * std * size``, sizes scale by ``exp(delta_wh * std)`` (the
    log-ratio clipped to ``DELTA_WH_CLIP``); boxes are clipped to ``max_hw`` = (h, w) if given.
    """
    if rois.shape[0] == 0:
        return rois.new_zeros((0, 4))
    deltas = deltas * deltas.new_tensor(stds).view(1, 4)
    wh = rois[:, 2:] - rois[:, :2]
    centers = (rois[:, :2] + rois[:, 2:]) * 0.5 + wh * deltas[:, :2]
    new_wh = wh * deltas[:, 2:].clamp(min=-DELTA_WH_CLIP, max=DELTA_WH_CLIP).exp()
    boxes = torch.cat([centers - new_wh * 0.5, centers + new_wh * 0.5], dim=-1)
    if max_hw is not None:
        boxes[:, 0::2].clamp_(min=0, max=max_hw[1])
        boxes[:, 1::2].clamp_(min=0, max=max_hw[0])
    return boxes


def to_frame_pixels(boxes: torch.Tensor, meta: ImageMeta) -> torch.Tensor:
    """Network-input boxes (R, 4) -> frame pixels: times ``1 / scale_factor`` (mmdet 3.3)."""
    inverse = [1 / meta.scale_factor[0], 1 / meta.scale_factor[1]]
    return boxes * boxes.new_tensor(inverse).repeat((1, 2))


def positive_size(boxes: torch.Tensor, min_size: float) -> torch.Tensor:
    """(R,) bool: width and height both above ``min_size`` (mmdet ``min_bbox_size``)."""
    return ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """mmcv ``batched_nms``: greedy NMS within each group; kept indices, score-descending.

    Below ``NMS_SPLIT_THRESHOLD`` boxes, groups are separated by shifting each box by
    ``group * (max coordinate + 1)`` and one NMS runs (mmcv's trick, reproduced exactly since
    it changes float rounding and, with negative coordinates, lets groups touch); above it,
    NMS runs group by group. A box is suppressed when its IoU with a kept one is > threshold.
    """
    if boxes.shape[0] == 0:
        return torch.zeros((0,), dtype=torch.long, device=boxes.device)
    if boxes.shape[0] < NMS_SPLIT_THRESHOLD:
        offsets = groups.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
        return torchvision.ops.nms(boxes + offsets[:, None], scores, iou_threshold)
    kept = []
    for group in torch.unique(groups):
        members = (groups == group).nonzero(as_tuple=False).view(-1)
        kept.append(members[torchvision.ops.nms(boxes[members], scores[members], iou_threshold)])
    kept = torch.cat(kept)
    return kept[scores[kept].sort(descending=True)[1]]


def person_detections(boxes: torch.Tensor, scores: torch.Tensor,
                      labels: torch.Tensor) -> Detections:
    """Final (R, 4) frame-pixel boxes, scores and labels (score-descending) -> persons only."""
    keep = labels == PERSON_LABEL
    boxes = boxes[keep].detach().to("cpu", torch.float32).numpy()
    scores = scores[keep].detach().to("cpu", torch.float32).numpy()
    finite = np.isfinite(boxes).all(axis=1) & np.isfinite(scores)
    return Detections(boxes_xyxy=boxes[finite], scores=scores[finite])


def check_scale(value) -> tuple[int, int]:
    """A test scale: (long edge, short edge) or one int for a square scale."""
    values = (value, value) if isinstance(value, int) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                   for v in values):
        raise ConfigError(f"test_scale must be a positive int or two positive ints "
                          f"(long edge, short edge), got {value!r}")
    return values


def grid_anchors(base: torch.Tensor, height: int, width: int, stride: int,
                 device: torch.device) -> torch.Tensor:
    """(A, 4) anchors of the cell at the origin -> (H * W * A, 4) anchors of every cell,
    ordered (y, x, anchor) like the heads' outputs; cell (x, y) is shifted by
    ``(x, y) * stride`` (mmdet's anchor generators, float32)."""
    shift_x = torch.arange(0, width).to(torch.float32) * stride
    shift_y = torch.arange(0, height).to(torch.float32) * stride
    xx = shift_x.repeat(height)
    yy = shift_y.view(-1, 1).repeat(1, width).view(-1)
    shifts = torch.stack([xx, yy, xx, yy], dim=-1)
    return (base[None, :, :] + shifts[:, None, :]).view(-1, 4).to(device)


class InputSizeCache:
    """Values computed once per network-input size (the anchors), oldest dropped first.

    Args:
        max_sizes: sizes kept (a video has one; a folder of photos may have many).
    """

    def __init__(self, max_sizes: int):
        self.max_sizes = max_sizes
        self._values: dict = {}

    def get(self, maps: Sequence[torch.Tensor], build: Callable[[], object]):
        """``build()`` for the sizes and device of the feature ``maps``, computed once."""
        key = (tuple(tuple(x.shape[2:]) for x in maps), maps[0].device)
        if key not in self._values:
            if len(self._values) >= self.max_sizes:
                self._values.pop(next(iter(self._values)))
            self._values[key] = build()
        return self._values[key]
