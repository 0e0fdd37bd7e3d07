"""Identity metrics (IDF1, HOTA): hand-computed cases, TrackEval parity, PoseTrack18 inputs."""
import copy
import json
import math

import numpy as np
import pytest

from tests.shared_data import shared_path
from tests.tracker.eval.cases import (MMPOSE_VAL, NAMES17, SANITY_CASES, build_case, person,
                                      sanity_gt, video, write_dirs)
from tracker.eval import evaluate, load_sequences
from tracker.eval.identity import (DEFAULT_ALPHAS, HotaScores, IdentityScores, TrackScores,
                                   hota_scores, identity_scores)
from tracker.boxes import iou_matrix
from tracker.eval.identity_inputs import (POSEVAL_OKS_SIGMAS, identity_inputs, iou_of_pairs,
                                          load_person_boxes, sequence_identity, tight_boxes)
from tracker.eval.posetrack_types import POSEVAL_JOINTS, PoseTrackEvalError
from tracker.files import CONFIG_DIR, read_yaml

A, B = (100, 100), (400, 100)   # two synthetic people 300 px apart (cases.person)


def _both(gt_ids, pred_ids, sims, **kwargs):
    return identity_scores(gt_ids, pred_ids, sims), hota_scores(gt_ids, pred_ids, sims,
                                                                **kwargs)


# -- literal cases -------------------------------------------------------------------------

def test_perfect_tracking_scores_one():
    ident, hota = _both([[1, 2]] * 3, [[7, 8]] * 3, [np.eye(2)] * 3)
    assert (ident.idtp, ident.idfn, ident.idfp) == (6, 0, 0)
    assert ident.idf1 == ident.idp == ident.idr == 1.0
    assert hota.hota == hota.det_a == hota.ass_a == hota.loc_a == 1.0


def test_one_id_switch():
    # GT 1 in 4 frames, predicted as 7 then 8: best trajectory match 1-7 for 2 frames.
    ident, hota = _both([[1]] * 4, [[7], [7], [8], [8]], [np.ones((1, 1))] * 4)
    assert (ident.idtp, ident.idfn, ident.idfp) == (2, 2, 2)
    assert ident.idf1 == ident.idp == ident.idr == 0.5
    # every frame a TP (DetA 1); each TP: c = 2, |g| = 4, |p| = 2 -> A = 2 / 4
    assert hota.det_a == 1.0 and hota.ass_a == 0.5
    assert hota.hota == pytest.approx(math.sqrt(0.5), abs=1e-15)


def test_missed_person():
    ident, hota = _both([[1, 2]] * 2, [[7]] * 2, [np.array([[1.0], [0.0]])] * 2)
    assert (ident.idtp, ident.idfn, ident.idfp) == (2, 2, 0)
    assert ident.idf1 == pytest.approx(2 / 3) and ident.idp == 1.0 and ident.idr == 0.5
    assert hota.det_a == 0.5 and hota.ass_a == 1.0
    assert hota.hota == pytest.approx(math.sqrt(0.5), abs=1e-15)


def test_localisation_thresholds():
    # similarity 0.5: a TP for the 10 alphas 0.05..0.50, nothing above
    ident, hota = _both([[1]], [[7]], [np.array([[0.5]])])
    assert ident.idf1 == 1.0                          # 0.5 >= threshold 0.5
    assert hota.tp.tolist() == [1.0] * 10 + [0.0] * 9
    assert hota.det_a == pytest.approx(10 / 19) and hota.ass_a == pytest.approx(10 / 19)
    assert hota.hota == pytest.approx(10 / 19)
    assert hota.loc_a == pytest.approx((10 * 0.5 + 9 * 1.0) / 19)   # LocA 1 without TPs
    assert identity_scores([[1]], [[7]], [np.array([[0.49]])]).idf1 == 0.0
    # arange puts alpha 0.6 at 0.6000000000000001: a similarity of 0.6 still counts
    assert hota_scores([[1]], [[7]], [np.array([[0.6]])]).tp.sum() == 12


