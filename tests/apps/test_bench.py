"""posetrack-bench end to end: real poses on COCO-mini, every family's outputs, bad input."""
import contextlib
import io
import json
import re

import numpy as np
import pytest

from apps import bench
from tests.shared_data import shared_path
from tracker.image_eval import evaluate_predictions

ONNX = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
COCO_MINI = ("data", "coco-mini-val2017")
TESTDATA = ("data", "mmpose-testdata")
DERIVED = ("fixtures", "bench-metrics", "derived")


def _pycocotools_ap(annotation_file, results_file) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(annotation_file))
        evaluator = COCOeval(gt, gt.loadRes(str(results_file)), "keypoints")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0])


@pytest.mark.slow
def test_coco_mini_with_pp_tinypose_and_gt_boxes(tmp_path, capsys):
    root = shared_path(*COCO_MINI)
    out = tmp_path / "out"
    code = bench.main(["coco", "--data-root", str(root), "--model", "pp_tinypose_256x192",
                       "--checkpoint", str(shared_path(*ONNX)), "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    ap = report["metrics"]["AP"]
    assert report["num_persons"] == 68 and report["num_images"] == 32
    assert ap >= 0.60, f"COCO keypoint AP {ap:.3f} < 0.60"
    persons = json.loads((out / "persons.json").read_text())
    annotation = root / "annotations" / "person_keypoints_val2017.json"
    assert abs(evaluate_predictions("coco", annotation, persons)["AP"] - ap) <= 0.005
    assert abs(_pycocotools_ap(annotation, out / "result_keypoints.json") - ap) <= 0.005
    printed = capsys.readouterr().out
    assert "| AP | AP50 | AP75 | AR | AR50 |" in printed and f"| {ap:.3f} |" in printed


@pytest.mark.slow
def test_posetrack18_scores_a_coco_model_with_the_posetrack_run_head_mapping(tmp_path, capsys):
    """PP-TinyPose (COCO keypoints) on mmpose's PoseTrack18 val frames, GT boxes: its eyes are
    not scored as head_bottom/head_top (Head AP 37.3 that way) but mapped (69.9)."""
    root = shared_path(*TESTDATA, "posetrack18")
    annotation = root / "annotations" / "test_posetrack18_val.json"
    out = tmp_path / "out"
    code = bench.main(["posetrack18", "--data-root", str(root), "--ann-file", str(annotation),
                       "--gt", str(root / "annotations" / "val"), "--model",
                       "pp_tinypose_256x192", "--checkpoint", str(shared_path(*ONNX)),
                       "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    metrics = report["metrics"]
    assert report["num_persons"] == 14 and report["keypoint_mapping"].startswith("COCO keypoints")
    assert metrics["Head AP"] >= 60 and metrics["Total AP"] >= 65, metrics
    persons = json.loads((out / "persons.json").read_text())
    for person in persons:               # head_bottom = S + 0.27 (N - S), as posetrack-run
        keypoints = np.array(person["keypoints"])
        shoulders = keypoints[[5, 6], :2].mean(axis=0)
        np.testing.assert_allclose(keypoints[1, :2],
                                   shoulders + 0.27 * (keypoints[0, :2] - shoulders), atol=1e-3)
    rescored = evaluate_predictions("posetrack18", annotation, persons,
                                    gt_path=root / "annotations" / "val")
    assert rescored == pytest.approx(metrics)
    printed = capsys.readouterr().out
    assert "COCO keypoints mapped to PoseTrack18" in printed and "| Head | Shou |" in printed


@pytest.fixture
def no_inference(monkeypatch):
    """Fails the test if the model is loaded: bad input must stop before inference."""
    import tracker.pose

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the input was checked")
    monkeypatch.setattr(tracker.pose, "load_pose_model", refuse)


def _coco_args(*extra):
    return ["coco", "--data-root", str(shared_path(*COCO_MINI)), "--model",
            "pp_tinypose_256x192", *extra]


def _detections(tmp_path, image_id):
    path = tmp_path / "detections.json"
    path.write_text(json.dumps([{"image_id": image_id, "category_id": 1,
                                 "bbox": [10, 10, 50, 100], "score": 0.9}]))
    return str(path)


def _mpii_layout(annotation):
    folder = shared_path(*TESTDATA, "mpii")
    return ["--data-root", str(folder), "--ann-file", str(folder / annotation),
            "--img-prefix", str(folder)]


def _one_posetrack_frame(tmp_path):
    """mmpose's PoseTrack18 val file cut to its one-person frame (the GT folder stays)."""
    data = json.loads(shared_path(*TESTDATA, "posetrack18", "annotations",
                                  "test_posetrack18_val.json").read_text())
    data["images"] = [image for image in data["images"] if image["id"] == 10034180000]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] == 10034180000]
    path = tmp_path / "posetrack18_val.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("make_args,message", [
    (lambda tmp: ["coco", "--data-root", str(tmp / "none"), "--model", "pp_tinypose_256x192"],
     "data root .*none is not a folder"),
    (lambda tmp: ["coco", "--data-root", str(tmp), "--model", "pp_tinypose_256x192"],
     "annotation file .*person_keypoints_val2017.json does not exist"),
    (lambda tmp: _coco_args("--img-prefix", str(tmp)), "image .*jpg does not exist"),
    (lambda tmp: _coco_args("--detections", str(tmp / "none.json")),
     "detection file .*none.json does not exist"),
    (lambda tmp: _coco_args("--detections", _detections(tmp, 999)),
     "image_id 999 is not an image of .* belong to other images"),
    (lambda tmp: ["coco", "--data-root", str(shared_path(*COCO_MINI)), "--model",
                  "res50_mpii_256x256"],
     "predicts 16 keypoints .* scored on the 'coco' keypoint set .* fit: res50_coco_256x192"),
    (lambda tmp: ["posetrack18", "--data-root", str(shared_path(*TESTDATA, "posetrack18")),
                  "--ann-file", str(shared_path(*TESTDATA, "posetrack18", "annotations",
                                                "test_posetrack18_val.json")),
                  "--model", "res50_mpii_256x256"],
     "fit: res50_posetrack18_256x192; and, mapped, the coco models: res50_coco_256x192"),
    (lambda tmp: ["ochuman", "--data-root", str(tmp), "--model", "res50_coco_256x192",
                  "--detections", _detections(tmp, 1)], "--detections: ochuman is scored with"),
    (lambda tmp: ["mpii", *_mpii_layout("test_mpii.json"), "--model", "res50_mpii_256x256"],
     "MPII ground-truth file .*mpii_gt_val.mat does not"),
    (lambda tmp: ["mpii_trb", *_mpii_layout("test_mpii_trb.json"), "--model",
                  "res50_mpii_trb_256x256"], "annotation id .*: headbox: missing"),
])
def test_bad_input_is_exit_1_before_inference(tmp_path, capsys, no_inference, make_args,
                                               message):
    assert bench.main(make_args(tmp_path)) == 1
    error = capsys.readouterr().err
    assert error.startswith("posetrack-bench: error: ") and error.count("\n") == 1
    assert re.search(message, error), error


