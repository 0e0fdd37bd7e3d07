"""load_pose_model's device-dependent defaults."""
import pytest
import torch

from tracker.pose import load_pose_model
from tracker.pose.estimator import DEFAULT_MAX_BATCH
from tracker.pose.load import CPU_MAX_BATCH

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
