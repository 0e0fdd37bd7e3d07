"""Straightforward poseval-structured evaluator: the cross-check and speed baseline.

Written after poseval's structure (spec §5-§6): per frame, per person, per joint loops over
point lists, per-frame (score, label) arrays that start as empty float32 arrays and grow by
``np.append`` (so they hold float64 scores), concatenated per joint over all frames in frame
order and ranked by ``np.argsort(scores)[::-1]``, a Python ranking loop, and one
``motmetrics.MOTAccumulator`` per joint and sequence, summarised with ``mh.compute``
(forcing motmetrics' scipy solver, as in poseval's reference runs).

``reference_evaluate`` shares only the loaded frames with the fast path; tests and
``benchmarks/bench_eval.py`` assert both agree. ``reference_ap_from_dirs`` shares nothing:
it lists the GT files with ``glob.glob(GT_DIR + "/*.json")`` (unsorted, like poseval),
converts them point by point (spec §1-§4) and computes AP, so it also checks which frames
are evaluated and in which order. Not part of the public API.
"""
from __future__ import annotations

import glob
import json
import os

import numpy as np
import shapely

from tracker.eval.posetrack_types import (MIN_SCORE, NUM_JOINTS, POSEVAL_JOINTS, PoseSet,
                                          SequencePair)
from tracker.eval.results import PoseTrackResults

DIST_THRESHOLD = 0.5
_MOT_COUNTS = ["num_misses", "num_switches", "num_false_positives", "num_objects",
               "num_detections"]


def _rects(people: PoseSet) -> list[dict]:
    """poseval-style person dicts: track id, head rect and a list of point dicts."""
    rects = []
    for k in range(len(people)):
        points = [{"id": j, "x": float(people.keypoints[k, j, 0]),
                   "y": float(people.keypoints[k, j, 1]), "score": float(people.scores[k, j])}
                  for j in range(NUM_JOINTS) if people.present[k, j]]
        x1, y1, x2, y2 = people.head_boxes[k].tolist()
        rects.append({"track_id": int(people.track_ids[k]), "points": points,
                      "x1": x1, "y1": y1, "x2": x2, "y2": y2})
    return rects


def _point(points: list[dict], joint: int):
    for point in points:
        if point["id"] == joint:
            return point
    return None


def _joint_presence(gt_rects: list[dict], pr_rects: list[dict]):
    """(G, J) / (P, J) which people have each joint, and (P, J) the predicted scores."""
    has_gt = np.zeros((len(gt_rects), NUM_JOINTS), bool)
    has_pr = np.zeros((len(pr_rects), NUM_JOINTS), bool)
    score = np.full((len(pr_rects), NUM_JOINTS), np.nan)
    for g, rect in enumerate(gt_rects):
        for j in range(NUM_JOINTS):
            has_gt[g, j] = _point(rect["points"], j) is not None
    for p, rect in enumerate(pr_rects):
        for j in range(NUM_JOINTS):
            point = _point(rect["points"], j)
            if point is not None:           # no score: MIN_SCORE; None (JSON null) -> NaN
                has_pr[p, j] = True
                score[p, j] = point.get("score", MIN_SCORE)
    return has_gt, has_pr, score


def _head_normalised_distances(gt_rects, pr_rects, has_gt, has_pr):
    """(P, G, J) joint distances divided by 0.6 x the GT head box diagonal (inf: no pair)."""
    dist = np.full((len(pr_rects), len(gt_rects), NUM_JOINTS), np.inf)
    for g, gt in enumerate(gt_rects):
        head = 0.6 * np.linalg.norm(np.subtract([gt["x2"], gt["y2"]], [gt["x1"], gt["y1"]]))
        for p, pr in enumerate(pr_rects):
            for j in range(NUM_JOINTS):
                if has_pr[p, j] and has_gt[g, j]:
                    a, b = _point(gt["points"], j), _point(pr["points"], j)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        dist[p, g, j] = np.linalg.norm(
                            np.subtract([a["x"], a["y"]], [b["x"], b["y"]])) / head
    return dist