@pytest.mark.parametrize("argv", [["coco17", "--data-root", ".", "--model", "m"],
                                  ["coco", "--model", "m"],
                                  ["coco", "--data-root", ".", "--model", "m", "--batch-size",
                                   "0"]])
def test_usage_errors_are_exit_2(argv):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(argv)
    assert exit_info.value.code == 2


@pytest.mark.slow
@pytest.mark.parametrize("benchmark,checkpoint,args,outputs", [
    ("mpii", "res50_mpii_256x256-418ffc88_20200812.pth",
     lambda tmp: [*_mpii_layout("test_mpii.json"),
                  "--gt", str(shared_path(*DERIVED, "mpii_gt_val.mat"))], ["pred.mat"]),
    ("posetrack18", "res50_posetrack18_256x192-a62807c7_20201028.pth",
     lambda tmp: ["--data-root", str(shared_path(*TESTDATA, "posetrack18")),
                  "--ann-file", str(_one_posetrack_frame(tmp)), "--gt",
                  str(shared_path(*TESTDATA, "posetrack18", "annotations", "val"))],
     ["preds/003418_mpii_test.json", "preds/009473_mpii_test.json"]),
])
def test_other_families_write_their_results(tmp_path, parity_checkpoints, benchmark,
                                            checkpoint, args, outputs):
    """Synthetic weights (meaningless poses): the whole path runs and writes every output."""
    model = checkpoint.split("-")[0]
    out = tmp_path / "out"
    code = bench.main([benchmark, *args(tmp_path), "--model", model, "--checkpoint",
                       str(parity_checkpoints(checkpoint)), "--out", str(out), "--quiet",
                       "--no-flip"])
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    expected = {"mpii": ["Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "PCKh",
                         "PCKh@0.1"],
                "posetrack18": ["Head AP", "Shou AP", "Elb AP", "Wri AP", "Hip AP", "Knee AP",
                                "Ankl AP", "Total AP"]}[benchmark]
    assert list(report["metrics"]) == expected
    for name in outputs + ["persons.json"]:
        assert (out / name).is_file(), name
