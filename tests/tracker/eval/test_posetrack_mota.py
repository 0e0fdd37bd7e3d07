"""Tracking metrics: hand-computed MOTA/MOTP cases, motmetrics parity, spec §10 sanity runs."""
import math

import numpy as np
import pytest

from tests.shared_data import shared_path
from tests.tracker.eval.cases import (MMPOSE_VAL, SANITY_CASES, SINGLE_SEQUENCE_CASES,
                                      build_case, person, sanity_gt, video, write_dirs)
from tracker.eval import (MotCounts, accumulate_sequence, evaluate, evaluate_sequences,
                          load_sequences, mot_metrics)
from tests.tracker.eval.poseval_reference import reference_evaluate

FAR = 1000  # x of a person far from everybody else (never within 15 px of another joint)


def _run(tmp_path, gt_frames, pred_frames, **kwargs):
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video(gt_frames, **kwargs)},
                                  {"s": video(pred_frames)})
    return evaluate(gt_dir, pred_dir)


def _counts(tmp_path, gt_frames, pred_frames) -> MotCounts:
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video(gt_frames)}, {"s": video(pred_frames)})
    (seq,) = load_sequences(gt_dir, pred_dir)
    return accumulate_sequence(seq.frames)


A, B = (100, 100), (400, 100)   # two people 300 px apart

# (name, GT frames, prediction frames, MOTA, MOTP, MOTP legacy, precision, recall), same on
# every joint. 4 frames each: the last one never counts. Matched pairs at distance 0 unless
# said; a 3 px offset is 3 / 30 = 0.1 head sizes.
HAND_CASES = [
    # 2 people tracked perfectly: 6 objects, 6 matches, no other candidate pair.
    ("perfect_track", [[person(1, *A), person(2, *B)]] * 4,
     [[person(7, *A), person(8, *B)]] * 4, 100.0, 100.0, 100.0, 100.0, 100.0),
    # person 2 never predicted: 3 misses of 6 objects -> MOTA 50, recall 50.
    ("missed_person", [[person(1, *A), person(2, *B)]] * 4, [[person(7, *A)]] * 4,
     50.0, 100.0, 100.0, 100.0, 50.0),
    # one extra prediction far away: 3 FPs, 6 objects -> MOTA 50, precision 6/9.
    ("false_positive", [[person(1, *A), person(2, *B)]] * 4,
     [[person(7, *A), person(8, *B), person(9, FAR, 500)]] * 4,
     50.0, 100.0, 100.0, 200 / 3, 100.0),
    # id 7 -> 8 from frame 2, predictions 3 px off (d = 0.1): 3 objects, 1 switch -> MOTA
    # 2/3. D column: 3 RAW rows + 3 MATCH/SWITCH rows + 1 ASCEND row (8 never seen) = 0.7
    # -> MOTP 100 (1 - 0.7 / 3); legacy 100 (1 - 0.3 / 3) = 90.
    ("one_id_switch", [[person(1, *A)]] * 4,
     [[person(7, A[0] + 3, A[1])]] * 2 + [[person(8, A[0] + 3, A[1])]] * 2,
     200 / 3, 100 * (1 - 0.7 / 3), 90.0, 100.0, 100.0),
    # hypothesis 7 moves from person 1 to person 2, who was never matched before:
    # frame 0: 1-7 match, 2 missed; frame 1: person 1 gone, 2-7 MATCH (not a switch: 2 had no
    # earlier match) + TRANSFER + MIGRATE rows. 3 objects, 1 miss -> MOTA 2/3; D = 2 RAW +
    # 2 MATCH + TRANSFER + MIGRATE = 0.6 over 2 detections -> MOTP 70, legacy 90.
    ("transfer_migrate", [[person(1, *A), person(2, *B)], [person(2, *B)], [person(2, *B)]],
     [[person(7, A[0] + 3, A[1])], [person(7, B[0] + 3, B[1])], []],
     200 / 3, 70.0, 90.0, 100.0, 200 / 3),
    # frame 1 without any prediction: 1 fake miss + 1 fake FP per joint, whatever the number
    # of GT people: objects 2 + 1 + 2 = 5, errors 2 -> MOTA 60; precision 4/5, recall 4/5.
    ("empty_prediction_frame", [[person(1, *A), person(2, *B)]] * 4,
     [[person(7, *A), person(8, *B)], [], [person(7, *A), person(8, *B)],
      [person(7, *A), person(8, *B)]], 60.0, 100.0, 100.0, 80.0, 80.0),
    # errors only in the last frame are never counted.
    ("error_in_last_frame", [[person(1, *A)]] * 4,
     [[person(7, *A)]] * 3 + [[person(9, FAR, 500)]], 100.0, 100.0, 100.0, 100.0, 100.0),
]


