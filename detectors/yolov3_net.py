"""YOLOv3 Darknet-53 as plain ``nn.Module``s with mmdet's key names.

mmdet's ``yolov3_d53`` COCO configs (Redmon & Farhadi, "YOLOv3: An Incremental Improvement",
2018); every conv except the 1x1 predictions is conv (no bias) + BN + LeakyReLU(0.1), stored
as ``<name>.conv`` / ``<name>.bn`` (mmcv ``ConvModule``):

* backbone ``Darknet``: ``conv1`` (3x3, 32), then ``conv_res_block1..5``, each a stride-2
  3x3 ``conv`` and 1, 2, 8, 8, 4 residual blocks ``resK`` (1x1 halving ``conv1``, 3x3
  ``conv2``, input added); outputs of blocks 3, 4, 5 (strides 8, 16, 32);
* neck ``YOLOV3Neck``: ``detect1`` on the stride-32 map; then twice ``convI`` (1x1),
  nearest 2x upsampling, concatenation with the next finer backbone map, ``detect{I+1}``;
  a detection block is five convs 1x1 / 3x3 / 1x1 / 3x3 / 1x1;
* head: per level a 3x3 ``convs_bridge`` and a 1x1 ``convs_pred`` with 3 x 85 outputs
  (per anchor: x, y, w, h, objectness, 80 class logits), strides 32, 16, 8.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from detectors.mmdet_common import grid_anchors

DARKNET_BLOCKS = (1, 2, 8, 8, 4)
DARKNET_CHANNELS = ((32, 64), (64, 128), (128, 256), (256, 512), (512, 1024))
NECK_IN_CHANNELS = (1024, 512, 256)
NECK_OUT_CHANNELS = (512, 256, 128)
HEAD_CHANNELS = (1024, 512, 256)
LEAKY_SLOPE = 0.1
NUM_CLASSES = 80
NUM_ATTRIBUTES = 5 + NUM_CLASSES
#: Strides of the head levels, coarsest first, and each level's anchor sizes (w, h) in pixels.
HEAD_STRIDES = (32, 16, 8)
ANCHOR_SIZES = (((116, 90), (156, 198), (373, 326)),
                ((30, 61), (62, 45), (59, 119)),
                ((10, 13), (16, 30), (33, 23)))


class ConvBNLeaky(nn.Module):
    """conv (no bias, 'same' padding) + BN + LeakyReLU(0.1), as mmcv ``ConvModule``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.bn(self.conv(x)), LEAKY_SLOPE)


class ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = ConvBNLeaky(channels, channels // 2, 1)
        self.conv2 = ConvBNLeaky(channels // 2, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.conv1(x))


def _conv_res_block(in_channels: int, out_channels: int, repeats: int) -> nn.Sequential:
    block = nn.Sequential()
    block.add_module("conv", ConvBNLeaky(in_channels, out_channels, 3, stride=2))
    for index in range(repeats):
        block.add_module(f"res{index}", ResBlock(out_channels))
    return block


class Darknet53(nn.Module):
    """(N, 3, H, W) -> feature maps of strides 8, 16, 32 (256, 512, 1024 channels)."""

    def __init__(self):
        super().__init__()
        self.conv1 = ConvBNLeaky(3, 32, 3)
        for index, (repeats, (cin, cout)) in enumerate(zip(DARKNET_BLOCKS, DARKNET_CHANNELS)):
            self.add_module(f"conv_res_block{index + 1}", _conv_res_block(cin, cout, repeats))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.conv1(x)
        outs = []
        for index in range(len(DARKNET_BLOCKS)):
            x = getattr(self, f"conv_res_block{index + 1}")(x)
            if index >= 2:
                outs.append(x)
        return outs


class DetectionBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        double = out_channels * 2
        self.conv1 = ConvBNLeaky(in_channels, out_channels, 1)
        self.conv2 = ConvBNLeaky(out_channels, double, 3)
        self.conv3 = ConvBNLeaky(double, out_channels, 1)
        self.conv4 = ConvBNLeaky(out_channels, double, 3)
        self.conv5 = ConvBNLeaky(double, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))


class YOLOv3Neck(nn.Module):
    """Backbone maps (strides 8, 16, 32) -> neck maps (strides 32, 16, 8)."""

    def __init__(self):
        super().__init__()
        self.detect1 = DetectionBlock(NECK_IN_CHANNELS[0], NECK_OUT_CHANNELS[0])
        for i in range(1, len(NECK_IN_CHANNELS)):
            self.add_module(f"conv{i}", ConvBNLeaky(NECK_OUT_CHANNELS[i - 1],
                                                    NECK_OUT_CHANNELS[i], 1))
            self.add_module(f"detect{i + 1}", DetectionBlock(
                NECK_IN_CHANNELS[i] + NECK_OUT_CHANNELS[i], NECK_OUT_CHANNELS[i]))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        out = self.detect1(feats[-1])
        outs = [out]
        for i, lateral in enumerate(reversed(feats[:-1])):
            up = F.interpolate(getattr(self, f"conv{i + 1}")(out), scale_factor=2)
            out = getattr(self, f"detect{i + 2}")(torch.cat((up, lateral), 1))
            outs.append(out)
        return outs


class YOLOv3Head(nn.Module):
    """Neck maps -> raw prediction maps (N, 3 * 85, H, W), strides 32, 16, 8."""

    def __init__(self):
        super().__init__()
        self.convs_bridge = nn.ModuleList(
            ConvBNLeaky(cin, cout, 3) for cin, cout in zip(NECK_OUT_CHANNELS, HEAD_CHANNELS))
        self.convs_pred = nn.ModuleList(
            nn.Conv2d(c, len(ANCHOR_SIZES[0]) * NUM_ATTRIBUTES, 1) for c in HEAD_CHANNELS)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        return [pred(bridge(x)) for x, bridge, pred in
                zip(feats, self.convs_bridge, self.convs_pred)]


class YOLOv3Network(nn.Module):
    """``backbone``, ``neck`` and ``bbox_head`` under mmdet's names."""

    def __init__(self):
        super().__init__()
        self.backbone = Darknet53()
        self.neck = YOLOv3Neck()
        self.bbox_head = YOLOv3Head()


def anchors_for_level(height: int, width: int, level: int,
                      device: torch.device) -> torch.Tensor:
    """(H * W * 3, 4) anchors of one head level, ordered (y, x, anchor) like the head output.

    mmdet ``YOLOAnchorGenerator``: boxes of ``ANCHOR_SIZES`` centred on ``(x + 0.5, y + 0.5)
    * stride``.
    """
    stride = HEAD_STRIDES[level]
    center = stride / 2.0
    base = torch.tensor([[center - 0.5 * w, center - 0.5 * h, center + 0.5 * w, center + 0.5 * h]
                         for w, h in ANCHOR_SIZES[level]], dtype=torch.float32)
    return grid_anchors(base, height, width, stride, device)


def decode_yolo(anchors: torch.Tensor, preds: torch.Tensor, strides: torch.Tensor) -> torch.Tensor:
    """mmdet ``YOLOBBoxCoder.decode``: (R, 4) anchors, (R, 4) preds with x, y already
    sigmoid-ed, (R, 1) strides -> (R, 4) boxes (not clipped).

    Centre = anchor centre + (xy - 0.5) * stride; half size = anchor half size * exp(wh).
    """
    centers = (anchors[..., :2] + anchors[..., 2:]) * 0.5 + (preds[..., :2] - 0.5) * strides
    half = (anchors[..., 2:] - anchors[..., :2]) * 0.5 * preds[..., 2:].exp()
    return torch.stack((centers[..., 0] - half[..., 0], centers[..., 1] - half[..., 1],
                        centers[..., 0] + half[..., 0], centers[..., 1] + half[..., 1]), dim=-1)
