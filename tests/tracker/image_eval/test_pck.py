"""MPII PCKh, MPII-TRB accuracy, Sub-JHMDB PCK/tPCK: mmpose 0.29's numbers, exactly."""
import json

import numpy as np
import pytest
from scipy.io import loadmat

from tests.shared_data import shared_path
from tests.tracker.image_eval.cases import (FIXTURES, annotation_file, evaluate_kwargs,
                                            fixture_params, load_case, mmpose_testdata)
from tracker.image_eval import evaluate_predictions
from tracker.image_eval.datasets import ground_truth_persons, load_coco_ground_truth
from tracker.image_eval.pck import pck_accuracy


@pytest.mark.parametrize("benchmark,index", fixture_params("mpii", "mpii_trb", "jhmdb"))
def test_reproduces_mmpose_metrics_exactly(benchmark, index, tmp_path):
    case, predictions = load_case(benchmark, index)
    metrics = evaluate_predictions(benchmark, annotation_file(benchmark, case, tmp_path),
                                   predictions["persons"], **evaluate_kwargs(benchmark),
                                   **case["data_cfg"])
    assert metrics == case["metrics"]                        # bit for bit
    assert list(metrics) == list(case["metrics"])


def _mpii_gt():
    return loadmat(str(shared_path(*FIXTURES, "derived", "mpii_gt_val.mat")))


def _mpii_persons(offset=(0.0, 0.0)):
    gt = _mpii_gt()["pos_gt_src"]                            # (16, 2, N), 1-based
    return [{"image_file": f"{n}.jpg", "bbox_id": n,
             "keypoints": [[x - 1 + offset[0], y - 1 + offset[1], 0.9] for x, y in gt[:, :, n]]}
            for n in range(gt.shape[2])]


def _mpii(persons, **kwargs):
    return evaluate_predictions("mpii", mmpose_testdata("mpii", "test_mpii.json"), persons,
                                gt_path=shared_path(*FIXTURES, "derived", "mpii_gt_val.mat"),
                                **kwargs)


def test_mpii_perfect_predictions_give_100_and_order_does_not_matter():
    persons = _mpii_persons()
    metrics = _mpii(persons)
    assert all(value == 100.0 for value in metrics.values())
    assert _mpii(persons[::-1]) == metrics


def test_mpii_head_size_normalisation():
    gt = _mpii_gt()
    boxes = gt["headboxes_src"]
    head_sizes = 0.6 * np.linalg.norm(boxes[1] - boxes[0], axis=0)      # (N,)
    # every joint off by 0.4 head sizes along x: a hit at 0.5, a miss at 0.1
    persons = _mpii_persons()
    for n, person in enumerate(persons):
        for point in person["keypoints"]:
            point[0] += 0.4 * head_sizes[n]
    metrics = _mpii(persons)
    assert metrics["PCKh"] == 100.0 and metrics["PCKh@0.1"] == 0.0


def test_mpii_needs_one_prediction_per_person_and_the_mat_file(tmp_path):
    with pytest.raises(ValueError, match="4 distinct bbox_ids, but .* has 5 persons"):
        _mpii(_mpii_persons()[:4])
    with pytest.raises(FileNotFoundError, match="mpii_gt_val.mat"):
        evaluate_predictions("mpii", mmpose_testdata("mpii", "test_mpii.json"), _mpii_persons())
    _mpii(_mpii_persons(), results_dir=tmp_path)
    preds = loadmat(str(tmp_path / "pred.mat"))["preds"]
    np.testing.assert_allclose(preds.transpose(1, 2, 0), _mpii_gt()["pos_gt_src"], atol=1e-4)


def _trb(tmp_path, transform=None, drop_headbox=False):
    case, _ = load_case("mpii_trb", 0)
    path = annotation_file("mpii_trb", case, tmp_path)
    data = json.loads(path.read_text())
    if drop_headbox:
        del data["annotations"][0]["headbox"]
        path.write_text(json.dumps(data))
    persons = []
    for ann in data["annotations"]:
        keypoints = np.array(ann["keypoints"], np.float64).reshape(40, 3)
        keypoints[:, 2] = 0.5
        if transform:
            keypoints = transform(keypoints, ann)
        persons.append({"image_file": "x.jpg", "bbox_id": ann["id"],
                        "keypoints": keypoints.tolist()})
    return evaluate_predictions("mpii_trb", path, persons)


def test_mpii_trb_perfect_and_threshold(tmp_path):
    assert _trb(tmp_path) == {"Skeleton_acc": 1.0, "Contour_acc": 1.0, "PCKh": 1.0}

    def off_by(factor):
        def move(keypoints, ann):
            box = np.array(ann["headbox"])
            keypoints[:, 0] += factor * np.linalg.norm(box[:2] - box[2:])
            return keypoints
        return move
    assert _trb(tmp_path, off_by(0.29))["PCKh"] == 1.0       # < 0.3 x head-box diagonal
    assert _trb(tmp_path, off_by(0.31))["PCKh"] == 0.0
    with pytest.raises(ValueError, match="headbox: missing"):
        _trb(tmp_path, drop_headbox=True)


def _jhmdb(shift_x):
    """Predictions 2 px up-left of the 1-based GT, moved by ``shift_x(box)`` along x."""
    truth = load_coco_ground_truth(mmpose_testdata("jhmdb", "test_jhmdb_sub1.json"))
    persons = []
    for _, bbox_id, ann, box in ground_truth_persons(truth, one_based=True):
        keypoints = np.array(ann["keypoints"], np.float64).reshape(15, 3)
        keypoints[:, :2] -= 2
        keypoints[:, 0] += shift_x(box)
        persons.append({"image_file": "x.png", "bbox_id": bbox_id, "keypoints": keypoints.tolist()})
    return evaluate_predictions("jhmdb", truth.path, persons[::-1])


def test_jhmdb_person_size_threshold_with_mmposes_one_pixel_offset():
    # mmpose scores (prediction + 1) against (GT - 1): a 0-based prediction 2 px up-left of the
    # 1-based GT is exact, so the true 0-based position (GT - 1) is off by (1, 1).
    assert all(value == 1.0 for value in _jhmdb(lambda box: 0.0).values())
    assert _jhmdb(lambda box: 0.2 * max(box[2:]) - 0.5)["Mean PCK"] == 1.0
    assert _jhmdb(lambda box: 0.2 * max(box[2:]) + 0.5)["Mean PCK"] == 0.0


def test_pck_accuracy_masks_and_norms():
    preds = np.array([[[0.0, 0.0], [5.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]]])
    gts = np.zeros((2, 2, 2), np.float32)
    masks = np.array([[True, True], [True, False]])
    acc, mean = pck_accuracy(preds, gts, masks, 0.2, np.array([[10.0, 10.0], [10.0, 10.0]]))
    assert acc.tolist() == [1.0, 0.0] and mean == 0.5      # 5/10 >= 0.2; person 2 joint 1 hidden
    acc, mean = pck_accuracy(preds, gts, masks, 0.2, np.array([[0.0, 0.0], [10.0, 10.0]]))
    assert acc.tolist() == [1.0, -1] and mean == 1.0       # a zero norm masks the person out