def _prediction_of_gt(match, has_gt):
    """(G,) the prediction each GT person is assigned to by PCKh (-1: none)."""
    n_pr, n_gt = match.shape[:2]
    n_joints = has_gt.sum(axis=1)
    pck = 1.0 * match.sum(axis=2)
    for p in range(n_pr):
        for g in range(n_gt):
            if n_joints[g] > 0:
                pck[p, g] = pck[p, g] / n_joints[g]
    best = np.argmax(pck, axis=1)
    for p in range(n_pr):
        for g in range(n_gt):
            if g != best[p]:
                pck[p, g] = 0
    pr_to_gt = np.argmax(pck, axis=0)
    pr_to_gt[np.max(pck, axis=0) == 0] = -1
    return pr_to_gt


def _mot_input(gt_rects, pr_rects, has_gt, has_pr, match, dist):
    """Per joint: (GT track ids, predicted track ids, distance matrix with NaN = no pair)."""
    mot = []
    for j in range(NUM_JOINTS):
        gts, prs = np.flatnonzero(has_gt[:, j]), np.flatnonzero(has_pr[:, j])
        d = np.full((len(gts), len(prs)), np.nan)
        for a, g in enumerate(gts):
            for b, p in enumerate(prs):
                if match[p, g, j]:
                    d[a, b] = dist[p, g, j]
        mot.append(([gt_rects[g]["track_id"] for g in gts],
                    [pr_rects[p]["track_id"] for p in prs], d))
    return mot


def _assign_frame(gt_rects: list[dict], pr_rects: list[dict]):
    """poseval's `assignGTmulti` for one frame: per-joint (scores, labels) and MOT input."""
    n_pr, n_gt = len(pr_rects), len(gt_rects)
    scores = [[] for _ in range(NUM_JOINTS)]
    labels = [[] for _ in range(NUM_JOINTS)]
    has_gt, has_pr, score = _joint_presence(gt_rects, pr_rects)
    if not (n_pr and n_gt):
        for p in range(n_pr):
            for j in range(NUM_JOINTS):
                if has_pr[p, j]:
                    scores[j].append(score[p, j])
                    labels[j].append(False)
        return scores, labels, has_gt, None
    dist = _head_normalised_distances(gt_rects, pr_rects, has_gt, has_pr)
    match = dist <= DIST_THRESHOLD
    pr_to_gt = _prediction_of_gt(match, has_gt)
    for p in range(n_pr):
        gts = np.flatnonzero(pr_to_gt == p)
        for j in range(NUM_JOINTS):
            if has_pr[p, j]:
                scores[j].append(score[p, j])
                labels[j].append(bool(match[p, gts[0], j]) if len(gts) else False)
    return scores, labels, has_gt, _mot_input(gt_rects, pr_rects, has_gt, has_pr, match, dist)


def _grown(values: list, dtype) -> np.ndarray:
    """A frame's per-joint array as poseval grows it: empty ``dtype`` (float32 for scores,
    int8 for labels), then one ``np.append`` per detection (float64 scores promote it)."""
    out = np.zeros((0, 0), dtype)
    return np.append(out, np.asarray(values)) if values else out   # = one append each


def _joined(per_frame: list[np.ndarray], dtype) -> np.ndarray:
    """The per-frame arrays of one joint appended in frame order onto an empty ``dtype``
    array, as poseval's ``computeMetrics`` does before ranking."""
    return np.concatenate([np.zeros(0, dtype)] + [a.ravel() for a in per_frame])


