"""load_pose_model's device-dependent defaults."""
import pytest
import torch

from tracker.pose import load_pose_model
from tracker.pose.estimator import DEFAULT_MAX_BATCH
from tracker.pose.load import CPU_MAX_BATCH
from tracker.pose import precision

CHECKPOINT = "res50_coco_256x192-ec54d7f3_20200709.pth"


def test_cpu_defaults_are_the_measured_ones(parity_checkpoints):
    model = load_pose_model("res50_coco_256x192", checkpoint=parity_checkpoints(CHECKPOINT))
    assert model.max_batch_size == CPU_MAX_BATCH == 8
    assert model.network.channels_last and model.network.autocast is None
    assert not model.fast_path
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.network.network.modules())


def test_explicit_values_win(parity_checkpoints):
    model = load_pose_model("res50_coco_256x192", checkpoint=parity_checkpoints(CHECKPOINT),
                            max_batch_size=3, channels_last=False, fold_batchnorm=False,
                            fast_path=True)
    assert model.max_batch_size == 3 and not model.network.channels_last and model.fast_path
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.network.network.modules()) == 56


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_defaults_are_the_fast_path(parity_checkpoints):
    model = load_pose_model("res50_coco_256x192", device="cuda",
                            checkpoint=parity_checkpoints(CHECKPOINT))
    assert model.max_batch_size == DEFAULT_MAX_BATCH and model.fast_path
    assert model.network.autocast is torch.float16 and model.network.channels_last


def test_precision_is_explicit_or_left_to_the_path(parity_checkpoints):
    checkpoint = parity_checkpoints(CHECKPOINT)
    model = load_pose_model("res50_coco_256x192", checkpoint=checkpoint, precision="bfloat16")
    assert model.network.autocast is torch.bfloat16 and not model.fast_path
    model = load_pose_model("res50_coco_256x192", checkpoint=checkpoint, fast_path=True,
                            precision="float32")
    assert model.network.autocast is None and model.fast_path
    model = load_pose_model("res50_coco_256x192", checkpoint=checkpoint, fast_path=True)
    assert model.network.autocast is None          # bfloat16 on the CPU is opt-in


def test_emulated_16_bit_floats_warn(parity_checkpoints, monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2", "avx512f"}))
    with pytest.warns(RuntimeWarning, match="pose precision 'bfloat16': this CPU has no "
                                            "native bfloat16"):
        load_pose_model("res50_coco_256x192", checkpoint=parity_checkpoints(CHECKPOINT),
                        precision="bfloat16")


def test_unknown_precision_fails_before_any_download():
    # the zoo weights would be fetched from a closed port (conftest): this error comes first
    with pytest.raises(ValueError, match="precision must be one of .* got 'half'"):
        load_pose_model("res50_coco_256x192", precision="half")


def test_onnx_models_take_no_16_bit_autocast():
    with pytest.raises(ValueError, match="pp_tinypose_256x192 is an ONNX model.*"
                                         "posetrack-export --fp16"):
        load_pose_model("pp_tinypose_256x192", precision="bfloat16")
