"""AP with tied scores equals poseval's (spec §5.4): the ranking is ``np.argsort(s)[::-1]`` on
poseval's exact concatenation, so every entry's position in it matters.

numpy's default argsort is not stable, so tied entries are ordered by the whole array: its
length, element order and dtype. poseval's array for joint j is float64 and holds, for the GT
files in ``glob.glob(GT_DIR + "/*.json")`` order (unsorted directory order), for their frames
whose GT image has people, for the predicted people in file order, the score of joint j
(-9999 without ``scores``, NaN passed through). Ties are everyday input: scores rounded to
2 decimals, people without ``scores`` (all -9999), NaN scores.

The expected values here are derived without the evaluator: either by hand (comments), or
from the literal concatenation the test builds itself, ranked with ``np.argsort(s)[::-1]``
and scored with the VOC formula written out below. Larger messy cases are compared with
``reference_ap_from_dirs``, a poseval-structured oracle with its own loader.
"""
import copy
import glob
import os
from pathlib import Path

import numpy as np
import pytest

from tests.tracker.eval.cases import NAMES17, person, video, write_dirs
from tests.tracker.eval.poseval_reference import reference_ap_from_dirs, reference_evaluate
from tracker.eval import POSEVAL_JOINTS, PoseSet, evaluate, load_sequences
from tracker.eval.posetrack_ap import ApInputs, ap_inputs, compute_ap

A, B, FAR = (100, 100), (400, 100), (1000, 500)
COLUMN = [NAMES17.index(name) for name in POSEVAL_JOINTS]   # poseval joint -> file column


def voc_ap_by_hand(ranked_labels, n_gt: float) -> float:
    """VOC all-points AP in percent of 0/1 labels in rank order: at every position where the
    recall grows, add (recall step) x (best precision from that position on)."""
    ranked_labels = np.asarray(ranked_labels, float)
    true_pos = np.cumsum(ranked_labels)
    precision = true_pos / np.arange(1, len(ranked_labels) + 1)
    recall = true_pos / n_gt
    ap, last_recall = 0.0, 0.0
    for k in range(len(ranked_labels)):
        if recall[k] != last_recall:
            ap += (recall[k] - last_recall) * precision[k:].max()
            last_recall = recall[k]
    return 100 * ap


def ap_of_concatenation(scores, labels, n_gt: float) -> float:
    """AP of one joint from poseval's concatenation: rank with ``np.argsort(s)[::-1]``."""
    order = np.argsort(np.asarray(scores, np.float64))[::-1]
    return voc_ap_by_hand(np.asarray(labels)[order], n_gt)


def glob_order(gt_dir: Path) -> list[str]:
    """The GT sequence names in poseval's order."""
    return [os.path.basename(p).split(".")[0] for p in glob.glob(str(gt_dir) + "/*.json")]


def scored(ann: dict, scores17) -> dict:
    """``ann`` with these 17 per-keypoint scores (None: ``"scores": []``)."""
    ann = copy.deepcopy(ann)
    ann["scores"] = [] if scores17 is None else [float(s) for s in scores17]
    return ann


def test_voc_by_hand_and_reversed_ties():
    # ranking FP, TP, FP, FP, TP with 5 GT: precision 0, 1/2, 1/3, 1/4, 2/5; recall 0, .2, .2,
    # .2, .4 -> .2 x max(1/2, 1/3, 1/4, 2/5) + .2 x 2/5 = .1 + .08 = 18 %.
    assert voc_ap_by_hand([0, 1, 0, 0, 1], 5) == pytest.approx(18.0)
    # an all-equal array comes out of argsort in insertion order, reversed after [::-1]
    # (spec §5.4): [TP, FP, FP, TP, FP] ranks as FP, TP, FP, FP, TP -> 18 % again.
    assert ap_of_concatenation([-9999.0] * 5, [1, 0, 0, 1, 0], 5) == pytest.approx(18.0)


def test_one_argsort_over_the_whole_concatenation():
    # two frames, each one detection of joint 0 scored 0.5: TP in frame 0, FP in frame 1;
    # nGT 1. The concatenation [TP, FP] is all-equal: ranking FP, TP -> AP 1 x 1/2 = 50 %.
    # Ranking each frame alone and joining them (or a stable descending sort) gives 100 %.
    def part(label):
        present = np.zeros((1, 15), bool)
        present[0, 0] = True
        return ApInputs(np.full((1, 15), 0.5), np.full((1, 15), label), present,
                        np.eye(15)[0] * (1.0 if label else 0.0))
    ap = compute_ap(ApInputs.concatenate([part(True), part(False)])).ap
    assert ap[0] == 50.0 and (ap[1:] == 0).all()


