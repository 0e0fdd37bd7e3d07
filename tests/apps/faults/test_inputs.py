"""Bad inputs through the apps' ``main([...])``, end to end (issue 13, items a-f).

Each failing case checks what a user sees: a non-zero exit, exactly one line
``<prog>: error: ...`` naming the file (after the one informational line an app may print
first), an earlier output file left byte for byte as it was, and no hidden temporary file
left in the output folder.
"""
import copy
import json
import pickle

import numpy as np
import pytest

from apps import evaluate, pose_image, run, val
from tests.apps.faults.common import (DETECTOR_ONNX, INFO_PREFIXES, POSE_ONNX, assert_untouched,
                                      earlier_output, one_error_line)
from tests.shared_data import PARITY_DIR, shared_path
from tracker.errors import ConfigError
from tracker.files import read_yaml
from tracker.io.video import SourceError, open_source

POSETRACK = ("data", "mmpose-testdata", "posetrack18")
SEQUENCE = "012834_mpii_test"


def _strict_json(text: str):
    """``json.loads`` refusing the NaN/Infinity tokens that strict JSON parsers reject."""
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token} in the output")
    return json.loads(text, parse_constant=refuse)


def _one_error_line(capsys, prog: str) -> str:
    return one_error_line(capsys.readouterr().err, prog)


# -- (a) posetrack-pose: strict JSON, zero scores, box numbers checked at load ---------------

def _pose_args():
    image = shared_path(*PARITY_DIR, "images", "coco", "000000000785.jpg")
    return [str(image), "--model", "pp_tinypose_256x192", "--checkpoint",
            str(shared_path(*POSE_ONNX))]


def test_pose_output_is_strict_json_with_zero_scores_for_unposable_boxes(tmp_path):
    out = tmp_path / "poses.json"
    assert pose_image.main([*_pose_args(), "--box", "280.79", "44.73", "218.7", "346.68",
                            "--box", "5", "5", "0", "0", "--out", str(out)]) == 0
    good, degenerate = _strict_json(out.read_text())["persons"]
    assert np.isfinite(good["keypoints"]).all()
    assert degenerate["keypoints"] == [[None, None, 0.0]] * 17


@pytest.mark.parametrize("boxes,message", [
    ([[0, 0, 1e308, 1e308]], "entry 0: 'bbox' is out of range: [0, 0, 1e+308, 1e+308]"),
    ([[1, 2, 30, 40], [float("nan"), 0, 10, 10]], "entry 1: 'bbox' has a non-finite value"),
], ids=["1e308", "nan"])
def test_pose_boxes_file_with_unusable_numbers(tmp_path, capsys, boxes, message):
    boxes_file, out = tmp_path / "boxes.json", earlier_output(tmp_path / "out" / "poses.json")
    boxes_file.write_text(json.dumps(boxes))
    assert pose_image.main([*_pose_args(), "--boxes", str(boxes_file), "--out", str(out)]) == 1
    line = _one_error_line(capsys, "posetrack-pose")
    assert f"{boxes_file}: {message}" in line
    assert_untouched(out)


# -- (b) posetrack-eval: an annotation of no image ---------------------------------------------