def test_idf1_matches_trajectories_globally_not_greedily():
    # GT a can match pred x (3 frames) or y (2); GT b only x (3). Greedy a-x gives IDTP 3;
    # the optimum a-y + b-x gives 5.
    gt = [["a"]] * 5 + [["b"]] * 3
    pred = [["x"]] * 3 + [["y"]] * 2 + [["x"]] * 3
    ident = identity_scores([np.array(g) for g in gt], [np.array(p) for p in pred],
                            [np.ones((1, 1))] * 8)
    assert (ident.idtp, ident.idfn, ident.idfp) == (5, 3, 3)
    assert ident.idf1 == pytest.approx(5 / 8)


def test_hota_matching_prefers_the_consistent_trajectory():
    # frames 0-3: GT 1 ~ pred 7 (0.8); frame 4: pred 7 at 0.6, pred 8 at 0.7. The global
    # alignment of 1-7 outweighs 8's better similarity, so frame 4 matches 7.
    sims = [np.array([[0.8]])] * 4 + [np.array([[0.6, 0.7]])]
    hota = hota_scores([[1]] * 5, [[7]] * 4 + [[7, 8]], sims)
    at_half = int(np.flatnonzero(np.isclose(DEFAULT_ALPHAS, 0.5))[0])
    assert hota.ass_a_per_alpha[at_half] == 1.0          # 5 TPs, all of 1-7 (c = 5 = |g| = |p|)
    assert hota.det_a_per_alpha[at_half] == pytest.approx(5 / 6)   # pred 8 an FP


@pytest.mark.parametrize("frames", [0, 3])
def test_empty_sequences_score_zero(frames):
    ident, hota = _both([[]] * frames, [[]] * frames, [np.zeros((0, 0))] * frames)
    assert (ident.idtp, ident.idfn, ident.idfp) == (0, 0, 0) and ident.idf1 == 0.0
    assert hota.hota == hota.det_a == hota.ass_a == 0.0 and hota.loc_a == 1.0


def test_no_predictions_or_no_gt():
    ident, hota = _both([[1, 2], [1]], [[], []], [np.zeros((2, 0)), np.zeros((1, 0))])
    assert (ident.idtp, ident.idfn, ident.idfp) == (0, 3, 0)
    assert hota.fn.tolist() == [3] * 19 and hota.hota == 0.0
    ident, hota = _both([[]], [[4, 5]], [np.zeros((0, 2))])
    assert (ident.idtp, ident.idfn, ident.idfp) == (0, 0, 2)
    assert hota.fp.tolist() == [2] * 19


def test_sequences_add_counts():
    one = TrackScores(*_both([[1]] * 4, [[7], [7], [8], [8]], [np.ones((1, 1))] * 4))
    two = TrackScores(*_both([[1, 2]] * 2, [[7]] * 2, [np.array([[1.0], [0.0]])] * 2))
    total = one + two
    assert (total.identity.idtp, total.identity.idfn, total.identity.idfp) == (4, 4, 2)
    assert total.hota.tp.tolist() == [6] * 19
    # AssA weighted by TPs: (4 * 0.5 + 2 * 1) / 6
    assert total.hota.ass_a == pytest.approx(4 / 6)
    assert (TrackScores() + one).hota.hota == one.hota.hota


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match=r"similarity\[1\] must have shape \(1, 1\)"):
        identity_scores([[1], [1]], [[2], [2]], [np.ones((1, 1)), np.ones((2, 1))])
    with pytest.raises(ValueError, match="one entry per frame"):
        hota_scores([[1]], [[2], [2]], [np.ones((1, 1))])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        hota_scores([[1]], [[2]], [np.array([[np.nan]])])
    with pytest.raises(ValueError, match="different alphas"):
        HotaScores() + HotaScores(alphas=np.array([0.5]), tp=np.zeros(1), fn=np.zeros(1),
                                  fp=np.zeros(1), association_sum=np.zeros(1),
                                  localisation_sum=np.zeros(1))


def test_identity_scores_ratios_without_detections():
    assert IdentityScores().idp == IdentityScores().idr == IdentityScores().idf1 == 0.0


