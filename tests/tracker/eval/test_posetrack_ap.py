"""Per-frame pose AP: hand-computed cases, PCKh assignment rules, poseval/mmpose parity."""
import json
import math

import numpy as np
import pytest

from tests.shared_data import shared_path
from tests.tracker.eval.cases import MMPOSE_VAL, NAMES17, person, video, write_dirs
from tracker.eval import evaluate, load_sequences
from tracker.eval.posetrack_ap import (assign_people, average_precision, frame_labels,
                                       pair_distances)

A, B, FAR = (100, 100), (400, 100), (1000, 500)


def _ap(tmp_path, gt_frames, pred_frames):
    return evaluate(*write_dirs(tmp_path, {"s": video(gt_frames)},
                                {"s": video(pred_frames)}), tracking=False)


# (name, GT people, predicted people, AP on every joint). One frame each.
HAND_CASES = [
    # both people found: every ranked joint is a TP -> AP 100.
    ("perfect", [person(1, *A), person(2, *B)], [person(1, *A), person(2, *B)], 100.0),
    # one of 2 people found: precision 1 up to recall 1/2 -> AP 50.
    ("missed_person", [person(1, *A), person(2, *B)], [person(1, *A)], 50.0),
    # FP ranked above the TP: ranking FP (P 0, R 0), TP (P 1/2, R 1) -> envelope 1/2 -> 50.
    ("fp_above_tp", [person(1, *A)], [person(1, *A, score=0.5), person(2, *FAR, score=0.9)],
     50.0),
    # FP ranked below the TP: TP (P 1, R 1) first -> AP 100.
    ("fp_below_tp", [person(1, *A)], [person(1, *A, score=0.9), person(2, *FAR, score=0.1)],
     100.0),
    # assignment is by PCKh, not score: P0 (score 0.2) hits all 15 joints, P1 (score 0.9,
    # 10 px off = 0.33 head sizes, still a hit) too; equal PCKh -> lowest index P0 wins and
    # P1 is all FP although it is close. Ranking P1 (FP), P0 (TP) -> AP 50.
    ("pckh_not_score", [person(1, *A)],
     [person(1, *A, score=0.2), person(2, A[0] + 10, A[1], score=0.9)], 50.0),
]


@pytest.mark.parametrize("name, gt, pred, want", HAND_CASES, ids=[c[0] for c in HAND_CASES])
def test_hand_computed_ap(tmp_path, name, gt, pred, want):
    r = _ap(tmp_path, [gt], [pred])
    np.testing.assert_allclose(r.ap_per_joint, want, rtol=0, atol=1e-9)
    assert r.mota is None


def test_average_precision_by_hand():
    # ranking (desc score): TP, FP, TP, FP with 3 GT: P = 1, 1/2, 2/3, 1/2; R = 1/3, 1/3, 2/3,
    # 2/3; envelope 1, 2/3, 2/3 -> AP = 1/3 * 1 + 1/3 * 2/3 = 5/9.
    ap, prec, rec = average_precision(np.array([0.9, 0.8, 0.7, 0.6]),
                                      np.array([True, False, True, False]), 3.0)
    assert ap == pytest.approx(500 / 9) and prec == 50.0 and rec == pytest.approx(200 / 3)
    assert average_precision(np.zeros(0), np.zeros(0, bool), 3.0) == (0.0, 0.0, 0.0)
    assert math.isnan(average_precision(np.array([0.5]), np.array([False]), 0.0)[0])


def test_nan_scores_rank_first_and_ties_are_reverse_order():
    # NaN sorts last in argsort, so it comes first after reversing: FP(NaN) then TP -> 50.
    assert average_precision(np.array([0.9, np.nan]), np.array([True, False]), 1.0)[0] == 50.0
    # all-equal scores come out in reversed insertion order: the last (TP) first -> 100.
    assert average_precision(np.array([0.5, 0.5]), np.array([False, True]), 1.0)[0] == 100.0
    assert average_precision(np.array([0.5, 0.5]), np.array([True, False]), 1.0)[0] == 50.0


def test_loser_of_its_preferred_gt_is_not_reassigned(tmp_path):
    # P0 = GT 1 exactly; P1 has its upper body (8 joints) on GT 1 and hips, legs and left
    # wrist (7 joints) on GT 2, so it prefers GT 1 (8/15 > 7/15), loses it to P0 (15/15) and
    # is not reassigned to GT 2: all its joints are FPs and GT 2 is missed.
    legs = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
            "left_wrist")
    p1 = person(3, *A, overrides={name: (400 - 100 + dx, dy) for name, (dx, dy) in
                                  [("left_hip", (30, 240)), ("right_hip", (-30, 240)),
                                   ("left_knee", (30, 300)), ("right_knee", (-30, 300)),
                                   ("left_ankle", (30, 360)), ("right_ankle", (-30, 360)),
                                   ("left_wrist", (70, 200))]})
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video([[person(1, *A), person(2, *B)]])},
                                  {"s": video([[person(4, *A), p1]])})
    (seq,) = load_sequences(gt_dir, pred_dir)
    frame = seq.frames[0]
    match = pair_distances(frame.gt, frame.pred) <= 0.5
    assert match[1, 0].sum() == 15 - len(legs) and match[1, 1].sum() == len(legs)
    assert assign_people(match, frame.gt.present).tolist() == [0, -1]
    labels = frame_labels(frame.gt, frame.pred)
    assert labels[0].all() and not labels[1].any()