def test_rounded_scores_tie_within_a_sequence(tmp_path):
    # GT: one person at A in frames 0 and 1 (nGT 2 per joint). Predictions, every joint 0.47:
    # frame 0 a TP at A and an FP far away, frame 1 only an FP. Concatenation [TP, FP, FP]
    # (all equal) ranks FP, FP, TP: precision 0, 0, 1/3; recall 0, 0, 1/2
    # -> AP = 1/2 x 1/3 = 16.67 % on every joint (a stable sort would give 50 %).
    gt = video([[person(1, *A)], [person(1, *A)]])
    pred = video([[person(1, *A, score=0.47), person(2, *FAR, score=0.47)],
                  [person(2, *FAR, score=0.47)]])
    r = evaluate(*write_dirs(tmp_path, {"s": gt}, {"s": pred}), tracking=False)
    np.testing.assert_allclose(r.ap_per_joint, 100 / 6, rtol=0, atol=1e-9)


def test_nan_scores_rank_first(tmp_path):
    # GT A and B (nGT 2). P0 at A 0.9 (TP), P1 far with NaN scores (FP), P2 at B 0.9 (TP).
    # NaN ranks first: FP, TP, TP: precision 0, 1/2, 2/3; recall 0, 1/2, 1
    # -> 1/2 x 2/3 + 1/2 x 2/3 = 66.67 % (NaN ranked last would give 100 %).
    gt = video([[person(1, *A), person(2, *B)]])
    pred = video([[person(1, *A), person(2, *FAR, score=float("nan")), person(3, *B)]])
    r = evaluate(*write_dirs(tmp_path, {"s": gt}, {"s": pred}), tracking=False)
    np.testing.assert_allclose(r.ap_per_joint, 200 / 3, rtol=0, atol=1e-9)