@pytest.mark.parametrize("name, gt, pred, mota, motp, legacy, prec, rec", HAND_CASES,
                         ids=[c[0] for c in HAND_CASES])
def test_hand_computed_cases(tmp_path, name, gt, pred, mota, motp, legacy, prec, rec):
    r = _run(tmp_path, gt, pred)
    for per_joint, want in ((r.mota_per_joint, mota), (r.motp_per_joint, motp),
                            (r.motp_legacy_per_joint, legacy),
                            (r.precision_per_joint, prec), (r.recall_per_joint, rec)):
        np.testing.assert_allclose(per_joint, want, rtol=0, atol=1e-9)
    assert r.mota["total"] == pytest.approx(mota, abs=1e-9)
    assert r.motp == pytest.approx(motp, abs=1e-9)


def test_previous_match_is_kept_even_if_a_closer_hypothesis_appears(tmp_path):
    # frame 0: person 1 <- hyp 7 at 6 px (d 0.2). frame 1: hyp 7 still at 6 px and hyp 8 at
    # 0 px. motmetrics keeps 1-7 (no switch) and 8 is an FP; plain Hungarian would switch.
    counts = _counts(tmp_path, [[person(1, *A)]] * 3,
                     [[person(7, A[0] + 6, A[1])],
                      [person(7, A[0] + 6, A[1]), person(8, *A)], []])
    assert counts.switches.tolist() == [0] * 15
    assert counts.false_positives.tolist() == [1] * 15
    assert counts.detections.tolist() == [2] * 15


def test_switch_back_to_an_earlier_hypothesis_is_a_switch(tmp_path):
    # ids 7, 8, 7 on one person: two switches (max_switch_time = inf), one ASCEND (8 new).
    counts = _counts(tmp_path, [[person(1, *A)]] * 4,
                     [[person(7, *A)], [person(8, *A)], [person(7, *A)], []])
    assert counts.switches.tolist() == [2] * 15
    assert counts.misses.sum() == counts.false_positives.sum() == 0


def test_frame_without_gt_after_ignore_regions_is_one_fake_miss_and_fp(tmp_path):
    everything = [[(-10, -10), (3000, -10), (3000, 3000), (-10, 3000)]]
    gt_dir, pred_dir = write_dirs(
        tmp_path, {"s": video([[person(1, *A)]] * 3, regions=[None, everything, None])},
        {"s": video([[person(7, *A)]] * 3)})
    (seq,) = load_sequences(gt_dir, pred_dir)
    assert len(seq.frames[1].gt) == 0 and len(seq.frames[1].pred) == 0
    counts = accumulate_sequence(seq.frames)
    assert counts.objects.tolist() == [2] * 15
    assert counts.misses.tolist() == counts.false_positives.tolist() == [1] * 15


def test_metrics_edge_values():
    counts = MotCounts()
    counts.objects[0], counts.misses[0] = 4, 4      # joint 0: all missed, no detections
    m = mot_metrics(counts)
    assert m["mota"][0] == 0.0 and m["motp"][0] == 0.0 and math.isnan(m["precision"][0])
    assert m["recall"][0] == 0.0
    assert math.isnan(m["mota"][1]) and m["motp"][1] == 0.0   # no objects at all


def test_single_frame_sequence_adds_no_events(tmp_path):
    """poseval crashes here (IndexError); we report the sequence and count nothing."""
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video([[person(1, *A)]])},
                                  {"s": video([[person(1, *A)]])})
    r = evaluate(gt_dir, pred_dir)
    assert r.single_frame_sequences == ("s",)
    assert np.isnan(r.mota_per_joint).all() and r.ap["total"] == 100.0


def _random_case(rng, n_frames=8, n_people=5):
    """Crowded people with jitter, id changes, misses and FPs: many ambiguous assignments."""
    gt_frames, pred_frames = [], []
    for t in range(n_frames):
        xs = 100 + 12 * np.arange(n_people) + t           # 12 px apart: 15 px radius overlaps
        gt_frames.append([person(i, x, 100) for i, x in enumerate(xs)])
        ids = rng.permutation(n_people) if rng.random() < 0.3 else np.arange(n_people)
        preds = [person(int(ids[i]), x + rng.normal(0, 6), 100 + rng.normal(0, 6),
                        score=float(rng.choice([0.3, 0.6, 0.9])))
                 for i, x in enumerate(xs) if rng.random() > 0.15]
        if rng.random() < 0.5:
            preds.append(person(99, xs[0] + rng.normal(0, 8), 100, score=0.5))
        pred_frames.append(preds)
    return gt_frames, pred_frames


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_motmetrics_reference_on_ambiguous_crowds(tmp_path, seed):
    gt_frames, pred_frames = _random_case(np.random.default_rng(seed))
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video(gt_frames), "t": video(gt_frames[::-1])},
                                  {"s": video(pred_frames), "t": video(pred_frames[::-1])})
    sequences = load_sequences(gt_dir, pred_dir)
    fast, slow = evaluate_sequences(sequences), reference_evaluate(sequences)
    assert np.nansum(fast.mota_per_joint) != 0
    for name in ("ap_per_joint", "mota_per_joint", "motp_per_joint", "motp_legacy_per_joint",
                 "precision_per_joint", "recall_per_joint"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=0,
                                   atol=1e-9, err_msg=name)


