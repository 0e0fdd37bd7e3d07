"""posetrack-pose and posetrack-weights from the command line: outputs and exit codes."""
import json

import cv2
import numpy as np
import pytest

from apps import pose_image, weights
from tests.shared_data import PARITY_DIR, shared_path
from tracker.io.render import track_color

ONNX = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
BOX = ["280.79", "44.73", "218.7", "346.68"]
COCO_TESTDATA = ("data", "mmpose-testdata", "coco")
POSETRACK_ANNOTATIONS = ("data", "mmpose-testdata", "posetrack18", "annotations")


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


def _coco_detections():
    """mmpose's COCO detection results: 118 boxes of 4 images (22 of image 785)."""
    path = shared_path(*COCO_TESTDATA, "test_coco_det_AP_H_56.json")
    return path, json.loads(path.read_text())


def _xywh(persons):
    return sorted(tuple(np.round(p["bbox_xywh"], 3)) for p in persons)


@pytest.mark.parametrize("extra,image_id,min_score", [
    ([], 785, 0.3),                                     # the number in a COCO file name
    (["--min-box-score", "0"], 785, 0.0),
    (["--image-id", "40083", "--min-box-score", "0.5"], 40083, 0.5),
    (["--images", "test_coco.json"], 785, 0.3),         # the annotation file's images list
])
def test_coco_detections_of_several_images_give_this_images_boxes(tmp_path, capsys, extra,
                                                                  image_id, min_score):
    detections, entries = _coco_detections()
    extra = [str(shared_path(*COCO_TESTDATA, e)) if e.endswith(".json") else e for e in extra]
    out = tmp_path / "poses.json"
    assert pose_image.main([_image(), *_model_args(), "--boxes", str(detections), "--no-flip",
                            "--out", str(out), *extra]) == 0
    expected = [e["bbox"] for e in entries if e["image_id"] == image_id
                and e["score"] >= min_score]
    persons = json.loads(out.read_text())["persons"]
    assert 0 < len(persons) == len(expected) < 118
    assert _xywh(persons) == sorted(tuple(np.round(b, 3)) for b in expected)
    assert min(p["bbox_score"] for p in persons) >= min_score
    assert f"boxes of image_id {image_id} in {detections}" in capsys.readouterr().err


def test_posetrack18_frames_of_the_same_name_are_told_apart_by_their_folder(tmp_path):
    annotations = shared_path(*POSETRACK_ANNOTATIONS)
    image = annotations.parent / "images" / "val" / "009473_mpii_test" / "000000.jpg"
    detections = annotations / "test_posetrack18_human_detections.json"
    out = tmp_path / "poses.json"
    assert pose_image.main([str(image), *_model_args(), "--boxes", str(detections), "--images",
                            str(annotations / "test_posetrack18_val.json"), "--no-flip",
                            "--min-box-score", "0.5", "--out", str(out)]) == 0
    expected = [e["bbox"] for e in json.loads(detections.read_text())
                if e["image_id"] == 10094730000 and e["score"] >= 0.5]
    assert _xywh(json.loads(out.read_text())["persons"]) == sorted(
        tuple(np.round(b, 3)) for b in expected)


def test_a_results_mapping_with_its_own_images_list(tmp_path):
    """{"images", "annotations"}: the file's own list names the images (two 000000.jpg)."""
    image = tmp_path / "seq_b" / "000000.jpg"
    image.parent.mkdir()
    image.write_bytes(open(_image(), "rb").read())
    boxes = tmp_path / "dets.json"
    boxes.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "val/seq_a/000000.jpg"},
                   {"id": 2, "file_name": "val/seq_b/000000.jpg"}],
        "annotations": [{"image_id": 1, "bbox": [0, 0, 50, 50], "score": 0.9},
                        {"image_id": 2, "bbox": [280.79, 44.73, 218.7, 346.68], "score": 0.8},
                        {"image_id": 2, "bbox": [0, 0, 9, 9], "score": 0.9,
                         "category_id": 3}]}))    # not a person
    out = tmp_path / "poses.json"
    assert pose_image.main([str(image), *_model_args(), "--boxes", str(boxes), "--no-flip",
                            "--out", str(out)]) == 0
    persons = json.loads(out.read_text())["persons"]
    assert _xywh(persons) == [(280.79, 44.73, 218.7, 346.68)]