def _voc_ap(scores: np.ndarray, labels: np.ndarray, n_gt: float) -> float:
    if len(scores) == 0:
        return 0.0
    order = np.argsort(scores)[::-1]
    sorted_labels = labels[order]
    precision, recall, n_pos = np.zeros(len(order)), np.zeros(len(order)), 0
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(len(order)):
            n_pos += int(sorted_labels[k])
            recall[k] = 1.0 * n_pos / np.float64(n_gt)
            precision[k] = 1.0 * n_pos / (k + 1)
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    for k in range(len(mpre) - 2, -1, -1):
        mpre[k] = max(mpre[k], mpre[k + 1])
    steps = np.argwhere(~np.equal(mrec[1:], mrec[:-1])).flatten() + 1
    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mpre[steps])) * 100


def _ap_and_mot_input(frames: list[tuple[list[dict], list[dict]]]):
    """AP per joint (15,) over ``frames`` [(GT rects, predicted rects)] in this order, and each
    frame's MOT input: poseval's ``assignGTmulti`` + ``computeMetrics``."""
    frame_scores, frame_labels, mots = [], [], []
    n_gt = np.zeros(NUM_JOINTS)
    for gt_rects, pr_rects in frames:
        s, lab, has_gt, mot = _assign_frame(gt_rects, pr_rects)
        frame_scores.append([_grown(v, np.float32) for v in s])
        frame_labels.append([_grown(v, np.int8) for v in lab])
        n_gt += has_gt.sum(axis=0)
        mots.append(mot)
    ap = np.array([_voc_ap(_joined([f[j] for f in frame_scores], np.float32),
                           _joined([f[j] for f in frame_labels], np.int8), n_gt[j])
                   for j in range(NUM_JOINTS)])
    return ap, mots


def reference_evaluate(sequences: list[SequencePair], *,
                       tracking: bool = True) -> PoseTrackResults:
    """Same results as ``evaluate_sequences`` (without per-sequence), the slow way."""
    import motmetrics as mm

    frames = [(frame.gt, frame.pred) for seq in sequences for frame in seq.frames]
    ap, mots = _ap_and_mot_input([(_rects(gt), _rects(pred)) for gt, pred in frames])
    mot_by_seq, start = [], 0
    for seq in sequences:
        mot_by_seq.append(mots[start:start + len(seq.frames)])
        start += len(seq.frames)
    if not tracking:
        return PoseTrackResults(ap_per_joint=ap)
    totals = {name: np.zeros(NUM_JOINTS) for name in _MOT_COUNTS + ["sum_d", "sum_d_matched"]}
    metrics = mm.metrics.create()
    with mm.lap.set_default_solver("scipy"):
        for mots in mot_by_seq:
            accs = [mm.MOTAccumulator(auto_id=True) for _ in range(NUM_JOINTS)]
            for mot in mots[:-1]:
                for j in range(NUM_JOINTS):
                    if mot is None:
                        accs[j].update([0], [0], np.full((1, 1), np.nan))
                    else:
                        accs[j].update(*mot[j])
            for j in range(NUM_JOINTS):
                values = metrics.compute(accs[j], metrics=_MOT_COUNTS, return_dataframe=False)
                for name in _MOT_COUNTS:
                    totals[name][j] += values[name]
                events = accs[j].events
                totals["sum_d"][j] += np.nan_to_num(events["D"].sum())
                totals["sum_d_matched"][j] += np.nan_to_num(
                    events[events.Type.isin(["MATCH", "SWITCH"])]["D"].sum())
    return PoseTrackResults(ap_per_joint=ap, **_mot_from_totals(totals))


def _mot_from_totals(t: dict) -> dict:
    out = {k: np.zeros(NUM_JOINTS) for k in ("mota_per_joint", "motp_per_joint",
                                             "motp_legacy_per_joint", "precision_per_joint",
                                             "recall_per_joint")}
    for j in range(NUM_JOINTS):
        n_obj = t["num_objects"][j] if t["num_objects"][j] > 0 else np.nan
        n_fp, n_det = t["num_false_positives"][j], t["num_detections"][j]
        out["mota_per_joint"][j] = 100 * (1.0 - (t["num_misses"][j] + t["num_switches"][j]
                                                 + n_fp) / n_obj)
        out["motp_per_joint"][j] = 0.0 if n_det == 0 else 100 * (1.0 - t["sum_d"][j] / n_det)
        out["motp_legacy_per_joint"][j] = (0.0 if n_det == 0 else
                                           100 * (1.0 - t["sum_d_matched"][j] / n_det))
        out["precision_per_joint"][j] = 100 * (n_det / (n_fp + n_det if n_fp + n_det > 0
                                                        else np.nan))
        out["recall_per_joint"][j] = 100 * (n_det / n_obj)
    return out