def _eval_dirs(tmp_path, which: str, image_id):
    gt = json.loads(shared_path(*POSETRACK, "annotations", "val", f"{SEQUENCE}.json")
                    .read_text())
    pred = copy.deepcopy(gt)
    for ann in pred["annotations"]:
        ann["scores"] = [0.9] * 17
    changed = gt if which == "gt" else pred
    changed["annotations"][1]["image_id"] = image_id
    for folder, data in (("gt", gt), ("pred", pred)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{SEQUENCE}.json").write_text(json.dumps(data))
    return tmp_path / "gt", tmp_path / "pred", changed["annotations"][1]["id"]


@pytest.mark.parametrize("which", ["gt", "pred"])
def test_eval_annotation_of_no_image_is_an_error_naming_file_and_annotation(tmp_path, capsys,
                                                                            which):
    gt_dir, pred_dir, annotation_id = _eval_dirs(tmp_path, which, 123456789)
    out = earlier_output(tmp_path / "results" / "metrics.json")
    assert evaluate.main([str(gt_dir), str(pred_dir), "--json", str(out)]) == 1
    line = _one_error_line(capsys, "posetrack-eval")
    folder = gt_dir if which == "gt" else pred_dir
    assert (f"{folder / f'{SEQUENCE}.json'}: annotations[1].image_id: 123456789 (annotation "
            f"id {annotation_id!r}) is the id of no image") in line
    assert_untouched(out)


# -- (c) posetrack-val: the user's GT file is named --------------------------------------------

def test_val_malformed_gt_names_the_users_file(tmp_path, capsys):
    root = tmp_path / "root"
    (root / "annotations" / "val").mkdir(parents=True)
    (root / "images" / "val").mkdir(parents=True)
    (root / "images" / "val" / SEQUENCE).symlink_to(shared_path(*POSETRACK, "images", "val",
                                                                SEQUENCE))
    gt = json.loads(shared_path(*POSETRACK, "annotations", "val", f"{SEQUENCE}.json")
                    .read_text())
    gt["annotations"][0]["track_id"] = 12345         # poseval needs track ids < 10000
    gt_file = root / "annotations" / "val" / f"{SEQUENCE}.json"
    gt_file.write_text(json.dumps(gt))
    metrics = earlier_output(tmp_path / "metrics" / "metrics.json")
    out = tmp_path / "pred"
    assert val.main([str(root), "--out", str(out), "--json", str(metrics), "--quiet",
                     "--pose-model", "pp_tinypose_256x192", "--pose-checkpoint",
                     str(shared_path(*POSE_ONNX))]) == 1
    line = _one_error_line(capsys, "posetrack-val")
    assert line.startswith(f"posetrack-val: error: {gt_file}: annotations[0].track_id: 12345 "
                           "is out of range")
    assert_untouched(metrics)
    assert [p.name for p in out.iterdir()] == [f"{SEQUENCE}.json"]      # kept for a resume


# -- (d) posetrack-run --config: a binary file -------------------------------------------------

def _run_models(pose_model="pp_tinypose_256x192", pose_checkpoint=None):
    return ["--detector-checkpoint", str(shared_path(*DETECTOR_ONNX)),
            "--pose-model", pose_model, "--pose-checkpoint",
            str(pose_checkpoint or shared_path(*POSE_ONNX)), "--quiet"]


def _video():
    return str(shared_path("data", "videos", "basketball-2p-426x240.mp4"))


def test_run_binary_config_is_named(tmp_path, capsys):
    config = tmp_path / "binary.yaml"
    config.write_bytes(b"\x00\xff\xfe garbage")
    out = earlier_output(tmp_path / "out" / "tracks.json")
    assert run.main([_video(), "--out", str(out), "--config", str(config), *_run_models()]) == 1
    line = _one_error_line(capsys, "posetrack-run")
    assert f"{config} is not valid YAML: not UTF-8 text (byte 0xff at offset 1)" in line
    assert_untouched(out)


@pytest.mark.parametrize("content,message", [
    (b"\x00\xff\xfe garbage", "not UTF-8 text (byte 0xff at offset 1)"),
    (b"tracker: {a: 1}\x00", "unacceptable character #x0000 at character 15"),
    (b"\xef\xbb\xbftracker: [\n", "at line 2, column 1"),
], ids=["binary", "nul", "unclosed"])
def test_read_yaml_errors_are_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        read_yaml(path)
    text = str(info.value)
    assert text.startswith(f"{path} is not valid YAML: ") and message in text
    assert "\n" not in text


# -- (e) posetrack-run "": an empty source -----------------------------------------------------

def test_run_empty_source_is_one_clear_line(tmp_path, capsys):
    out = earlier_output(tmp_path / "out" / "tracks.json")
    assert run.main(["", "--out", str(out), *_run_models()]) != 0
    line = _one_error_line(capsys, "posetrack-run")
    assert line == ("posetrack-run: error: empty source: expected a video file, a folder of "
                    "frames, a camera index or a URL")
    assert_untouched(out)


@pytest.mark.parametrize("spec", ["", "  "])
def test_open_source_rejects_an_empty_string(spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)              # the current folder would be a frame folder
    with pytest.raises(SourceError, match="empty source.*: expected a video file, a folder of "
                                          "frames, a camera index or a URL"):
        open_source(spec)


# -- (f) posetrack-run --pose-checkpoint: not a checkpoint -------------------------------------

@pytest.mark.parametrize("content", [
    np.random.default_rng(13).integers(0, 256, 100, np.uint8).tobytes(),
    pickle.dumps([1, 2, 3]),
], ids=["random_bytes", "pickled_list"])
def test_run_random_pth_pose_checkpoint_is_one_line(tmp_path, capsys, content):
    checkpoint = tmp_path / "random.pth"
    checkpoint.write_bytes(content)
    out = earlier_output(tmp_path / "out" / "tracks.json")
    args = [_video(), "--out", str(out), "--max-frames", "1",
            *_run_models("res50_coco_256x192", checkpoint)]
    assert run.main(args) == 1
    err = capsys.readouterr().err
    assert "weights_only" not in err
    lines = [line for line in err.splitlines() if line and not line.startswith(INFO_PREFIXES)]
    assert len(lines) == 1 and lines[0].startswith(
        f"posetrack-run: error: {checkpoint} is not a readable torch checkpoint (truncated, "
        "corrupt or not a .pth file; torch.load failed: UnpicklingError: "), lines
    assert_untouched(out)
