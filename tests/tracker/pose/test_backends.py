"""Device selection and the ONNX backend's error handling."""
import os

import pytest
import torch

from tests.shared_data import shared_path
from tracker.checkpoint import CheckpointError
from tracker.pose.backends import (OnnxHeatmapNet, TorchHeatmapNet, onnx_session_options,
                                    resolve_device)

ONNX = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


@pytest.mark.parametrize("device", ["gpu", "mps", 3.5])
def test_unknown_device(device):
    with pytest.raises(ValueError, match="device must be"):
        resolve_device(device)


def test_broken_onnx_file(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x01garbage")
    with pytest.raises(CheckpointError, match="broken.onnx is not a readable ONNX model"):
        OnnxHeatmapNet(path, None, None, torch.device("cpu"))


@pytest.mark.parametrize("names,message", [
    (("pixels", None), r"has no input 'pixels'; its inputs are \['image'\]"),
    (("image", "heatmaps"), "has no output 'heatmaps'"),
])
def test_wrong_tensor_names(names, message):
    with pytest.raises(CheckpointError, match=message):
        OnnxHeatmapNet(shared_path(*ONNX), *names, torch.device("cpu"))


def test_onnx_defaults_find_heatmap_output():
    net = OnnxHeatmapNet(shared_path(*ONNX), None, None, torch.device("cpu"))
    assert net.input_name == "image" and net.output_name == "conv2d_441.tmp_1"
    out = net(torch.zeros(3, 3, 256, 192))
    assert out.shape == (3, 17, 64, 48) and net.fixed_batch == 1


def test_onnx_thread_count_option():
    path = shared_path("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
    batch = torch.rand(2, 3, 256, 192)
    default = OnnxHeatmapNet(path, None, None, torch.device("cpu"))
    single = OnnxHeatmapNet(path, None, None, torch.device("cpu"), threads=1)
    torch.testing.assert_close(single(batch), default(batch), rtol=1e-5, atol=1e-6)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="onnx_threads"):
            OnnxHeatmapNet(path, None, None, torch.device("cpu"), threads=bad)


@pytest.mark.parametrize("threads, expected", [(0, 0), (3, 3)])
def test_onnx_session_options_fix_threads_and_do_not_spin(threads, expected):
    """The intra-op pool sleeps between calls: a spinning pool takes the cores that the
    detector, the other pose calls and the flow need (benchmarks/overlap_table.py)."""
    options = onnx_session_options(threads)
    assert options.intra_op_num_threads == expected
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_onnx_runs_of_a_fixed_batch_model_give_the_same_heatmaps(monkeypatch):
    import threading

    path = shared_path(*ONNX)
    batch = torch.rand(5, 3, 256, 192, generator=torch.Generator().manual_seed(0))
    one = OnnxHeatmapNet(path, None, None, torch.device("cpu"), runs=1)
    three = OnnxHeatmapNet(path, None, None, torch.device("cpu"), runs=3)
    assert one.runs == 1 and three.runs == 3
    seen = set()
    original = three.session.run

    def recording(*args, **kwargs):
        seen.add(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(three.session, "run", recording)
    torch.testing.assert_close(three(batch), one(batch), rtol=0, atol=0)   # bit-identical
    assert len(seen) >= 2 and all(name.startswith("onnx-run") for name in seen)
    default = OnnxHeatmapNet(path, None, None, torch.device("cpu"))
    assert default.runs == (os.cpu_count() or 1)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="onnx_runs"):
            OnnxHeatmapNet(path, None, None, torch.device("cpu"), runs=bad)


def test_bfloat16_autocast_gives_float32_close_to_full_precision():
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU())
    batch = torch.randn(2, 3, 8, 8)
    full = TorchHeatmapNet(network, torch.device("cpu"))(batch)
    half = TorchHeatmapNet(network, torch.device("cpu"), autocast=torch.bfloat16)(batch)
    assert half.dtype == torch.float32 and not torch.equal(half, full)
    torch.testing.assert_close(half, full, rtol=0.05, atol=0.05)


def test_autocast_must_be_a_half_dtype():
    with pytest.raises(ValueError, match="autocast"):
        TorchHeatmapNet(torch.nn.Identity(), torch.device("cpu"), autocast=torch.int8)