def test_null_score_entries_are_nan_as_in_poseval(tmp_path):
    # poseval stores a JSON null score in its float64 score array, i.e. as NaN: the same
    # 66.67 % as above (a writer that turns NaN into null gives poseval's NaN ranking).
    gt = video([[person(1, *A), person(2, *B)]])
    fp = person(2, *FAR)
    fp["scores"] = [None] * 17
    pred = video([[person(1, *A), fp, person(3, *B)]])
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": gt}, {"s": pred})
    r = evaluate(gt_dir, pred_dir, tracking=False)
    np.testing.assert_allclose(r.ap_per_joint, 200 / 3, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(r.ap_per_joint, reference_ap_from_dirs(gt_dir, pred_dir)[0])


def test_people_without_scores_rank_last(tmp_path):
    # GT A and B (nGT 2). P0 at A with "scores": [] (TP at -9999), P1 far 0.47 (FP), P2 at B
    # 0.83 (TP). Ranking TP (0.83), FP (0.47), TP (-9999): precision 1, 1/2, 2/3; recall 1/2,
    # 1/2, 1 -> 1/2 x 1 + 1/2 x 2/3 = 83.33 %.
    gt = video([[person(1, *A), person(2, *B)]])
    pred = video([[scored(person(1, *A), None), person(2, *FAR, score=0.47),
                   person(3, *B, score=0.83)]])
    r = evaluate(*write_dirs(tmp_path, {"s": gt}, {"s": pred}), tracking=False)
    np.testing.assert_allclose(r.ap_per_joint, 250 / 3, rtol=0, atol=1e-9)


def test_scores_stay_float64(tmp_path):
    # P0 far away scored 0.30000001 (FP), P1 at A scored 0.3 (TP), nGT 1. In float64 the FP
    # ranks first -> 50 %. In float32 both are 0.3: a tie, reversed -> TP first -> 100 %.
    gt = video([[person(1, *A)]])
    pred = video([[person(2, *FAR, score=0.30000001), person(1, *A, score=0.3)]])
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": gt}, {"s": pred})
    (seq,) = load_sequences(gt_dir, pred_dir)
    inputs = ap_inputs(list(seq.frames))
    assert inputs.scores.dtype == np.float64
    np.testing.assert_allclose(compute_ap(inputs).ap, 50.0, rtol=0, atol=1e-9)
    assert ap_of_concatenation(np.float32([0.30000001, 0.3]), [0, 1], 1) == 100.0
    frame = seq.frames[0].pred
    with pytest.raises(ValueError, match="PoseSet.scores must be float64, got float32"):
        PoseSet(frame.track_ids, frame.keypoints, frame.present,
                frame.scores.astype(np.float32), frame.head_boxes, frame.annotation_index)


# -- ties across sequences: the GT file order is poseval's glob order ------------------------

CREATED = ("d", "b", "e", "a", "c")      # file creation order (neither sorted nor reversed)


def _missing_scores_case(tmp_path):
    """One frame per sequence, GT one person at A; the prediction (no scores: -9999) is a TP
    at A in a and d, an FP far away elsewhere (nGT 5 per joint)."""
    gt = {name: video([[person(1, *A)]], video_id=f"00000{k}") for k, name in enumerate(CREATED)}
    pred = {name: video([[scored(person(1, *(A if name in "ad" else FAR)), None)]],
                        video_id=f"00000{k}") for k, name in enumerate(CREATED)}
    return write_dirs(tmp_path, gt, pred)


def test_missing_scores_tie_across_sequences_in_glob_order(tmp_path):
    # Every score is -9999: the concatenation (one entry per sequence, in glob order) is
    # all-equal, so the ranking is the glob order reversed. E.g. for glob order a, b, c, d, e:
    # [TP, FP, FP, TP, FP] -> 18 % (test_voc_by_hand_and_reversed_ties); for e, d, c, b, a:
    # ranking TP, FP, FP, TP, FP: precision 1, 1/2, 1/3, 1/2, 2/5 -> .2 + .2 x 1/2 = 30 %.
    gt_dir, pred_dir = _missing_scores_case(tmp_path)
    ranked = [1 if name in "ad" else 0 for name in glob_order(gt_dir)[::-1]]
    want = voc_ap_by_hand(ranked, 5)
    r = evaluate(gt_dir, pred_dir, tracking=False, sort_files=False)
    np.testing.assert_allclose(r.ap_per_joint, want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(reference_ap_from_dirs(gt_dir, pred_dir)[0], want, rtol=0,
                               atol=1e-9)


def _literal_case(seed: int):
    """4 sequences x 4 frames (frame 1 unlabeled, with predictions that must be ignored); GT
    3 people, 2 of them predicted exactly (TPs), plus 1-2 far FPs; scores rounded to 1
    decimal (many ties), 10 % of the people without scores, 10 % with NaN on some joints."""
    rng = np.random.default_rng(seed)
    gt, pred = {}, {}
    spots = [(100 + 200 * i, 100) for i in range(3)]
    for k, name in enumerate(CREATED[:4]):
        gt_frames, pred_frames = [], []
        for t in range(4):
            gt_frames.append([] if t == 1 else [person(i, *xy) for i, xy in enumerate(spots)])
            people = [person(i, *spots[i]) for i in (0, 2)]
            people += [person(10 + i, 1000 + 150 * i, 500) for i in range(rng.integers(1, 3))]
            pred_frames.append([_random_scores(p, rng) for p in people])
        gt[name] = video(gt_frames, video_id=f"00000{k}")
        pred[name] = video(pred_frames, video_id=f"00000{k}")
    return gt, pred


def _random_scores(ann: dict, rng) -> dict:
    draw = rng.random()
    if draw < 0.1:
        return scored(ann, None)
    scores = np.round(rng.random(17), 1)
    if draw < 0.2:
        scores[rng.random(17) < 0.5] = np.nan
    return scored(ann, scores)


def _expected_by_hand(gt: dict, pred: dict, order: list[str]) -> np.ndarray:
    """Per joint: poseval's concatenation built by hand (sequences in ``order``, labeled
    frames, people in file order; track id < 10 = TP), ranked by np.argsort(s)[::-1]."""
    scores, labels = [[] for _ in range(15)], [[] for _ in range(15)]
    n_gt = 0
    for name in order:
        by_image = {}
        for ann in pred[name]["annotations"]:
            by_image.setdefault(ann["image_id"], []).append(ann)
        for image in gt[name]["images"]:
            n_gt_here = sum(a["image_id"] == image["id"] for a in gt[name]["annotations"])
            if n_gt_here == 0:
                continue                     # unlabeled GT frame: predictions ignored
            n_gt += n_gt_here
            for ann in by_image.get(image["id"], []):
                for j in range(15):
                    scores[j].append(ann["scores"][COLUMN[j]] if ann["scores"] else -9999.0)
                    labels[j].append(1 if ann["track_id"] < 10 else 0)
    return np.array([ap_of_concatenation(scores[j], labels[j], n_gt) for j in range(15)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_literal_concatenation_across_sequences(tmp_path, seed):
    gt, pred = _literal_case(seed)
    gt_dir, pred_dir = write_dirs(tmp_path, gt, pred)
    want = _expected_by_hand(gt, pred, glob_order(gt_dir))
    assert len(np.unique(want)) > 1
    r = evaluate(gt_dir, pred_dir, tracking=False, sort_files=False)
    np.testing.assert_allclose(r.ap_per_joint, want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(reference_ap_from_dirs(gt_dir, pred_dir)[0], want, rtol=0,
                               atol=1e-9)


def test_default_sequence_order_is_posevals(tmp_path):
    """What a user runs: ``evaluate(GT, PRED)`` must rank ties as poseval does."""
    gt_dir, pred_dir = _missing_scores_case(tmp_path / "missing")
    gt, pred = _literal_case(0)
    gt_dir2, pred_dir2 = write_dirs(tmp_path / "literal", gt, pred)
    if glob_order(gt_dir) == sorted(glob_order(gt_dir)) and \
            glob_order(gt_dir2) == sorted(glob_order(gt_dir2)):
        pytest.skip("this file system lists the files sorted: the order cannot be told apart")
    ranked = [1 if name in "ad" else 0 for name in glob_order(gt_dir)[::-1]]
    np.testing.assert_allclose(evaluate(gt_dir, pred_dir, tracking=False).ap_per_joint,
                               voc_ap_by_hand(ranked, 5), rtol=0, atol=1e-9)
    np.testing.assert_allclose(evaluate(gt_dir2, pred_dir2, tracking=False).ap_per_joint,
                               _expected_by_hand(gt, pred, glob_order(gt_dir2)), rtol=0,
                               atol=1e-9)


# -- messy predictions against the oracle ----------------------------------------------------

def _messy_case(rng, n_sequences=6, n_frames=10, n_people=6):
    """Like the issue's data: jitter, 10 % people dropped, id swaps, 10 % FPs, scores rounded
    to 2 decimals, 10 % people with ``"scores": []``, 5 % with NaN scores, an unlabeled
    frame with predictions and an ignore region over part of one frame per sequence."""
    gt, pred = {}, {}
    for k in range(n_sequences):
        name = f"{rng.integers(100000, 999999)}_mpii_test"
        spots = [(80 + 90 * i + rng.normal(0, 20), 100 + rng.normal(0, 30))
                 for i in range(n_people)]
        gt_frames, pred_frames, regions = [], [], []
        for t in range(n_frames):
            xy = [(x + 3 * t, y + 2 * t) for x, y in spots]
            gt_frames.append([] if t == 4 else [person(i, *p) for i, p in enumerate(xy)])
            regions.append([[(0, 0), (150, 0), (150, 260), (0, 260)]] if t == 6 else None)
            ids = rng.permutation(n_people) if t >= n_frames // 2 else np.arange(n_people)
            people = [person(int(ids[i]), p[0] + rng.normal(0, 6), p[1] + rng.normal(0, 6))
                      for i, p in enumerate(xy) if rng.random() > 0.1]
            people += [person(50 + i, xy[i][0] + rng.normal(0, 60), xy[i][1] + 80)
                       for i in range(n_people) if rng.random() < 0.1]
            pred_frames.append([_messy_scores(p, rng) for p in people])
        vid = f"{k + 1:06d}"
        gt[name] = video(gt_frames, video_id=vid, regions=regions)
        pred[name] = video(pred_frames, video_id=vid)
    return gt, pred


def _messy_scores(ann: dict, rng) -> dict:
    draw = rng.random()
    if draw < 0.1:
        return scored(ann, None)
    scores = np.round(rng.random(17), 2)
    if draw < 0.15:
        scores[:] = np.nan
    return scored(ann, scores)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_messy_predictions_match_the_oracle(tmp_path, seed):
    gt, pred = _messy_case(np.random.default_rng(seed))
    gt_dir, pred_dir = write_dirs(tmp_path, gt, pred)
    want, want_by_sequence = reference_ap_from_dirs(gt_dir, pred_dir)
    r = evaluate(gt_dir, pred_dir, tracking=False, per_sequence=True, sort_files=False)
    np.testing.assert_allclose(r.ap_per_joint, want, rtol=0, atol=1e-9)
    assert set(r.per_sequence) == set(want_by_sequence)
    for name, ap in want_by_sequence.items():
        np.testing.assert_allclose(r.per_sequence[name].ap_per_joint, ap, rtol=0, atol=1e-9)
    sequences = load_sequences(gt_dir, pred_dir, sort_files=False)
    np.testing.assert_allclose(reference_evaluate(sequences, tracking=False).ap_per_joint, want,
                               rtol=0, atol=1e-9)
