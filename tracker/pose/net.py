"""The "Simple Baselines" pose network: ResNet backbone + deconvolution head.

    image (N, 3, H, W)
      -> backbone: torchvision ResNet-50/101/152 up to layer4   (N, 2048, H/32, W/32)
      -> keypoint_head.deconv_layers: D x [ConvTranspose2d(k4, s2, p1, no bias), BN, ReLU]
                                                                (N, 256, H/32*2^D, W/32*2^D)
      -> keypoint_head.final_layer: Conv2d 1x1 with bias         (N, K, H/4, W/4) for D = 3

Submodule names equal mmpose 0.x's (``backbone.*``, ``keypoint_head.deconv_layers.*``,
``keypoint_head.final_layer.*``), so the model-zoo checkpoints load with ``strict=True``.
mmpose's "pytorch"-style ResNet puts the stride on the 3x3 conv, as torchvision does.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torchvision.models.resnet import Bottleneck, ResNet

#: Bottleneck blocks per stage for each supported depth (He et al. 2016, table 1).
RESNET_LAYERS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}

#: Deconvolution kernel -> (padding, output_padding) that doubles the resolution exactly.
DECONV_PADDING = {4: (1, 0), 3: (1, 1), 2: (0, 0)}


class ResNetBackbone(ResNet):
    """torchvision's ResNet without the classifier: returns the layer4 feature map."""

    def __init__(self, depth: int) -> None:
        if depth not in RESNET_LAYERS:
            raise ValueError(f"ResNet depth must be one of {sorted(RESNET_LAYERS)}, got {depth}")
        super().__init__(Bottleneck, list(RESNET_LAYERS[depth]))
        del self.avgpool, self.fc
        self.depth = depth
        self.out_channels = 512 * Bottleneck.expansion

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class DeconvHead(nn.Module):
    """Upsampling head: deconvolution blocks, then a 1x1 conv to one heatmap per keypoint."""

    def __init__(self, in_channels: int, num_keypoints: int,
                 deconv_channels: tuple[int, ...] = (256, 256, 256),
                 deconv_kernels: tuple[int, ...] = (4, 4, 4)) -> None:
        super().__init__()
        if len(deconv_channels) != len(deconv_kernels):
            raise ValueError("deconv_channels and deconv_kernels must have the same length, got "
                             f"{len(deconv_channels)} and {len(deconv_kernels)}")
        layers: list[nn.Module] = []
        for channels, kernel in zip(deconv_channels, deconv_kernels):
            if kernel not in DECONV_PADDING:
                raise ValueError(f"deconvolution kernel must be one of {sorted(DECONV_PADDING)}, "
                                 f"got {kernel}")
            padding, output_padding = DECONV_PADDING[kernel]
            layers += [nn.ConvTranspose2d(in_channels, channels, kernel, stride=2, padding=padding,
                                          output_padding=output_padding, bias=False),
                       nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
            in_channels = channels
        self.deconv_layers = nn.Sequential(*layers)
        self.final_layer = nn.Conv2d(in_channels, num_keypoints, kernel_size=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.deconv_layers(features))


class PoseResNet(nn.Module):
    """Simple Baselines top-down pose network.

    Args:
        depth: ResNet depth, 50, 101 or 152.
        num_keypoints: number of heatmaps K.
        num_deconv_layers: 3 (heatmaps at 1/4 of the input) or 2 (1/8, the "2 Deconv." rows).
        deconv_channels: channels of every deconvolution block.
        deconv_kernel: kernel size of every deconvolution block (4, 3 or 2).

    ``forward`` maps a normalised (N, 3, H, W) batch to (N, K, H', W') heatmaps.
    """

    def __init__(self, depth: int = 50, num_keypoints: int = 17, num_deconv_layers: int = 3,
                 deconv_channels: int = 256, deconv_kernel: int = 4) -> None:
        super().__init__()
        if num_deconv_layers < 1:
            raise ValueError(f"num_deconv_layers must be >= 1, got {num_deconv_layers}")
        if num_keypoints < 1:
            raise ValueError(f"num_keypoints must be >= 1, got {num_keypoints}")
        self.backbone = ResNetBackbone(depth)
        self.keypoint_head = DeconvHead(
            self.backbone.out_channels, num_keypoints,
            deconv_channels=(deconv_channels,) * num_deconv_layers,
            deconv_kernels=(deconv_kernel,) * num_deconv_layers)
        self.stride = 32 // 2 ** num_deconv_layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.keypoint_head(self.backbone(x))


def fold_batchnorm(network: PoseResNet) -> PoseResNet:
    """An eval-mode copy of ``network`` with every BatchNorm folded into the convolution or
    deconvolution before it (the BN layer becomes ``nn.Identity``; ``network`` is unchanged).

    Eval-mode BN is an affine map per channel, so ``bn(conv(x)) == conv'(x)`` with scaled
    weights and a bias: the same network up to float rounding (heatmaps within about 1e-5 of
    a unit-scale output; keypoints equal mmpose's), one pass fewer over every feature map,
    1.02-1.14x on the 2-core CPU (``python -m benchmarks.bench_vs_mmpose``). For inference
    only: the copy has no BN parameters to train or to save as a zoo checkpoint.
    """
    folded = copy.deepcopy(network).eval()
    backbone = folded.backbone
    backbone.conv1 = fuse_conv_bn_eval(backbone.conv1, backbone.bn1)
    backbone.bn1 = nn.Identity()
    for stage in (backbone.layer1, backbone.layer2, backbone.layer3, backbone.layer4):
        for block in stage:
            for index in (1, 2, 3):
                conv, bn = getattr(block, f"conv{index}"), getattr(block, f"bn{index}")
                setattr(block, f"conv{index}", fuse_conv_bn_eval(conv, bn))
                setattr(block, f"bn{index}", nn.Identity())
            if block.downsample is not None:
                conv, bn = block.downsample
                block.downsample = nn.Sequential(fuse_conv_bn_eval(conv, bn), nn.Identity())
    layers = folded.keypoint_head.deconv_layers     # [deconv, BN, ReLU] per block
    for start in range(0, len(layers), 3):
        layers[start] = fuse_conv_bn_eval(layers[start], layers[start + 1], transpose=True)
        layers[start + 1] = nn.Identity()
    return folded