# -- straight from the folders (spec §1-§4), sharing nothing with tracker.eval's loader -------

def reference_ap_from_dirs(gt_dir, pred_dir) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(AP per joint over all sequences, {sequence name: AP per joint of it alone}).

    GT files in ``glob.glob(GT_DIR + "/*.json")`` order, each paired with the prediction file
    of the same name; frames paired by position; the global frame order is that file order,
    then the frame order.
    """
    frames, by_sequence = [], {}
    for gt_path in glob.glob(str(gt_dir) + "/*.json"):
        name = os.path.basename(gt_path)
        seq_frames = _evaluated_frames(_read(gt_path), _read(os.path.join(str(pred_dir), name)))
        if seq_frames:
            by_sequence[name.split(".")[0]] = _ap_and_mot_input(seq_frames)[0]
        frames += seq_frames
    return _ap_and_mot_input(frames)[0], by_sequence


def _read(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _evaluated_frames(gt: dict, pred: dict) -> list[tuple[list[dict], list[dict]]]:
    """(GT rects, predicted rects) of the frames whose GT image has people (§4.1), with the
    points inside the GT frame's ignore polygons removed (§4.2)."""
    frames = []
    for (gt_rects, polygons), (pr_rects, _) in zip(_images(gt), _images(pred)):
        if not gt_rects:
            continue
        if polygons:
            gt_rects, pr_rects = _outside(gt_rects, polygons), _outside(pr_rects, polygons)
        frames.append((gt_rects, pr_rects))
    return frames


def _images(data: dict) -> list[tuple[list[dict], list]]:
    """Per image in list order: (its annotations in file order as rects, ignore polygons)."""
    names = data["categories"][0]["keypoints"]
    joints = [POSEVAL_JOINTS.index(n) if n in POSEVAL_JOINTS else None for n in names]
    images = []
    for image in data["images"]:
        rects = [_rect(a, joints) for a in data["annotations"] if a["image_id"] == image["id"]]
        xs, ys = image.get("ignore_regions_x", []), image.get("ignore_regions_y", [])
        images.append((rects, [shapely.Polygon(list(zip(x, y))) for x, y in zip(xs, ys)]))
    return images


def _rect(ann: dict, joints: list) -> dict:
    """One annotation: a point per keypoint that is not exactly (0, 0, 0) and not an ear,
    scored only if ``scores`` is a non-empty list (§2.2)."""
    keypoints = np.array(ann["keypoints"], np.float64).reshape(len(joints), 3)
    scores = ann.get("scores")
    points = []
    for column, joint in enumerate(joints):
        x, y, v = keypoints[column]
        if joint is None or (x == 0 and y == 0 and v == 0):
            continue
        point = {"id": joint, "x": float(x), "y": float(y)}
        if scores:
            point["score"] = scores[column]
        points.append(point)
    x, y, w, h = ann.get("bbox_head") or [np.nan] * 4
    return {"track_id": ann["track_id"], "points": points,
            "x1": x, "y1": y, "x2": x + w, "y2": y + h}


def _outside(rects: list[dict], polygons: list) -> list[dict]:
    """Points strictly inside no polygon; rects left without points are removed."""
    kept = []
    for rect in rects:
        points = [p for p in rect["points"] if not any(
            polygon.contains(shapely.Point(p["x"], p["y"])) for polygon in polygons)]
        if points:
            kept.append({**rect, "points": points})
    return kept
