"""posetrack-pose and posetrack-weights from the command line: outputs and exit codes."""
import json

import cv2
import numpy as np
import pytest

from apps import pose_image, weights
from tests.shared_data import PARITY_DIR, shared_path

ONNX = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
BOX = ["280.79", "44.73", "218.7", "346.68"]


def _image():
    return str(shared_path(*PARITY_DIR, "images", "coco", "000000000785.jpg"))


def _model_args():
    return ["--model", "pp_tinypose_256x192", "--checkpoint", str(shared_path(*ONNX))]


def test_writes_poses_and_render(tmp_path):
    out, render = tmp_path / "poses.json", tmp_path / "poses.png"
    code = pose_image.main([_image(), *_model_args(), "--box", *BOX, "--out", str(out),
                            "--render", str(render)])
    assert code == 0
    result = json.loads(out.read_text())
    person = result["persons"][0]
    assert len(result["keypoint_names"]) == 17 and len(person["keypoints"]) == 17
    nose = person["keypoints"][0]
    assert 330 < nose[0] < 400 and 50 < nose[1] < 110 and nose[2] > 0.5  # the skier's face
    assert cv2.imread(str(render)).shape == (425, 640, 3)


def test_boxes_file_in_coco_detection_format(tmp_path):
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps([{"bbox": [280.79, 44.73, 218.7, 346.68], "score": 0.9},
                                 [0, 0, 50, 50]]))
    out = tmp_path / "poses.json"
    assert pose_image.main([_image(), *_model_args(), "--boxes", str(boxes), "--no-flip",
                            "--out", str(out)]) == 0
    persons = json.loads(out.read_text())["persons"]
    assert [p["bbox_score"] for p in persons] == pytest.approx([0.9, 1.0])


@pytest.mark.parametrize("content,message", [
    ("{not json", "is not valid JSON"),
    ('{"bbox": [1, 2, 3, 4]}', "expected a JSON list"),
    ('[[1, 2, 3]]', r"entry 0: expected \[x, y, w, h\]"),
    ('[{"bbox": [1, 2, "a", 4]}]', "entry 0"),
])
def test_bad_boxes_file(tmp_path, capsys, content, message):
    boxes = tmp_path / "boxes.json"
    boxes.write_text(content)
    assert pose_image.main([_image(), *_model_args(), "--boxes", str(boxes)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("posetrack-pose: error: ") and str(boxes) in err
    assert message.split("\\")[0] in err


def test_existing_output_survives_a_failure(tmp_path):
    out = tmp_path / "poses.json"
    out.write_text("previous result")
    code = pose_image.main([_image(), "--model", "res50_coco_256x192", "--checkpoint",
                            str(tmp_path / "missing.pth"), "--out", str(out)])
    assert code == 1 and out.read_text() == "previous result"


def test_unreadable_image(tmp_path, capsys):
    bad = tmp_path / "not_an_image.jpg"
    bad.write_text("hello")
    assert pose_image.main([str(bad), *_model_args()]) == 1
    assert "not_an_image.jpg: not found or not an image" in capsys.readouterr().err


def test_grayscale_image(tmp_path):
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), cv2.imread(_image(), cv2.IMREAD_GRAYSCALE))
    out = tmp_path / "poses.json"
    assert pose_image.main([str(gray), *_model_args(), "--box", *BOX, "--out", str(out)]) == 0
    assert np.isfinite(json.loads(out.read_text())["persons"][0]["keypoints"]).all()


def test_unknown_model_exit_code(capsys):
    assert pose_image.main([_image(), "--model", "res51"]) == 1
    assert "unknown pose model 'res51'" in capsys.readouterr().err


def test_bad_arguments_exit_2():
    with pytest.raises(SystemExit) as info:
        pose_image.main([_image(), "--model", "x", "--box", "1", "2"])
    assert info.value.code == 2


def test_weights_list_and_path(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path))
    assert weights.main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "res50_2deconv_jhmdb_sub3_256x256" in listing and str(tmp_path) in listing
    assert weights.main(["path", "res50_coco_256x192"]) == 0
    assert capsys.readouterr().out.strip() == str(
        tmp_path / "res50_coco_256x192-ec54d7f3_20200709.pth")


def test_weights_download_of_model_without_url(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path))
    assert weights.main(["download", "pp_tinypose_256x192"]) == 1
    assert str(tmp_path / "pp_tinypose_256x192.onnx") in capsys.readouterr().err