def test_exact_cost_ties_resolved_like_motmetrics_with_scipy(tmp_path):
    # two GT people on the same spot and two predictions on the same spot: every assignment
    # costs the same, so only the solver's tie-breaking decides (then ids move around).
    gt = [[person(1, *A), person(2, *A)]] * 5
    pred = [[person(7, A[0] + 3, A[1]), person(8, A[0] + 3, A[1])],
            [person(8, A[0] + 3, A[1]), person(9, A[0] + 3, A[1])],
            [person(9, A[0] + 3, A[1]), person(7, A[0] + 3, A[1])],
            [person(7, A[0] + 3, A[1])], []]
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video(gt)}, {"s": video(pred)})
    sequences = load_sequences(gt_dir, pred_dir)
    fast, slow = evaluate_sequences(sequences), reference_evaluate(sequences)
    np.testing.assert_array_equal(fast.mota_per_joint, slow.mota_per_joint)
    np.testing.assert_allclose(fast.motp_per_joint, slow.motp_per_joint, rtol=0, atol=1e-12)


def test_per_sequence_results_equal_sequences_alone(tmp_path):
    seq_a = video([[person(1, *A), person(2, *B)]] * 4)
    seq_b = video([[person(1, *A)]] * 4, video_id="000002")
    pred_a = video([[person(7, *A)]] * 2 + [[person(8, *A), person(9, *B)]] * 2)
    pred_b = video([[person(1, *A), person(5, *B)]] * 4, video_id="000002")
    both = evaluate(*write_dirs(tmp_path / "both", {"a": seq_a, "b": seq_b},
                                {"a": pred_a, "b": pred_b}), per_sequence=True)
    for name, gt, pred in (("a", seq_a, pred_a), ("b", seq_b, pred_b)):
        alone = evaluate(*write_dirs(tmp_path / name, {name: gt}, {name: pred}))
        assert both.per_sequence[name].to_dict() == alone.to_dict()
    assert both.mota["total"] != both.per_sequence["a"].mota["total"]


# Spec §10 "Sanity runs": AP groups, MOTA groups, MOTP, Prec, Rec, MOTP legacy (one decimal).
H = [100.0] * 8
SANITY_TABLE = {
    "gt_as_pred": (H, H, 99.4, 100.0, 100.0, 100.0),
    "perfect": (H, H, 99.4, 100.0, 100.0, 100.0),
    "drop_person": ([92.7, 92.6, 91.3, 93.1, 93.4, 100, 100, 94.6],
                    [92.7, 92.6, 91.3, 92.8, 93.1, 100, 100, 94.5], 99.4, 100.0, 94.5, 100.0),
    "swap_ids": (H, [96.7, 96.7, 96.7, 96.4, 96.6, 96.7, 98.9, 96.9], 99.1, 100.0, 100.0, 99.7),
    "fp_person": (H, [100, 100, 100, 100, 100, 90.0, 89.5, 97.3], 99.4, 97.5, 100.0, 100.0),
    "fp_in_ignore": (H, H, 99.4, 100.0, 100.0, 100.0),
    "empty_frame": ([92.2, 92.2, 91.9, 92.1, 92.2, 92.0, 92.2, 92.1],
                    [98.2, 98.2, 97.9, 97.8, 98.1, 97.6, 97.5, 97.9], 99.3, 99.0, 99.0, 100.0),
    "drop_in_last_frame": ([99.3, 99.3, 99.1, 99.5, 99.6, 100, 100, 99.5], H, 99.4, 100.0,
                           100.0, 100.0),
    "unlabeled_preds": (H, H, 99.4, 100.0, 100.0, 100.0),
    "reversed_images": ([29.5, 29.6, 30.1, 28.7, 30.5, 28.7, 28.5, 29.4],
                        [13.3, 13.6, 13.2, 12.8, 16.0, 11.1, 11.7, 13.1], 62.2, 56.6, 56.5,
                        81.4),
    "nan_first_joint": ([62.1, 100, 100, 100, 100, 100, 100, 92.4],
                        [28.6, 100, 100, 100, 100, 100, 100, 85.7], 92.7, 92.9, 92.9, 93.3),
}


@pytest.fixture(scope="module")
def sanity_ground_truth():
    return sanity_gt(shared_path(*MMPOSE_VAL))


