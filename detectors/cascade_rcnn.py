"""Cascade R-CNN X-101-64x4d-FPN person detector reading mmdet's COCO checkpoint directly.

Test-time steps (mmdet 3.3 ``TwoStageDetector.predict`` with the config's ``test_cfg``):

1. image recipe of ``mmdet_common`` (keep-ratio resize to (1333, 800), RGB, normalise, pad);
2. backbone + FPN -> 5 levels; RPN head -> per level objectness and deltas;
3. RPN proposals per image: per level the ``rpn_nms_pre`` best anchors by sigmoid score,
   decoded (stds 1) and clipped to the resized image, boxes of size <= ``rpn_min_bbox_size``
   dropped, NMS at ``rpn_nms_iou`` across levels (levels kept apart), ``rpn_max_per_img``;
4. 3 cascade stages: RoIAlign -> box head; stages 1 and 2 see the boxes of the previous
   stage decoded with its stds and clipped (class-agnostic regression);
5. class probabilities = softmax of the mean of the 3 stages' logits; boxes = the last
   stage's decoded boxes in frame pixels; per-class NMS of the (box, class) pairs scoring
   above ``score_threshold`` at ``nms_iou``, best ``max_per_img`` of all classes; persons kept.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from detectors.cascade_rcnn_net import (ANCHOR_STRIDES, RPN_STDS, STAGE_STDS, CascadeRCNNNetwork,
                                        anchors_for_level, roi_features)
from detectors.mmdet_base import MMDetDetector
from detectors.mmdet_common import (ImageMeta, InputSizeCache, batched_nms, decode_deltas,
                                    person_detections, positive_size, to_frame_pixels)
from tracker.checks import finite_number, fraction, positive_int
from tracker.types import Detections

#: mmdet's ImageNet normalisation, RGB order.
IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)
IMAGENET_STD_RGB = (58.395, 57.12, 57.375)
#: Input sizes whose anchors are kept (a video has one; a folder of photos may have many).
ANCHOR_CACHE_SIZE = 8


class CascadeRCNN(MMDetDetector):
    """Cascade R-CNN X-101-64x4d-FPN (mmdet ``cascade_rcnn_x101_64x4d_fpn_20e_coco``).

    Args:
        checkpoint: the mmdet .pth file (``cascade_rcnn_x101_64x4d_fpn_20e_coco_*.pth``).
        test_scale: (long edge, short edge) of the keep-ratio resize.
        mean, std: RGB normalisation of the 0..255 pixels.
        pad_divisor: network input padded to a multiple of this (32).
        rpn_nms_pre: proposals kept per FPN level before NMS.
        rpn_max_per_img: proposals kept after NMS.
        rpn_nms_iou: IoU above which a proposal is suppressed.
        rpn_min_bbox_size: proposals whose width or height is not above this are dropped
            (negative: no filter).
        score_threshold: class probabilities at or below this never become detections.
        nms_iou: per-class IoU above which a detection is suppressed.
        max_per_img: detections kept per image (all 80 classes together, as mmdet).
        batch_size, channels_last, allow_tf32, device: how the network runs (frames per
            ``detect_batch`` call, NHWC, TF32 on CUDA, where), see ``MMDetDetector``.

    Call it with a ``Frame`` or an (H, W, 3) uint8 BGR array; it returns person
    ``Detections`` in frame pixels, score-descending.
    """

    def __init__(self, checkpoint: str | Path, *, test_scale: Sequence[int] = (1333, 800),
                 mean: Sequence[float] = IMAGENET_MEAN_RGB,
                 std: Sequence[float] = IMAGENET_STD_RGB, pad_divisor: int = 32,
                 rpn_nms_pre: int = 1000, rpn_max_per_img: int = 1000,
                 rpn_nms_iou: float = 0.7, rpn_min_bbox_size: float = 0.0,
                 score_threshold: float = 0.05, nms_iou: float = 0.5, max_per_img: int = 100,
                 batch_size: int = 2, channels_last: bool = False,
                 allow_tf32: bool = False, device: str | torch.device = "cpu"):
        self.rpn_nms_pre = positive_int("rpn_nms_pre", rpn_nms_pre)
        self.rpn_max_per_img = positive_int("rpn_max_per_img", rpn_max_per_img)
        self.rpn_nms_iou = fraction("rpn_nms_iou", rpn_nms_iou)
        self.rpn_min_bbox_size = finite_number("rpn_min_bbox_size", rpn_min_bbox_size)
        super().__init__(checkpoint, build_network=CascadeRCNNNetwork,
                         architecture="cascade_rcnn_x101_64x4d_fpn", test_scale=test_scale,
                         mean=mean, std=std, pad_divisor=pad_divisor,
                         score_threshold=score_threshold, nms_iou=nms_iou,
                         max_per_img=max_per_img, batch_size=batch_size,
                         channels_last=channels_last, allow_tf32=allow_tf32, device=device)
        self._anchors = InputSizeCache(ANCHOR_CACHE_SIZE)

    def _detect(self, batch: torch.Tensor, metas: list[ImageMeta],
                record: dict | None) -> list[Detections]:
        backbone, feats = self.network.features(batch)
        logits, deltas = self.network.rpn_head(feats)
        if record is not None:
            record.update(backbone=backbone, neck=feats, rpn_cls=logits, rpn_reg=deltas)
        anchors = self._anchors.get(feats, lambda: [
            anchors_for_level(x.shape[2], x.shape[3], level, x.device)
            for level, x in enumerate(feats[:len(ANCHOR_STRIDES)])])
        proposals = [self._proposals([x[i] for x in logits], [x[i] for x in deltas], anchors,
                                     meta) for i, meta in enumerate(metas)]
        if record is not None:
            record.update(rpn_proposals_bboxes=proposals[0][0],
                          rpn_proposals_scores=proposals[0][1])
        rois = torch.cat([torch.cat([boxes.new_full((len(boxes), 1), float(i)), boxes], dim=1)
                          for i, (boxes, _) in enumerate(proposals)])
        counts = [len(boxes) for boxes, _ in proposals]
        mean_logits, boxes = self._cascade(feats, rois, counts, metas, record)
        results = []
        for logits_i, boxes_i, meta in zip(mean_logits.split(counts), boxes.split(counts), metas):
            found = multiclass_nms(to_frame_pixels(boxes_i, meta), logits_i.softmax(dim=-1),
                                   self.score_threshold, self.nms_iou, self.max_per_img)
            results.append(person_detections(*found))
        return results

    def _proposals(self, logits: list[torch.Tensor], deltas: list[torch.Tensor],
                   anchors: list[torch.Tensor], meta: ImageMeta):
        """One image's RPN output per level ((A, H, W), (4A, H, W)) -> (P, 4) boxes in
        network-input pixels and (P,) sigmoid scores, score-descending (step 3)."""
        level_scores, level_deltas, level_anchors, level_ids = [], [], [], []
        for level, (logit, delta, anchor) in enumerate(zip(logits, deltas, anchors)):
            scores = logit.permute(1, 2, 0).reshape(-1).sigmoid()
            delta = delta.permute(1, 2, 0).reshape(-1, 4)
            if 0 < self.rpn_nms_pre < scores.shape[0]:
                scores, order = scores.sort(descending=True)
                order, scores = order[:self.rpn_nms_pre], scores[:self.rpn_nms_pre]
                delta, anchor = delta[order], anchor[order]
            level_scores.append(scores)
            level_deltas.append(delta)
            level_anchors.append(anchor)
            level_ids.append(torch.full_like(scores, level, dtype=torch.long))
        boxes = decode_deltas(torch.cat(level_anchors), torch.cat(level_deltas).float(),
                              RPN_STDS, meta.img_hw)
        scores, ids = torch.cat(level_scores).float(), torch.cat(level_ids)
        if self.rpn_min_bbox_size >= 0:
            valid = positive_size(boxes, self.rpn_min_bbox_size)
            boxes, scores, ids = boxes[valid], scores[valid], ids[valid]
        keep = batched_nms(boxes, scores, ids, self.rpn_nms_iou)[:self.rpn_max_per_img]
        return boxes[keep], scores[keep]

    def _cascade(self, feats: list[torch.Tensor], rois: torch.Tensor, counts: list[int],
                 metas: list[ImageMeta], record: dict | None):
        """(R, 5) proposals -> (R, 81) stage-averaged logits and (R, 4) last-stage boxes."""
        stage_logits = []
        heads = self.network.roi_head.bbox_head
        for stage, head in enumerate(heads):
            logits, deltas = head(roi_features(feats, rois))
            logits, deltas = logits.float(), deltas.float()
            if record is not None:
                record.update({f"stage{stage}_rois": rois, f"stage{stage}_cls_score": logits,
                               f"stage{stage}_bbox_pred": deltas})
            stage_logits.append(logits)
            boxes = torch.cat([
                decode_deltas(r[:, 1:], d, STAGE_STDS[stage], meta.img_hw)
                for r, d, meta in zip(rois.split(counts), deltas.split(counts), metas)])
            if stage < len(heads) - 1:
                rois = torch.cat([rois[:, :1], boxes], dim=1)
        mean_logits = sum(stage_logits) / float(len(stage_logits))
        if record is not None:
            record["final_avg_cls_logits"] = mean_logits
        return mean_logits, boxes


def multiclass_nms(boxes: torch.Tensor, probabilities: torch.Tensor, score_threshold: float,
                   iou_threshold: float, max_per_img: int):
    """mmdet ``multiclass_nms`` for class-agnostic boxes.

    Args:
        boxes: (R, 4) one box per RoI, frame pixels.
        probabilities: (R, C + 1) softmax, background last.

    Returns:
        boxes (M, 4), scores (M,), labels (M,) of the (RoI, class) pairs scoring above
        ``score_threshold`` that survive per-class NMS, best ``max_per_img``, score-descending.
    """
    num_rois, num_classes = probabilities.shape[0], probabilities.shape[1] - 1
    scores = probabilities[:, :-1].reshape(-1)
    labels = torch.arange(num_classes, device=boxes.device).view(1, -1).expand(
        num_rois, num_classes).reshape(-1)
    index = (scores > score_threshold).nonzero(as_tuple=False).squeeze(1)
    boxes = boxes[index // num_classes] if num_classes else boxes[:0]
    scores, labels = scores[index], labels[index]
    keep = batched_nms(boxes, scores, labels, iou_threshold)[:max_per_img]
    return boxes[keep], scores[keep], labels[keep]
