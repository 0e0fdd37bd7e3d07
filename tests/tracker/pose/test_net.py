"""PoseResNet: state-dict layout equal to mmpose's for every zoo architecture, shapes."""
import json

import pytest
import torch

from tests.shared_data import PARITY_DIR, shared_path
from tracker.pose import build_network
from tracker.pose.net import DeconvHead, PoseResNet, fold_batchnorm
from tracker.pose.zoo import pose_models

SCHEMAS = ["resnet50_3deconv_k17", "resnet101_3deconv_k17", "resnet152_3deconv_k17",
           "resnet50_3deconv_k16", "resnet50_3deconv_k14", "resnet50_3deconv_k40",
           "resnet50_2deconv_k15"]
TORCH_MODELS = [name for name, spec in pose_models().items() if spec.backend == "torch"]


def _schema(name):
    return json.loads(shared_path(*PARITY_DIR, "schemas", f"schema_{name}.json").read_text())


def _layout(module):
    return [(k, list(v.shape)) for k, v in module.state_dict().items()]


@pytest.mark.parametrize("schema_name", SCHEMAS)
def test_state_dict_layout_equals_mmpose(schema_name):
    schema = _schema(schema_name)
    depth = int(schema_name.split("_")[0][6:])
    deconvs = int(schema_name.split("_")[1][0])
    k = int(schema_name.split("_k")[1])
    model = PoseResNet(depth=depth, num_keypoints=k, num_deconv_layers=deconvs)
    expected = [(key, spec["shape"]) for key, spec in schema["tensors"].items()]
    assert _layout(model) == expected  # same keys, shapes and order
    counted = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert sum(v.numel() for v in counted.values()) == schema["num_params"]


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_every_zoo_architecture_matches_its_schema(name):
    spec = pose_models()[name]
    model = build_network(spec)
    backbone = [(k, s) for k, s in (
        (key, v["shape"]) for key, v in _schema(f"resnet{spec.depth}_3deconv_k17")["tensors"].items())
        if k.startswith("backbone.")]
    assert [(k, s) for k, s in _layout(model) if k.startswith("backbone.")] == backbone
    head = _schema(f"resnet50_{spec.num_deconv_layers}deconv_k"
                   f"{15 if spec.num_deconv_layers == 2 else 17}")["tensors"]
    head_layout = [(k, v["shape"]) for k, v in head.items() if k.startswith("keypoint_head.")]
    head_layout[-2] = (head_layout[-2][0], [spec.num_keypoints, 256, 1, 1])
    head_layout[-1] = (head_layout[-1][0], [spec.num_keypoints])
    assert [(k, s) for k, s in _layout(model) if k.startswith("keypoint_head.")] == head_layout


@pytest.mark.parametrize("deconvs,stride", [(3, 4), (2, 8)])
def test_heatmap_resolution(deconvs, stride):
    model = PoseResNet(depth=50, num_keypoints=5, num_deconv_layers=deconvs).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 3, 64, 96))
    assert out.shape == (2, 5, 64 // stride, 96 // stride) and model.stride == stride


@pytest.mark.parametrize("kwargs,message", [
    ({"depth": 34}, "depth must be one of"),
    ({"num_deconv_layers": 0}, "num_deconv_layers"),
    ({"num_keypoints": 0}, "num_keypoints"),
    ({"deconv_kernel": 5}, "kernel must be one of"),
])
def test_invalid_architecture(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PoseResNet(**kwargs)


def test_deconv_head_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        DeconvHead(2048, 17, deconv_channels=(256, 256), deconv_kernels=(4,))


def _randomize_batchnorm(model, seed=0):
    """Give every BN layer non-trivial statistics and affine terms, so folding is exercised."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            channels = module.num_features
            module.running_mean.copy_(torch.randn(channels, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(channels, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(channels, generator=generator) * 0.1)
    return model.eval()


@pytest.mark.parametrize("deconvs", [3, 2])
def test_fold_batchnorm_keeps_the_outputs_and_leaves_the_original_alone(deconvs):
    torch.manual_seed(0)
    model = _randomize_batchnorm(PoseResNet(depth=50, num_keypoints=5, num_deconv_layers=deconvs))
    before = {key: value.clone() for key, value in model.state_dict().items()}
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 53 + deconvs
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())
    batch = torch.rand(2, 3, 64, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = model(batch), folded(batch)
    assert got.shape == expected.shape
    scale = expected.abs().max().item()
    assert scale > 0.01                                   # a real signal, not all zeros
    assert (got - expected).abs().max().item() <= 1e-4 * max(scale, 1.0)


def test_fold_batchnorm_of_a_literal_conv_bn_pair():
    # conv 1x1 with weight 2, BN with mean 1, var 4 (eps 0), gamma 3, beta 0.5:
    # y = 3 * (2x - 1) / 2 + 0.5 = 3x - 1  -> folded weight 3, bias -1
    model = PoseResNet(depth=50, num_keypoints=1, num_deconv_layers=2).eval()
    stem = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1, bias=False), torch.nn.BatchNorm2d(1, eps=0))
    stem[0].weight.data.fill_(2.0)
    stem[1].running_mean.fill_(1.0)
    stem[1].running_var.fill_(4.0)
    stem[1].weight.data.fill_(3.0)
    stem[1].bias.data.fill_(0.5)
    model.backbone.conv1, model.backbone.bn1 = stem[0], stem[1]
    folded = fold_batchnorm(model)
    assert folded.backbone.conv1.weight.item() == pytest.approx(3.0)
    assert folded.backbone.conv1.bias.item() == pytest.approx(-1.0)
    assert isinstance(folded.backbone.bn1, torch.nn.Identity)
