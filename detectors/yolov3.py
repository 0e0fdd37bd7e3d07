"""YOLOv3 Darknet-53 person detector reading mmdet's COCO checkpoints directly.

Test-time steps (mmdet 3.3 ``YOLOV3Head.predict_by_feat`` with the configs' ``test_cfg``):

1. image recipe of ``mmdet_common`` (keep-ratio resize so the long edge is 608, 416 or 320,
   RGB, divided by 255, padded to a multiple of 32);
2. Darknet-53 + neck + head -> raw maps of strides 32, 16, 8; x, y, objectness and the 80
   class logits go through a sigmoid; boxes decoded from the anchors (not clipped);
3. per image: priors with objectness >= ``conf_threshold``; (prior, class) pairs with class
   probability > ``score_threshold`` (before the objectness factor), the best ``nms_pre`` of
   them; boxes to frame pixels; score = class probability x objectness; boxes of size <=
   ``min_bbox_size`` dropped; per-class NMS at ``nms_iou``; best ``max_per_img``; persons kept.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from detectors.mmdet_base import MMDetDetector
from detectors.mmdet_common import (ImageMeta, InputSizeCache, batched_nms, person_detections,
                                    positive_size, to_frame_pixels)
from detectors.yolov3_net import (HEAD_STRIDES, NUM_ATTRIBUTES, YOLOv3Network, anchors_for_level,
                                  decode_yolo)
from tracker.checks import finite_number, fraction, positive_int
from tracker.types import Detections

#: mmdet's YOLOv3 normalisation: pixels / 255, RGB.
YOLO_MEAN_RGB = (0.0, 0.0, 0.0)
YOLO_STD_RGB = (255.0, 255.0, 255.0)
#: Input sizes whose anchors are kept (a video has one; a folder of photos may have many).
PRIOR_CACHE_SIZE = 8


class YOLOv3(MMDetDetector):
    """YOLOv3 Darknet-53 (mmdet ``yolov3_d53_*_273e_coco``).

    Args:
        checkpoint: the mmdet .pth file (the three zoo files share one layout).
        test_scale: (long edge, short edge) of the keep-ratio resize: (608, 608), (416, 416)
            or (320, 320) in mmdet's configs; an int means a square scale.
        mean, std: RGB normalisation of the 0..255 pixels.
        pad_divisor: network input padded to a multiple of this (32).
        conf_threshold: priors with objectness below this are dropped (0: none).
        score_threshold: class probabilities at or below this are dropped (before the
            objectness factor, as mmdet does).
        nms_pre: most (prior, class) candidates kept before NMS, best class probability first.
        min_bbox_size: boxes whose width or height is not above this are dropped (negative:
            no filter).
        nms_iou: per-class IoU above which a detection is suppressed.
        max_per_img: detections kept per image (all 80 classes together, as mmdet).
        batch_size, channels_last, allow_tf32, device: how the network runs (frames per
            ``detect_batch`` call, NHWC, TF32 on CUDA, where), see ``MMDetDetector``.

    Call it with a ``Frame`` or an (H, W, 3) uint8 BGR array; it returns person
    ``Detections`` in frame pixels (not clipped to the frame, as mmdet), score-descending.
    """

    def __init__(self, checkpoint: str | Path, *, test_scale: Sequence[int] | int = (608, 608),
                 mean: Sequence[float] = YOLO_MEAN_RGB, std: Sequence[float] = YOLO_STD_RGB,
                 pad_divisor: int = 32, conf_threshold: float = 0.005,
                 score_threshold: float = 0.05, nms_pre: int = 1000,
                 min_bbox_size: float = 0.0, nms_iou: float = 0.45, max_per_img: int = 100,
                 batch_size: int = 4, channels_last: bool = False,
                 allow_tf32: bool = False, device: str | torch.device = "cpu"):
        self.conf_threshold = fraction("conf_threshold", conf_threshold)
        self.nms_pre = positive_int("nms_pre", nms_pre)
        self.min_bbox_size = finite_number("min_bbox_size", min_bbox_size)
        super().__init__(checkpoint, build_network=YOLOv3Network, architecture="yolov3_d53",
                         test_scale=test_scale, mean=mean, std=std, pad_divisor=pad_divisor,
                         score_threshold=score_threshold, nms_iou=nms_iou,
                         max_per_img=max_per_img, batch_size=batch_size,
                         channels_last=channels_last, allow_tf32=allow_tf32, device=device)
        self._priors = InputSizeCache(PRIOR_CACHE_SIZE)

    def _detect(self, batch: torch.Tensor, metas: list[ImageMeta],
                record: dict | None) -> list[Detections]:
        backbone = self.network.backbone(batch)
        neck = self.network.neck(backbone)
        maps = [x.float() for x in self.network.bbox_head(neck)]
        if record is not None:
            record.update(backbone=backbone, neck=neck, head=maps)
        anchors, strides = self._priors.get(maps, lambda: _priors_of(maps))
        preds = torch.cat([x.permute(0, 2, 3, 1).reshape(len(batch), -1, NUM_ATTRIBUTES)
                           for x in maps], dim=1)
        xy = preds[..., :2].sigmoid()
        boxes = decode_yolo(anchors, torch.cat([xy, preds[..., 2:4]], dim=-1), strides)
        objectness = preds[..., 4].sigmoid()
        probabilities = preds[..., 5:].sigmoid()
        return [self._select(boxes[i], probabilities[i], objectness[i], meta)
                for i, meta in enumerate(metas)]

    def _select(self, boxes: torch.Tensor, probabilities: torch.Tensor,
                objectness: torch.Tensor, meta: ImageMeta) -> Detections:
        """One image's (P, 4) boxes, (P, 80) class probabilities, (P,) objectness (step 3)."""
        if self.conf_threshold > 0:
            confident = objectness >= self.conf_threshold
            boxes, probabilities = boxes[confident], probabilities[confident]
            objectness = objectness[confident]
        valid = probabilities > self.score_threshold
        scores = probabilities[valid]
        candidates = torch.nonzero(valid)
        scores, order = scores.sort(descending=True)
        count = min(self.nms_pre, candidates.shape[0])
        scores, (prior, labels) = scores[:count], candidates[order[:count]].unbind(dim=1)
        boxes = to_frame_pixels(boxes[prior], meta)
        scores = scores * objectness[prior]
        if self.min_bbox_size >= 0:
            valid = positive_size(boxes, self.min_bbox_size)
            boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = batched_nms(boxes, scores, labels, self.nms_iou)[:self.max_per_img]
        return person_detections(boxes[keep], scores[keep], labels[keep])


def _priors_of(maps: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(P, 4) anchors of all head levels and (P, 1) their strides, for these map sizes."""
    anchors = [anchors_for_level(x.shape[2], x.shape[3], level, x.device)
               for level, x in enumerate(maps)]
    strides = [torch.full((len(a), 1), float(stride), device=a.device)
               for a, stride in zip(anchors, HEAD_STRIDES)]
    return torch.cat(anchors), torch.cat(strides)
