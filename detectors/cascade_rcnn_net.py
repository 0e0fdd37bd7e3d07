"""Cascade R-CNN X-101-64x4d-FPN as plain ``nn.Module``s with mmdet's key names.

mmdet's COCO config ``cascade_rcnn_x101_64x4d_fpn_20e_coco`` (Cai & Vasconcelos, "Cascade
R-CNN", CVPR 2018; Lin et al., "Feature Pyramid Networks", CVPR 2017):

* backbone: ResNeXt-101 64x4d, pytorch style (stride on the 3x3), torchvision's ResNet with
  the same key names (``backbone.layer1.0.conv2.weight`` ...); outputs strides 4, 8, 16, 32;
* neck: FPN, 256 channels, 1x1 laterals, nearest top-down upsampling, 3x3 output convs and
  a 5th level by max-pooling (kernel 1, stride 2) the last one (``add_extra_convs=False``);
* RPN head: 3x3 conv + ReLU, 1x1 objectness (3 anchors, sigmoid) and 1x1 deltas (3 x 4);
* RoI head: 3 stages, each RoIAlign 7x7 on levels 0-3 then two shared FCs (1024) and
  ``fc_cls`` (81 = 80 COCO classes + background last) / class-agnostic ``fc_reg`` (4).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet

from detectors.mmdet_common import grid_anchors

#: ResNeXt-101 64x4d: blocks per stage, groups, width per group.
RESNEXT101_LAYERS = (3, 4, 23, 3)
RESNEXT_GROUPS, RESNEXT_WIDTH = 64, 4
FPN_IN_CHANNELS = (256, 512, 1024, 2048)
FPN_CHANNELS = 256
FPN_LEVELS = 5
#: RPN anchors: one scale (8 x stride), ratios h/w, strides of the 5 FPN levels.
ANCHOR_SCALE = 8
ANCHOR_RATIOS = (0.5, 1.0, 2.0)
ANCHOR_STRIDES = (4, 8, 16, 32, 64)
#: RoI features: 7x7 RoIAlign on the first 4 levels; a RoI of side 56 * 2^k goes to level k.
ROI_SIZE = 7
ROI_STRIDES = (4, 8, 16, 32)
ROI_FINEST_SCALE = 56
FC_CHANNELS = 1024
NUM_CLASSES = 80
#: DeltaXYWH target stds of the RPN and of the 3 cascade stages (means are 0).
RPN_STDS = (1.0, 1.0, 1.0, 1.0)
STAGE_STDS = ((0.1, 0.1, 0.2, 0.2), (0.05, 0.05, 0.1, 0.1), (0.033, 0.033, 0.067, 0.067))


class ResNeXtBackbone(ResNet):
    """torchvision's ResNeXt-101 64x4d trunk returning the outputs of ``layer1..4``."""

    def __init__(self):
        super().__init__(Bottleneck, list(RESNEXT101_LAYERS), groups=RESNEXT_GROUPS,
                         width_per_group=RESNEXT_WIDTH)
        del self.avgpool, self.fc

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            outs.append(x)
        return outs


class _Conv(nn.Module):
    """A conv under the attribute ``conv`` (mmcv ``ConvModule`` without norm/activation)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                              padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class FPN(nn.Module):
    """Feature pyramid: 4 backbone levels -> ``FPN_LEVELS`` levels of ``FPN_CHANNELS``."""

    def __init__(self):
        super().__init__()
        self.lateral_convs = nn.ModuleList(_Conv(c, FPN_CHANNELS, 1) for c in FPN_IN_CHANNELS)
        self.fpn_convs = nn.ModuleList(
            _Conv(FPN_CHANNELS, FPN_CHANNELS, 3) for _ in FPN_IN_CHANNELS)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, feats)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[2:], mode="nearest")
        outs = [conv(x) for conv, x in zip(self.fpn_convs, laterals)]
        while len(outs) < FPN_LEVELS:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return outs


class RPNHead(nn.Module):
    """Per level: (N, A, H, W) objectness logits and (N, 4A, H, W) deltas."""

    def __init__(self):
        super().__init__()
        anchors = len(ANCHOR_RATIOS)
        self.rpn_conv = nn.Conv2d(FPN_CHANNELS, FPN_CHANNELS, 3, padding=1)
        self.rpn_cls = nn.Conv2d(FPN_CHANNELS, anchors, 1)
        self.rpn_reg = nn.Conv2d(FPN_CHANNELS, anchors * 4, 1)

    def forward(self, feats: list[torch.Tensor]):
        logits, deltas = [], []
        for x in feats:
            x = F.relu(self.rpn_conv(x))
            logits.append(self.rpn_cls(x))
            deltas.append(self.rpn_reg(x))
        return logits, deltas


class Shared2FCBBoxHead(nn.Module):
    """(R, 256, 7, 7) RoI features -> (R, 81) class logits, (R, 4) class-agnostic deltas."""

    def __init__(self):
        super().__init__()
        self.shared_fcs = nn.ModuleList([
            nn.Linear(FPN_CHANNELS * ROI_SIZE * ROI_SIZE, FC_CHANNELS),
            nn.Linear(FC_CHANNELS, FC_CHANNELS)])
        self.fc_cls = nn.Linear(FC_CHANNELS, NUM_CLASSES + 1)
        self.fc_reg = nn.Linear(FC_CHANNELS, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.flatten(1)
        for fc in self.shared_fcs:
            x = F.relu(fc(x))
        return self.fc_cls(x), self.fc_reg(x)


class CascadeRoIHead(nn.Module):
    """The three cascade stages' box heads (``roi_head.bbox_head.{0,1,2}``)."""

    def __init__(self):
        super().__init__()
        self.bbox_head = nn.ModuleList(Shared2FCBBoxHead() for _ in STAGE_STDS)