def test_joint_without_predictions_is_zero_and_without_gt_is_nan(tmp_path):
    # noses never predicted: nose AP 0, counted in Total (14 x 100 / 15).
    r = _ap(tmp_path / "a", [[person(1, *A)]], [[person(1, *A, drop=("nose",))]])
    assert r.ap_per_joint[13] == 0.0
    assert r.ap["head"] == pytest.approx(200 / 3) and r.ap["total"] == pytest.approx(1400 / 15)
    # noses predicted but never annotated: nose AP NaN -> Head NaN, Total over 14 joints.
    r = _ap(tmp_path / "b", [[person(1, *A, drop=("nose",))]], [[person(1, *A)]])
    assert math.isnan(r.ap_per_joint[13]) and math.isnan(r.ap["head"])
    assert r.ap["total"] == 100.0
    assert r.to_dict()["ap"]["head"] is None


def test_no_score_threshold_and_missing_scores(tmp_path):
    # without scores every joint scores -9999 (ties); a GT-as-prediction still gives 100.
    r = _ap(tmp_path, [[person(1, *A), person(2, *B)]],
            [[person(1, *A, score=None), person(2, *B, score=None)]])
    assert r.ap["total"] == 100.0


def test_mmpose_one_frame_files_ground_truth_as_prediction():
    """Spec §10 "gt1f": the real 1-frame val files against themselves, AP 100 x 8."""
    val = shared_path(*MMPOSE_VAL)
    r = evaluate(val, val, tracking=False)
    assert list(r.ap.values()) == [100.0] * 8


def _mmpose_prediction_files(fixture_dir, data_root, case, folder):
    """Prediction files as mmpose's PoseTrack18 evaluate() writes them (spec §9): per GT
    file, its images (id, file_name), the 17 COCO-order names, and per kept person (after
    rescoring + OKS-NMS, in keep order) keypoints (x, y, score), scores, score, track_id."""
    val = data_root / "posetrack18" / "annotations" / "val"
    coco = json.loads((data_root / "posetrack18" / "annotations" /
                       "test_posetrack18_val.json").read_text())
    image_id = {image["file_name"]: image["id"] for image in coco["images"]}
    preds = json.loads((fixture_dir / case["predictions_file"]).read_text())
    persons = {(image_id[p["image_file"]], p["bbox_id"]): p for p in preds["persons"]}
    kept = {}
    for k in case["kept_after_rescore_and_oks_nms"]:
        kept.setdefault(k["image_id"], []).append(k)
    folder.mkdir()
    for gt_file in sorted(val.glob("*.json")):
        images = json.loads(gt_file.read_text())["images"]
        annotations = []
        for image in images:
            for k in kept.get(image["id"], []):
                keypoints = persons[(image["id"], k["bbox_id"])]["keypoints"]
                annotations.append({"image_id": image["id"], "track_id": k["track_id"],
                                    "keypoints": [v for kp in keypoints for v in kp],
                                    "scores": [kp[2] for kp in keypoints], "score": k["score"]})
        (folder / gt_file.name).write_text(json.dumps({
            "images": [{"id": im["id"], "file_name": im["file_name"]} for im in images],
            "categories": [{"id": 1, "name": "person", "keypoints": NAMES17}],
            "annotations": annotations}))
    return val


@pytest.mark.parametrize("variant", ["gt_bbox", "det_bbox"])
def test_reproduces_mmpose_poseval_fixture_exactly(tmp_path, variant):
    """bench-metrics/posetrack18.json: poseval AP via mmpose 0.29 evaluate(), compared ==."""
    fixture_dir = shared_path("fixtures", "bench-metrics")
    data_root = shared_path("data", "mmpose-testdata")
    fixture = json.loads((fixture_dir / "posetrack18.json").read_text())
    (case,) = [c for c in fixture["cases"] if c["variant"] == variant]
    gt_dir = _mmpose_prediction_files(fixture_dir, data_root, case, tmp_path / "pred")
    r = evaluate(gt_dir, tmp_path / "pred", tracking=False)
    want = case["metrics"]   # Head AP, Shou AP, ..., Total AP
    assert list(r.ap.values()) == list(want.values())