def _values(r):
    return (list(r.ap.values()), list(r.mota.values()), r.motp, r.precision, r.recall,
            r.motp_legacy)


@pytest.mark.parametrize("case", list(SANITY_TABLE))
def test_spec_sanity_runs(tmp_path, sanity_ground_truth, case):
    gt, pred = build_case(SANITY_CASES[case], sanity_ground_truth)
    gt_dir, pred_dir = write_dirs(tmp_path, gt, pred)
    r = evaluate(gt_dir, pred_dir, allow_nonfinite=case == "nan_first_joint")
    got, want = _values(r), SANITY_TABLE[case]
    np.testing.assert_allclose(np.hstack([np.ravel(v) for v in got]),
                               np.hstack([np.ravel(v) for v in want]), rtol=0, atol=0.05)


def test_fp_in_ignore_case_is_really_inside(sanity_ground_truth):
    import shapely
    from tests.tracker.eval.cases import FP_IGNORE_POINT
    image = sanity_ground_truth["009473_mpii_test"]["images"][0]
    polygons = [shapely.Polygon(list(zip(x, y)))
                for x, y in zip(image["ignore_regions_x"], image["ignore_regions_y"])]
    assert any(p.contains(shapely.Point(FP_IGNORE_POINT)) for p in polygons)


# Extra single-sequence runs (009473 alone): (AP total, MOTA total, MOTP total) or None.
SINGLE_TABLE = {
    "base": (100.0, 100.0, 97.1), "zero_kp_gt": (95.6, 87.5, None),
    "all_ignored": (100.0, 87.5, None), "nan_scores_on_fp": (46.7, 40.0, None),
    "low_scores_on_fp": (53.3, 40.0, None), "reordered_15kp": (100.0, 100.0, None),
    "no_kp_scores": (100.0, 100.0, None), "neg_tid": (100.0, 100.0, None),
}


@pytest.mark.parametrize("case", list(SINGLE_TABLE))
def test_spec_single_sequence_runs(tmp_path, sanity_ground_truth, case):
    gt, pred = build_case(SINGLE_SEQUENCE_CASES[case],
                          {"009473_mpii_test": sanity_ground_truth["009473_mpii_test"]})
    r = evaluate(*write_dirs(tmp_path, gt, pred))
    ap, mota, motp = SINGLE_TABLE[case]
    assert r.ap["total"] == pytest.approx(ap, abs=0.05)
    assert r.mota["total"] == pytest.approx(mota, abs=0.05)
    if motp is not None:
        assert r.motp == pytest.approx(motp, abs=0.05)
    if case == "all_ignored":   # 15 misses + 15 FPs from the emptied frame
        assert r.mota_per_joint.min() < 100


def test_spec_origin_keypoint(tmp_path, sanity_ground_truth):
    gt, pred = build_case(SINGLE_SEQUENCE_CASES["origin_kp"],
                          {"009473_mpii_test": sanity_ground_truth["009473_mpii_test"]})
    r = evaluate(*write_dirs(tmp_path, gt, pred))
    assert r.ap["head"] == pytest.approx(66.7, abs=0.05)
    assert r.mota["head"] == pytest.approx(33.3, abs=0.05)


BONN_WITH_HEAD_BOXES = ("000001", "000026", "47476901", "5997927", "8454334")


def test_bonn_ground_truth_against_itself(tmp_path):
    """Spec §10 "Real multi-frame data check" on the 5 Bonn sequences that have bbox_head:
    noses are never annotated, so nose AP is 0 (Head 66.7, Total 93.3), nose MOTA is NaN
    (Head NaN, Total 100) and nose MOTP 0 (legacy Total 14/15 = 93.3)."""
    bonn = shared_path("data", "bonn-posetrack", "train")
    for seq in BONN_WITH_HEAD_BOXES:
        (tmp_path / f"{seq}_bonn_train.json").symlink_to(bonn / f"{seq}_bonn_train.json")
    sequences = load_sequences(tmp_path, tmp_path)
    r = evaluate_sequences(sequences)
    assert r.ap["head"] == pytest.approx(66.7, abs=0.05)
    assert r.ap["total"] == pytest.approx(93.3, abs=0.05)
    assert all(v == 100.0 for k, v in r.ap.items() if k not in ("head", "total"))
    assert math.isnan(r.mota["head"]) and r.mota["total"] == 100.0
    assert r.precision == 100.0 and r.recall == 100.0
    assert r.motp_legacy == pytest.approx(1400 / 15)
    assert r.motp == pytest.approx(92.7, abs=0.05)   # here too (candidate pairs' RAW rows)
    slow = reference_evaluate(sequences)
    np.testing.assert_allclose(r.motp_per_joint, slow.motp_per_joint, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(r.mota_per_joint, slow.mota_per_joint)