# -- TrackEval parity ----------------------------------------------------------------------

def _trackeval():
    return pytest.importorskip("trackeval", reason="trackeval (test extra) is not installed; "
                               "pip install trackeval to compare with the reference")


def _trackeval_data(gt_ids, pred_ids, sims) -> dict:
    """TrackEval's per-sequence ``data``: ids renumbered 0..n-1 in sorted order."""
    def renumber(ids_per_frame):
        flat = np.concatenate([np.asarray(i, np.float64).reshape(-1) for i in ids_per_frame]
                              + [np.zeros(0)])
        unique = np.unique(flat)
        return [np.searchsorted(unique, np.asarray(i, np.float64).reshape(-1)).astype(int)
                for i in ids_per_frame], len(unique)
    gt, n_gt = renumber(gt_ids)
    pred, n_pred = renumber(pred_ids)
    return {"num_timesteps": len(gt), "num_gt_ids": n_gt, "num_tracker_ids": n_pred,
            "num_gt_dets": sum(map(len, gt)), "num_tracker_dets": sum(map(len, pred)),
            "gt_ids": gt, "tracker_ids": pred,
            "similarity_scores": [np.asarray(s, np.float64).reshape(len(g), len(p))
                                  for s, g, p in zip(sims, gt, pred)]}


def _reference(sequences: list[tuple]) -> tuple[list, dict, dict]:
    """TrackEval's HOTA and Identity per sequence and combined."""
    metrics = _trackeval().metrics
    hota, ident = metrics.HOTA(), metrics.Identity({"PRINT_CONFIG": False, "THRESHOLD": 0.5})
    per_sequence = []
    for k, args in enumerate(sequences):
        data = _trackeval_data(*args)
        per_sequence.append((ident.eval_sequence(data), hota.eval_sequence(data)))
    total_i = ident.combine_sequences({k: r[0] for k, r in enumerate(per_sequence)})
    total_h = hota.combine_sequences({k: r[1] for k, r in enumerate(per_sequence)})
    return per_sequence, total_i, total_h


def _assert_equal(ours: TrackScores, ident: dict, hota: dict):
    i, h = ours.identity, ours.hota
    assert (i.idtp, i.idfn, i.idfp) == (ident["IDTP"], ident["IDFN"], ident["IDFP"])
    for mine, theirs in ((i.idf1, ident["IDF1"]), (i.idp, ident["IDP"]),
                         (i.idr, ident["IDR"]), (h.hota, hota["HOTA"].mean()),
                         (h.det_a, hota["DetA"].mean()), (h.ass_a, hota["AssA"].mean()),
                         (h.loc_a, hota["LocA"].mean())):
        assert abs(mine - theirs) <= 1e-9, (mine, theirs)
    np.testing.assert_allclose(h.hota_per_alpha, hota["HOTA"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(h.tp, hota["HOTA_TP"])


def _compare(sequences: list[tuple]):
    ours = [TrackScores(identity_scores(*args), hota_scores(*args)) for args in sequences]
    per_sequence, total_i, total_h = _reference(sequences)
    for mine, (ident, hota) in zip(ours, per_sequence):
        _assert_equal(mine, ident, hota)
    _assert_equal(sum(ours, TrackScores()), total_i, total_h)


def _random_sequence(rng: np.random.Generator) -> tuple:
    """Random ids (births and deaths: each frame a random subset), empty frames, zeros
    and, half of the time, similarities rounded to 0.1 (ties)."""
    n_frames = int(rng.integers(0, 25))
    n_gt, n_pred = int(rng.integers(1, 8)), int(rng.integers(1, 12))
    gt, pred, sims = [], [], []
    rounded = rng.random() < 0.5
    for _ in range(n_frames):
        g = rng.choice(n_gt, int(rng.integers(0, n_gt + 1)), replace=False) * 7 + 3
        p = rng.choice(n_pred, int(rng.integers(0, n_pred + 1)), replace=False) - 5
        s = rng.random((len(g), len(p)))
        s[rng.random(s.shape) < 0.4] = 0.0
        gt.append(g)
        pred.append(p)
        sims.append(np.round(s, 1) if rounded else s)
    return gt, pred, sims


@pytest.mark.parametrize("seed", range(8))
def test_random_cases_equal_trackeval(seed):
    rng = np.random.default_rng(seed)
    _compare([_random_sequence(rng) for _ in range(40)])


def test_all_empty_and_one_sided_sequences_equal_trackeval():
    _compare([([], [], []), ([[]] * 4, [[]] * 4, [np.zeros((0, 0))] * 4),
              ([[1]] * 3, [[]] * 3, [np.zeros((1, 0))] * 3),
              ([[]] * 2, [[3, 4]] * 2, [np.zeros((0, 2))] * 2),
              ([[1], []], [[], [2]], [np.zeros((1, 0)), np.zeros((0, 1))])])


# -- PoseTrack18 inputs --------------------------------------------------------------------

def _run(tmp_path, gt_frames, pred_frames, *, regions=None, **kwargs):
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video(gt_frames, regions=regions)},
                                  {"s": video(pred_frames)})
    return evaluate(gt_dir, pred_dir, **kwargs)


