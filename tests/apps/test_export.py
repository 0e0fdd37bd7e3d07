"""posetrack-export: a synthetic res50 (the parity fixtures' checkpoint) to ONNX and back."""
import numpy as np
import pytest

from apps import export

CHECKPOINT = "res50_coco_256x192-ec54d7f3_20200709.pth"


@pytest.fixture(scope="module")
def onnx_available():
    pytest.importorskip("onnx", reason="posetrack-export needs onnx (pip install -e '.[export]')")


@pytest.mark.parametrize("flags", [["--dynamic-batch"], []])
def test_exported_res50_gives_torchs_keypoints_through_its_yaml(tmp_path, capsys, flags,
                                                                parity_checkpoints,
                                                                onnx_available):
    from tracker.pose.load import load_pose_model

    checkpoint = parity_checkpoints(CHECKPOINT)
    out = tmp_path / "res50.onnx"
    assert export.main(["res50_coco_256x192", "--checkpoint", str(checkpoint), "--out", str(out),
                        "--quiet", *flags]) == 0
    assert "heatmaps within" in capsys.readouterr().err
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    boxes_xywh = np.array([[20, 10, 90, 200], [150, 30, 120, 190], [60, 60, 50, 100]], float)
    torch_model = load_pose_model("res50_coco_256x192", checkpoint, device="cpu",
                                  fast_path=False)
    onnx_model = load_pose_model(tmp_path / "res50.yaml", device="cpu")
    want = torch_model.predict(image, boxes_xywh)
    got = onnx_model.predict(image, boxes_xywh)
    np.testing.assert_allclose(got.keypoints, want.keypoints, atol=1e-3)
    np.testing.assert_allclose(got.keypoint_scores, want.keypoint_scores, atol=1e-4)


def test_a_float16_export_runs_through_its_yaml(tmp_path, parity_checkpoints, onnx_available):
    from tracker.pose.load import load_pose_model

    checkpoint = parity_checkpoints(CHECKPOINT)
    out = tmp_path / "half.onnx"
    assert export.main(["res50_coco_256x192", "--checkpoint", str(checkpoint), "--out", str(out),
                        "--quiet", "--fp16"]) == 0
    image = np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    boxes_xywh = np.array([[20, 10, 90, 200]], float)
    want = load_pose_model("res50_coco_256x192", checkpoint, device="cpu",
                           fast_path=False).predict(image, boxes_xywh)
    got = load_pose_model(tmp_path / "half.yaml", device="cpu").predict(image, boxes_xywh)
    assert np.isfinite(got.keypoints).all()
    # float16: most joints on the same heatmap peak; the difference is stated, not hidden
    assert np.mean(np.abs(got.keypoints - want.keypoints).max(axis=2) < 1.0) >= 0.8


def test_export_refuses_a_non_torch_model_and_a_bad_out(tmp_path, capsys, onnx_available):
    assert export.main(["pp_tinypose_256x192", "--out", str(tmp_path / "m.onnx")]) == 1
    assert "only torch (ResNet) models" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        export.parse_args(["res50_coco_256x192", "--out", str(tmp_path / "m.pth")])
    assert "expected a path ending in .onnx" in capsys.readouterr().err


def test_without_onnx_the_error_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert export.main(["res50_coco_256x192", "--out", str(tmp_path / "m.onnx")]) == 1
    assert "pip install -e '.[export]'" in capsys.readouterr().err
