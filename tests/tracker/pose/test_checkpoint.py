"""Reading mmpose checkpoints and plain state dicts, strictly, with helpful errors."""
import argparse
import hashlib
import pickle
import warnings
from collections import OrderedDict

import cv2
import numpy as np
import pytest
import torch

from tests.shared_data import PARITY_DIR, shared_path
from tracker.checkpoint import CheckpointError
from tracker.pose import load_pose_model
from tracker.pose.checkpoint import infer_architecture, read_state_dict

COCO = "res50_coco_256x192-ec54d7f3_20200709.pth"
MPII = "res50_mpii_256x256-418ffc88_20200812.pth"


def _tensor_md5(state_dict):
    digest = hashlib.md5()
    for key, value in state_dict.items():
        digest.update(key.encode("utf-8"))
        digest.update(np.ascontiguousarray(value.numpy()).astype("<" + value.numpy().dtype.str[1:])
                      .tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_reads_exact_tensors_of_mmpose_file(parity_checkpoints, legacy):
    path = parity_checkpoints(COCO, legacy=legacy)
    state_dict = read_state_dict(path)
    assert _tensor_md5(state_dict) == parity_checkpoints.index[COCO]["synthetic_tensor_md5"]


@pytest.mark.slow
@pytest.mark.parametrize("file_name", [
    "res50_coco_384x288-e6f795e9_20200709.pth", "res101_coco_256x192-6e6babf0_20200708.pth",
    "res101_coco_384x288-8c71bdc9_20200709.pth", "res152_coco_256x192-f6e307c2_20200709.pth",
    "res152_coco_384x288-3860d4c9_20200709.pth", "res50_posetrack18_256x192-a62807c7_20201028.pth",
    "res50_crowdpose_256x192-c6a526b6_20201227.pth",
    "res50_mpii_trb_256x256-896036b8_20200812.pth",
    "res50_2deconv_jhmdb_sub1_256x256-f0574a52_20201122.pth"])
def test_every_fixture_checkpoint_loads_through_public_api(parity_checkpoints, file_name):
    entry = parity_checkpoints.index[file_name]
    model = load_pose_model(entry["salt"], checkpoint=parity_checkpoints(file_name))
    image = cv2.imread(str(shared_path(*PARITY_DIR, "images", "coco", "000000000785.jpg")))
    out = model.heatmaps(image, [[280.79, 44.73, 218.7, 346.68]], flip_test=False)
    width, height = entry["heatmap_size_wh"]
    assert out.heatmaps.shape == (1, entry["num_joints"], height, width)
    assert np.isfinite(out.heatmaps).all() and out.heatmaps.max() > 0


def test_plain_and_prefixed_state_dicts_give_same_keypoints(parity_checkpoints, tmp_path):
    original = read_state_dict(parity_checkpoints(COCO))
    variants = {
        "plain": original,
        "dataparallel": OrderedDict(("module." + k, v) for k, v in original.items()),
        "compiled": OrderedDict(("_orig_mod." + k, v) for k, v in original.items()),
        "microsoft": OrderedDict((k.replace("backbone.", "").replace("keypoint_head.", ""), v)
                                 for k, v in original.items()),
    }
    image = cv2.imread(str(shared_path(*PARITY_DIR, "images", "coco", "000000000785.jpg")))
    box = [[280.79, 44.73, 218.7, 346.68]]
    reference = load_pose_model("res50_coco_256x192", checkpoint=parity_checkpoints(COCO))
    expected = reference.predict(image, box).keypoints
    for name, state_dict in variants.items():
        path = tmp_path / f"{name}.pth"
        torch.save(state_dict, path)
        model = load_pose_model("res50_coco_256x192", checkpoint=path)
        np.testing.assert_array_equal(model.predict(image, box).keypoints, expected, err_msg=name)


def test_wrong_keypoint_count_names_fitting_zoo_entries(parity_checkpoints):
    with pytest.raises(CheckpointError) as info:
        load_pose_model("res50_coco_256x192", checkpoint=parity_checkpoints(MPII))
    message = str(info.value)
    assert "does not fit pose model 'res50_coco_256x192'" in message
    assert "keypoint_head.final_layer.weight (16, 256, 1, 1) (model (17, 256, 1, 1))" in message
    assert "res50_mpii_256x256" in message and "res50_mhp_256x192" in message


def test_other_depth_reports_missing_and_unexpected_keys(parity_checkpoints):
    with pytest.raises(CheckpointError) as info:
        load_pose_model("res101_coco_256x192", checkpoint=parity_checkpoints(COCO))
    message = str(info.value)
    assert "missing keys: backbone.layer3.6.conv1.weight" in message
    assert "ResNet-50 with 3 deconv layers and 17 keypoints" in message
    assert "res50_coco_256x192" in message


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.5, 0.99])
def test_truncated_checkpoint_is_a_clear_error(parity_checkpoints, tmp_path, legacy, fraction):
    data = parity_checkpoints(COCO, legacy=legacy).read_bytes()
    path = tmp_path / "truncated.pth"
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(CheckpointError, match="truncated.pth is not a readable torch checkpoint"):
        load_pose_model("res50_coco_256x192", checkpoint=path)


def test_corrupt_bytes_are_a_clear_error(parity_checkpoints, tmp_path):
    data = bytearray(parity_checkpoints(COCO).read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = bytes(4096)
    path = tmp_path / "corrupt.pth"
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt.pth"):
        load_pose_model("res50_coco_256x192", checkpoint=path)


@pytest.mark.parametrize("content", [{"meta": {"epoch": 1}}, {"weights": [1, 2, 3]}, [1, 2]])
def test_file_without_state_dict(tmp_path, content):
    path = tmp_path / "nothing.pth"
    torch.save(content, path)
    with pytest.raises(CheckpointError, match="holds no state dict"):
        read_state_dict(path)


def test_text_file_is_rejected(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("this is not a checkpoint")
    with pytest.raises(CheckpointError, match="notes.pth"):
        read_state_dict(path)


def test_missing_checkpoint_file():
    with pytest.raises(FileNotFoundError, match="nope.pth does not exist"):
        load_pose_model("res50_coco_256x192", checkpoint="/nonexistent/nope.pth")


def test_infer_architecture_of_unrelated_state_dict():
    assert infer_architecture({"fc.weight": torch.zeros(3, 3)}) is None


def _random_bytes(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 100, np.uint8).tobytes())


def _pickled_list(path):
    path.write_bytes(pickle.dumps([1, 2, 3], protocol=4))


def _python_object(path):
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": argparse.Namespace(a=1)}, path)


@pytest.mark.parametrize("write,message", [
    (_random_bytes, "torch.load failed: UnpicklingError: "),
    (_pickled_list, "torch.load failed: UnpicklingError: Unsupported operand 149"),
    (_python_object, "torch.load failed: it holds a Python object of type argparse.Namespace; "
                     "only tensors and plain data are read, never code"),
    (lambda path: path.write_bytes(b""), "torch.load failed: EOFError (empty or cut short)"),
], ids=["random_bytes", "pickled_list", "python_object", "empty"])
def test_a_file_torch_cannot_load_is_one_line_without_unsafe_advice(tmp_path, write, message):
    path = tmp_path / "random.pth"
    write(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")       # nor a warning about the pickle protocol
        with pytest.raises(CheckpointError) as info:
            read_state_dict(path)
    text = str(info.value)
    assert text.startswith(f"{path} is not a readable torch checkpoint (truncated, corrupt or "
                           "not a .pth file; ")
    assert message in text and "\n" not in text and "weights_only" not in text