def test_oks_sigmas_are_the_posetrack18_keypoint_set():
    config = read_yaml(CONFIG_DIR / "keypoint_sets.yaml")["posetrack18"]
    by_name = dict(zip(config["names"], config["oks_sigmas"]))
    assert POSEVAL_OKS_SIGMAS.tolist() == [by_name[j] for j in POSEVAL_JOINTS]


def test_perfect_predictions_score_100_on_both_similarities(tmp_path):
    r = _run(tmp_path, [[person(1, *A), person(2, *B)]] * 3, [[person(7, *A), person(8, *B)]] * 3)
    out = r.to_dict()["identity"]
    assert set(out) == {"boxes", "poses"}
    assert out["boxes"]["similarity"] == "IoU" and out["poses"]["similarity"] == "OKS"
    for kind in out.values():
        assert [kind[k] for k in ("idf1", "idp", "idr", "hota", "deta", "assa", "loca")] == \
            [100.0] * 7
        assert (kind["idtp"], kind["idfn"], kind["idfp"]) == (6, 0, 0)


def test_box_is_bbox_when_given_else_tight_box_of_joints(tmp_path):
    with_box = person(1, *A)
    with_box["bbox"] = [10, 20, 30, 40]
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video([[with_box, person(2, *B)]])},
                                  {"s": video([[person(7, *A)]])})
    (seq,) = load_sequences(gt_dir, pred_dir)
    boxes = load_person_boxes(seq)
    np.testing.assert_array_equal(boxes.gt_xyxy[0], [10, 20, 40, 60])
    # person(): joints from (x - 70, y) to (x + 70, y + 360)
    np.testing.assert_array_equal(boxes.gt_xyxy[1], [B[0] - 70, B[1], B[0] + 70, B[1] + 360])
    np.testing.assert_array_equal(boxes.pred_xyxy[0], [A[0] - 70, A[1], A[0] + 70, A[1] + 360])


def test_tight_boxes_skip_absent_and_nonfinite_joints():
    keypoints = np.array([[[1.0, 2.0], [5.0, -1.0], [np.nan, 9.0]], [[0, 0], [0, 0], [0, 0]]])
    present = np.array([[True, True, True], [False, False, False]])
    boxes = tight_boxes(keypoints, present)
    np.testing.assert_array_equal(boxes[0], [1, -1, 5, 2])
    assert np.isnan(boxes[1]).all()


def test_iou_of_pairs_is_the_diagonal_of_iou_matrix():
    rng = np.random.default_rng(0)
    a, b = rng.random((50, 2)) * 100, rng.random((50, 2)) * 100
    boxes_a = np.concatenate([a, a + rng.random((50, 2)) * 60], axis=1)
    boxes_b = np.concatenate([b, b + rng.random((50, 2)) * 60], axis=1)
    boxes_b[:5] = boxes_a[:5]
    np.testing.assert_allclose(iou_of_pairs(boxes_a, boxes_b),
                               np.diag(iou_matrix(boxes_a, boxes_b)), rtol=0, atol=1e-15)
    assert iou_of_pairs(np.full((1, 4), np.nan), boxes_b[:1]).tolist() == [0.0]