class CascadeRCNNNetwork(nn.Module):
    """Backbone, FPN, RPN head and RoI head under mmdet's top-level names."""

    def __init__(self):
        super().__init__()
        self.backbone = ResNeXtBackbone()
        self.neck = FPN()
        self.rpn_head = RPNHead()
        self.roi_head = CascadeRoIHead()

    def features(self, batch: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(N, 3, H, W) -> backbone levels (strides 4..32), FPN levels (strides 4..64)."""
        backbone = self.backbone(batch)
        return backbone, self.neck(backbone)


def anchors_for_level(height: int, width: int, level: int,
                      device: torch.device) -> torch.Tensor:
    """(H * W * A, 4) RPN anchors of one level, ordered (y, x, ratio) like the head output.

    mmdet ``AnchorGenerator`` (float32, centre offset 0): base size = stride, ``h = s *
    sqrt(ratio) * scale``, ``w = s / sqrt(ratio) * scale``, shifted by ``(x, y) * stride``.
    """
    stride = ANCHOR_STRIDES[level]
    ratios = torch.tensor(ANCHOR_RATIOS, dtype=torch.float32)
    scales = torch.tensor([float(ANCHOR_SCALE)], dtype=torch.float32)
    h_ratios = torch.sqrt(ratios)
    w_ratios = 1 / h_ratios
    ws = (stride * w_ratios[:, None] * scales[None, :]).view(-1)
    hs = (stride * h_ratios[:, None] * scales[None, :]).view(-1)
    base = torch.stack([0.0 - 0.5 * ws, 0.0 - 0.5 * hs, 0.0 + 0.5 * ws, 0.0 + 0.5 * hs], dim=-1)
    return grid_anchors(base, height, width, stride, device)


def roi_levels(rois: torch.Tensor, num_levels: int) -> torch.Tensor:
    """(R, 5) RoIs -> (R,) FPN level: ``floor(log2(sqrt(area) / 56 + 1e-6))`` in [0, L-1]."""
    scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
    levels = torch.floor(torch.log2(scale / ROI_FINEST_SCALE + 1e-6))
    return levels.clamp(min=0, max=num_levels - 1).long()


def roi_features(feats: list[torch.Tensor], rois: torch.Tensor) -> torch.Tensor:
    """(R, 5) RoIs (batch index, x1, y1, x2, y2) -> (R, 256, 7, 7) RoIAlign features.

    mmcv ``RoIAlign(output_size=7, sampling_ratio=0, aligned=True)`` equals torchvision's
    ``roi_align`` with the same arguments; each RoI is pooled from the level ``roi_levels``.
    """
    feats = feats[:len(ROI_STRIDES)]
    out = feats[0].new_zeros((rois.shape[0], feats[0].shape[1], ROI_SIZE, ROI_SIZE))
    levels = roi_levels(rois, len(feats))
    for level, (x, stride) in enumerate(zip(feats, ROI_STRIDES)):
        index = (levels == level).nonzero(as_tuple=False).squeeze(1)
        if index.numel() > 0:
            out[index] = torchvision.ops.roi_align(
                x, rois[index], output_size=ROI_SIZE, spatial_scale=1.0 / stride,
                sampling_ratio=0, aligned=True).to(out.dtype)
    return out

