"""Device selection and the ONNX backend's error handling."""
import pytest
import torch

from tests.shared_data import shared_path
from tracker.checkpoint import CheckpointError
from tracker.pose.backends import OnnxHeatmapNet, resolve_device

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