def test_oks_of_a_shifted_pose(tmp_path):
    gt = person(1, *A)
    gt["bbox"] = [0, 0, 100, 200]                      # area 20000
    shifted = person(7, A[0] + 6, A[1] + 8)            # every joint 10 px away
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video([[gt]])}, {"s": video([[shifted]])})
    (seq,) = load_sequences(gt_dir, pred_dir)
    inputs = identity_inputs(seq, load_person_boxes(seq))
    want = np.mean(np.exp(-100 / (2 * 20000 * (2 * POSEVAL_OKS_SIGMAS) ** 2)))
    assert inputs["poses"].similarity[0][0, 0] == pytest.approx(want, rel=1e-12)


def test_prediction_inside_an_ignore_region_is_no_false_positive(tmp_path):
    region = [[(900, 0), (1300, 0), (1300, 600), (900, 600)]]    # around x = 1000..1140
    inside = person(9, 1070, 100)
    frames_gt, frames_pred = [[person(1, *A)]] * 3, [[person(7, *A), inside]] * 3
    for kind in _run(tmp_path / "region", frames_gt, frames_pred,
                     regions=[region] * 3).identity.values():
        assert (kind.identity.idtp, kind.identity.idfp) == (3, 0)
        assert kind.hota.hota == 1.0
    for kind in _run(tmp_path / "none", frames_gt, frames_pred).identity.values():
        assert kind.identity.idfp == 3                       # the same person counts without


def test_only_evaluated_frames_and_people_with_joints_count(tmp_path):
    # frame 1 has no GT annotation: its predictions are ignored, as poseval ignores them;
    # a GT person without joints (frame 2) is no person for the identity metrics.
    no_joints = {**person(3, *B), "keypoints": [0] * 51}
    gt = [[person(1, *A)], [], [person(1, *A), no_joints]]
    pred = [[person(7, *A)], [person(7, *A), person(8, *B)], [person(7, *A)]]
    r = _run(tmp_path, gt, pred)
    for kind in r.identity.values():
        assert (kind.identity.idtp, kind.identity.idfn, kind.identity.idfp) == (2, 0, 0)


def test_nonfinite_coordinates_never_match(tmp_path):
    pred = [[person(7, *A, nan=tuple(NAMES17))]] * 2     # every joint NaN
    r = _run(tmp_path, [[person(1, *A)]] * 2, pred, allow_nonfinite=True)
    for kind in r.identity.values():
        assert (kind.identity.idtp, kind.identity.idfn, kind.identity.idfp) == (0, 2, 2)


def test_bad_bbox_names_file_and_annotation(tmp_path):
    bad = person(7, *A)
    bad["bbox"] = [1, 2, "3", 4]
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video([[person(1, *A)]] * 2)},
                                  {"s": video([[person(7, *A)], [bad]])})
    with pytest.raises(PoseTrackEvalError, match=r"pred/s\.json: annotations\[1\]\.bbox: "
                                                  r"expected 4 finite numbers"):
        evaluate(gt_dir, pred_dir)
    assert evaluate(gt_dir, pred_dir, identity=False).identity is None


def test_repeated_ids_in_a_frame_are_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"gt_ids\[1\]: ids must be unique within a frame"):
        identity_scores([[1], [1, 1]], [[2], [2]], [np.ones((1, 1)), np.ones((2, 1))])
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": video([[person(1, *A), person(1, *B)]])},
                                  {"s": video([[person(7, *A)]])})
    with pytest.raises(PoseTrackEvalError, match=r"gt/s\.json: annotations\[\]\.track_id: 1 "
                                                  r"appears 2 times in image .*unique GT ids"):
        evaluate(gt_dir, pred_dir)
    assert evaluate(gt_dir, pred_dir, identity=False).identity is None