@pytest.mark.parametrize("image_name,extra,message", [
    ("photo.jpg", [], "{det}: has detections of 4 images (image ids 785, 197388, 40083, "
     "196141) and none can be chosen for {image}: pass --image-id N, or --images"),
    ("000000000123.jpg", [], "{det}: no detection has image_id 123 (the number in the file "
     "name of {image})"),
    ("photo.jpg", ["--image-id", "5"], "{det}: no detection has image_id 5 (--image-id for "
     "{image}); the file has image ids 785, 197388"),
    ("photo.jpg", ["--images", "test_coco.json"], "{images}: image {image} is none of its 4 "
     "images"),
])
def test_an_image_that_is_not_in_the_detections_is_an_error_naming_both(
        tmp_path, capsys, image_name, extra, message):
    detections, _ = _coco_detections()
    image = tmp_path / image_name
    image.write_bytes(open(_image(), "rb").read())
    images = shared_path(*COCO_TESTDATA, "test_coco.json")
    extra = [str(images) if e == "test_coco.json" else e for e in extra]
    assert pose_image.main([str(image), *_model_args(), "--boxes", str(detections),
                            *extra]) == 1
    err = capsys.readouterr().err
    assert err.startswith("posetrack-pose: error: ") and err.count("\n") == 1
    assert message.format(det=detections, image=image, images=images) in err


def test_image_id_needs_a_results_file(tmp_path, capsys):
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps([[280.79, 44.73, 218.7, 346.68]]))
    assert pose_image.main([_image(), *_model_args(), "--boxes", str(boxes), "--image-id",
                            "785"]) == 1
    assert "no entry has an 'image_id'" in capsys.readouterr().err
    for argv in (["--image-id", "785"], ["--boxes", str(boxes), "--min-box-score", "1.5"]):
        with pytest.raises(SystemExit) as info:
            pose_image.main([_image(), *_model_args(), *argv])
        assert info.value.code == 2


def test_render_draws_the_skeleton_in_the_persons_colour(tmp_path):
    out, render = tmp_path / "poses.json", tmp_path / "poses.png"
    assert pose_image.main([_image(), *_model_args(), "--box", *BOX, "--out", str(out),
                            "--render", str(render)]) == 0
    person = json.loads(out.read_text())["persons"][0]
    names = json.loads(out.read_text())["keypoint_names"]
    canvas = cv2.imread(str(render)).astype(int)
    color = np.array(track_color(0))
    for a, b in (("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
                 ("left_hip", "left_knee")):            # on the skier's dark trousers
        (xa, ya, _), (xb, yb, _) = person["keypoints"][names.index(a)], \
            person["keypoints"][names.index(b)]
        x, y = int(round((xa + xb) / 2)), int(round((ya + yb) / 2))
        window = canvas[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3)
        assert np.abs(window - color).sum(axis=1).min() < 60, (a, b)


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


def _strict_json(text):
    """``json.loads`` that rejects the NaN/Infinity tokens strict JSON parsers refuse."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def test_a_box_that_cannot_be_posed_is_strict_json_with_zero_scores(tmp_path):
    out = tmp_path / "poses.json"
    assert pose_image.main([_image(), *_model_args(), "--box", *BOX, "--box", "5", "5", "0",
                            "0", "--box", "5", "5", "-3", "10", "--out", str(out)]) == 0
    persons = _strict_json(out.read_text())["persons"]
    assert np.isfinite(persons[0]["keypoints"]).all()
    for person in persons[1:]:
        assert all(k == [None, None, 0.0] for k in person["keypoints"])


@pytest.mark.parametrize("entries,message", [
    ([[0, 0, 1e308, 1e308]], "entry 0: 'bbox' is out of range: [0, 0, 1e+308, 1e+308] (x, y, "
                             "x + width and y + height must have magnitude below 1,000,000 px)"),
    ([[1, 2, 3, 4], {"bbox": [1, 2, 3, 4], "score": 0.5}, {"bbox": [float("nan"), 0, 5, 5]}],
     "entry 2: 'bbox' has a non-finite value: [nan, 0, 5, 5]"),
    ([{"bbox": [1, 2, 3, 4], "score": float("inf")}], "entry 0: 'score' must be a finite"),
    ([{"image_id": 785, "bbox": [1, 2, 3, 4]}, {"image_id": 785, "bbox": [999999, 0, 2, 5]}],
     "entry 1: 'bbox' is out of range: [999999"),
], ids=["huge", "nan", "infinite_score", "coco_results_huge"])
def test_boxes_file_numbers_are_checked_at_load(tmp_path, capsys, entries, message):
    boxes, out = tmp_path / "boxes.json", tmp_path / "poses.json"
    boxes.write_text(json.dumps(entries))
    out.write_bytes(b"earlier result")
    assert pose_image.main([_image(), *_model_args(), "--boxes", str(boxes),
                            "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"posetrack-pose: error: {boxes}: ")
    assert message in err
    assert out.read_bytes() == b"earlier result"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("box,message", [
    (["0", "0", "1e308", "1e308"], "--box is out of range: [0.0, 0.0, 1e+308, 1e+308]"),
    (["nan", "0", "10", "10"], "--box has a non-finite value: [nan, 0.0, 10.0, 10.0]"),
])
def test_box_flag_numbers_are_checked(capsys, box, message):
    with pytest.raises(SystemExit) as info:
        pose_image.main([_image(), *_model_args(), "--box", *box])
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_json_numbers_turn_non_finite_values_into_null():
    assert pose_image.json_numbers([1.5, float("nan"), float("inf"), np.float32(2)]) == \
        [1.5, None, None, 2.0]
