"""PoseResNet: state-dict layout equal to mmpose's for every zoo architecture, shapes."""
import json

import pytest
import torch

from tests.shared_data import PARITY_DIR, shared_path
from tracker.pose import build_network
from tracker.pose.net import DeconvHead, PoseResNet
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