def test_per_sequence_identity_equals_the_sequence_alone(tmp_path):
    seq_a = video([[person(1, *A), person(2, *B)]] * 4)
    seq_b = video([[person(1, *A)]] * 4, video_id="000002")
    pred_a = video([[person(7, *A)]] * 2 + [[person(8, *A), person(9, *B)]] * 2)
    pred_b = video([[person(1, *A), person(5, *B)]] * 4, video_id="000002")
    both = evaluate(*write_dirs(tmp_path / "both", {"a": seq_a, "b": seq_b},
                                {"a": pred_a, "b": pred_b}), per_sequence=True)
    for name, gt, pred in (("a", seq_a, pred_a), ("b", seq_b, pred_b)):
        alone = evaluate(*write_dirs(tmp_path / name, {name: gt}, {name: pred}))
        assert both.per_sequence[name].to_dict()["identity"] == alone.to_dict()["identity"]
    total = both.identity["boxes"].identity
    parts = [both.per_sequence[n].identity["boxes"].identity for n in ("a", "b")]
    assert total == parts[0] + parts[1]


def _inputs_of(sequences) -> dict[str, list[tuple]]:
    out = {"boxes": [], "poses": []}
    for seq in sequences:
        for kind, i in identity_inputs(seq, load_person_boxes(seq)).items():
            out[kind].append((i.gt_ids, i.pred_ids, i.similarity))
    return out


@pytest.mark.parametrize("case", ["gt_as_pred", "swap_ids", "drop_person", "fp_person",
                                  "fp_in_ignore", "empty_frame", "nan_first_joint"])
def test_sanity_runs_equal_trackeval(tmp_path, case):
    _trackeval()
    gt, pred = build_case(SANITY_CASES[case], sanity_gt(shared_path(*MMPOSE_VAL)))
    sequences = load_sequences(*write_dirs(tmp_path, gt, pred), allow_nonfinite=True)
    for kind, inputs in _inputs_of(sequences).items():
        _compare(inputs)
    if case == "gt_as_pred":
        for scores in evaluate(*write_dirs(tmp_path, gt, pred)).identity.values():
            assert scores.identity.idf1 == 1.0 and scores.hota.hota == 1.0


def _jittered(gt: dict, rng: np.random.Generator) -> dict:
    """GT people as predictions: 3 px keypoint and 4 px box jitter (half lose their bbox),
    10 % dropped, ids 0 <-> 1 swapped from the middle frame, 5 % far-off copies."""
    pred = copy.deepcopy(gt)
    middle = gt["images"][len(gt["images"]) // 2]["id"]
    out = []
    for ann in pred["annotations"]:
        if rng.random() < 0.10:
            continue
        k = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
        present = ~(k == 0).all(axis=1)
        k[present, :2] += rng.normal(0, 3, (int(present.sum()), 2))
        ann["keypoints"] = k.ravel().tolist()
        ann["bbox"] = (np.asarray(ann["bbox"]) + rng.normal(0, 4, 4)).clip(0).tolist() \
            if rng.random() < 0.5 else None
        if ann["image_id"] >= middle and ann["track_id"] in (0, 1):
            ann["track_id"] = 1 - ann["track_id"]
        out.append(ann)
        if rng.random() < 0.05:
            k[present, :2] += 200
            out.append({**ann, "keypoints": k.ravel().tolist(), "bbox": None,
                        "track_id": 5000 + ann["track_id"]})
    pred["annotations"] = out
    return pred


def test_bonn_sequences_with_jitter_and_id_swaps_equal_trackeval(tmp_path):
    _trackeval()
    from benchmarks.bench_eval import ground_truth    # derives the missing head boxes
    files = sorted(shared_path("data", "bonn-posetrack", "train").glob("*.json"))[:6]
    rng = np.random.default_rng(0)
    gt = {f.stem: ground_truth(json.loads(f.read_text())) for f in files}
    pred = {name: _jittered(data, rng) for name, data in gt.items()}
    sequences = load_sequences(*write_dirs(tmp_path, gt, pred))
    for kind, inputs in _inputs_of(sequences).items():
        _compare(inputs)
    scores = {s.name: sequence_identity(s) for s in sequences}
    assert all(0 < s["poses"].identity.idf1 < 1 for s in scores.values())
