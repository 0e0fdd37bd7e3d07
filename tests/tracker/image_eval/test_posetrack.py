"""PoseTrack18 per-frame mAP: mmpose 0.29's numbers through the project's poseval (tracker.eval)."""
import json

import numpy as np
import pytest

from tests.tracker.image_eval.cases import fixture_params, load_case, mmpose_testdata
from tracker.image_eval import EvalSettings, evaluate_predictions, parse_persons
from tracker.image_eval.coco_style import select_persons
from tracker.image_eval.datasets import ground_truth_persons, load_coco_ground_truth
from tracker.image_eval.posetrack import default_gt_dir
from tracker.pose.zoo import keypoint_sets

ANN = ("posetrack18", "annotations", "test_posetrack18_val.json")


@pytest.mark.parametrize("benchmark,index", fixture_params("posetrack18"))
def test_reproduces_mmpose_metrics(benchmark, index, tmp_path):
    case, predictions = load_case(benchmark, index)
    metrics = evaluate_predictions("posetrack18", mmpose_testdata(*ANN), predictions["persons"],
                                   results_dir=tmp_path, **case["data_cfg"])
    assert list(metrics) == list(case["metrics"])
    for name, expected in case["metrics"].items():
        assert metrics[name] == pytest.approx(expected, abs=1e-9, rel=0), name
    written = sorted(p.name for p in (tmp_path / "preds").iterdir())
    assert written == ["003418_mpii_test.json", "009473_mpii_test.json", "012834_mpii_test.json"]


@pytest.mark.parametrize("benchmark,index", fixture_params("posetrack18"))
def test_prediction_files_hold_mmposes_kept_persons(benchmark, index, tmp_path):
    case, predictions = load_case(benchmark, index)
    evaluate_predictions("posetrack18", mmpose_testdata(*ANN), predictions["persons"],
                         results_dir=tmp_path, **case["data_cfg"])
    written = []
    for path in sorted((tmp_path / "preds").iterdir()):     # the GT files' order
        document = json.loads(path.read_text())
        assert document["categories"][0]["keypoints"][:3] == ["nose", "head_bottom", "head_top"]
        written += [(a["image_id"], a["score"], a["track_id"]) for a in document["annotations"]]
    expected = [(k["image_id"], k["score"], k["track_id"])
                for k in case["kept_after_rescore_and_oks_nms"]]
    assert written == expected


def test_kept_persons_carry_mmposes_bbox_ids():
    case, predictions = load_case("posetrack18", 0)
    truth = load_coco_ground_truth(mmpose_testdata(*ANN))
    persons = parse_persons(predictions["persons"], 17, need_areas=True)
    kept = {(s.image_id, persons.bbox_ids[i], score)
            for s in select_persons(truth, persons, EvalSettings(**case["data_cfg"]),
                                    keypoint_sets()["posetrack18"].oks_sigmas)
            for i, score in zip(s.indices.tolist(), s.scores.tolist())}
    assert kept == {(k["image_id"], k["bbox_id"], k["score"])
                    for k in case["kept_after_rescore_and_oks_nms"]}


def test_perfect_predictions_score_100():
    truth = load_coco_ground_truth(mmpose_testdata(*ANN))
    persons = []
    for image_id, bbox_id, ann, box in ground_truth_persons(truth):
        keypoints = np.array(ann["keypoints"], np.float32).reshape(17, 3)
        labelled = keypoints[:, 2] > 0        # unlabelled: somewhere, scored last (poseval
        keypoints[~labelled, :2] = box[:2]    # reads only exact (0, 0, 0) as "no prediction")
        keypoints[:, 2] = labelled
        persons.append({"image_file": truth.id_to_image[image_id]["file_name"],
                        "bbox_id": bbox_id, "keypoints": keypoints.tolist(), "area": 5e4})
    metrics = evaluate_predictions("posetrack18", truth.path, persons)
    assert metrics["Total AP"] == pytest.approx(100.0)
    assert all(v == pytest.approx(100.0) for v in metrics.values())


def test_gt_folder_follows_mmposes_rule(tmp_path):
    assert default_gt_dir("data/posetrack18/annotations/posetrack18_val.json") == \
        default_gt_dir("data/posetrack18/annotations/x_val.json")
    assert str(default_gt_dir("data/posetrack18/annotations/posetrack18_val.json")) == \
        "data/posetrack18/annotations/val"
    case, predictions = load_case("posetrack18", 0)
    with pytest.raises(FileNotFoundError, match="ground-truth folder"):
        evaluate_predictions("posetrack18", mmpose_testdata(*ANN), predictions["persons"],
                             gt_path=tmp_path / "absent")
