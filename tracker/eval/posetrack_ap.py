"""Per-frame multi-person pose AP as poseval computes it (spec §5, `assignGTmulti`, `VOCap`).

Per frame, all prediction x GT x joint distances are computed at once:
``dist[p, g, j] = ||gt_j - pred_j|| / head_size_g`` (head size = 0.6 x head-box diagonal),
+inf unless both have joint j. A pair matches when ``dist <= 0.5``. People are assigned by
PCKh, not by score: each prediction keeps its best GT (fraction of the GT's joints it
matches, lowest index on ties), then each GT takes the best prediction left in its column
(lowest index on ties; none if 0). Each present predicted joint is one ranked detection
labelled by its match with the assigned GT (0 if unassigned). AP per joint is the VOC
all-points area of the precision/recall curve over the ranking ``argsort(scores)[::-1]`` of
the float64 concatenation over all frames (sequence order, frame order, then prediction
order) — the exact array poseval builds, so score ties are broken identically. numpy's
default sort is not stable: which of two tied entries ranks first depends on the whole
array (its length, element order and dtype), not only on their own positions. So the array
must be poseval's in every respect: the sequences in poseval's order (``glob`` order, see
``load_sequences(sort_files=False)``), float64, one argsort over all frames (never per frame
or per sequence, never a stable sort or a filtered/re-ordered copy).

Quirks kept on purpose: a joint without any prediction has AP 0 (and counts in the total);
a predicted joint with no GT anywhere has AP NaN; NaN scores rank first.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.eval.posetrack_types import NUM_JOINTS, FramePair, PoseSet

#: PCKh threshold on the head-size-normalised distance (inclusive), `evaluateAP.distThresh`.
DIST_THRESHOLD = 0.5


def pair_distances(gt: PoseSet, pred: PoseSet) -> np.ndarray:
    """(P, G, 15) float64 distance / GT head size; +inf where either joint is absent."""
    diff = gt.keypoints[None, :, :, :] - pred.keypoints[:, None, :, :]          # (P, G, 15, 2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dist = np.sqrt(diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1])
        dist = dist / gt.head_sizes[None, :, None]
    both = pred.present[:, None, :] & gt.present[None, :, :]
    return np.where(both, dist, np.inf)


def assign_people(match: np.ndarray, gt_present: np.ndarray) -> np.ndarray:
    """(P,) GT index assigned to each prediction, -1 for none (spec §5.2).

    match: (P, G, 15) bool ``dist <= 0.5``; gt_present: (G, 15) bool.
    """
    n_pred, n_gt = match.shape[:2]
    gt_of_pred = np.full(n_pred, -1, np.int64)
    if n_pred == 0 or n_gt == 0:
        return gt_of_pred
    pck = 1.0 * match.sum(axis=2)                                               # (P, G)
    n_gt_joints = gt_present.sum(axis=1)
    annotated = n_gt_joints > 0
    pck[:, annotated] = pck[:, annotated] / n_gt_joints[annotated]
    rows = np.arange(n_pred)
    best_gt = pck.argmax(axis=1)
    kept = np.zeros_like(pck)
    kept[rows, best_gt] = pck[rows, best_gt]
    pred_of_gt = kept.argmax(axis=0)
    assigned = kept.max(axis=0) > 0
    gt_of_pred[pred_of_gt[assigned]] = np.flatnonzero(assigned)
    return gt_of_pred


def frame_labels(gt: PoseSet, pred: PoseSet) -> np.ndarray:
    """(P, 15) bool: is each predicted joint a true positive (only meaningful where present)."""
    if len(pred) == 0 or len(gt) == 0:
        return np.zeros((len(pred), NUM_JOINTS), bool)
    match = pair_distances(gt, pred) <= DIST_THRESHOLD
    gt_of_pred = assign_people(match, gt.present)
    labels = np.zeros((len(pred), NUM_JOINTS), bool)
    hit = gt_of_pred >= 0
    labels[hit] = match[np.flatnonzero(hit), gt_of_pred[hit]]
    return labels


@dataclass(frozen=True)
class ApInputs:
    """Ranked detections of a list of frames, in poseval's concatenation order.

    scores, labels, present: (M, 15) over all predicted people of the frames (frame order,
    then file order); n_gt: (15,) float64 number of GT joints.
    """

    scores: np.ndarray
    labels: np.ndarray
    present: np.ndarray
    n_gt: np.ndarray

    @staticmethod
    def concatenate(parts: list[ApInputs]) -> ApInputs:
        if not parts:
            return ap_inputs([])
        return ApInputs(np.concatenate([p.scores for p in parts]),
                        np.concatenate([p.labels for p in parts]),
                        np.concatenate([p.present for p in parts]),
                        np.sum([p.n_gt for p in parts], axis=0))


def ap_inputs(frames: list[FramePair]) -> ApInputs:
    """Scores, TP labels and GT counts of all evaluated frames (spec §5.3)."""
    scores = [np.zeros((0, NUM_JOINTS))]
    labels = [np.zeros((0, NUM_JOINTS), bool)]
    present = [np.zeros((0, NUM_JOINTS), bool)]
    n_gt = np.zeros(NUM_JOINTS)
    for frame in frames:
        n_gt += frame.gt.present.sum(axis=0)
        if len(frame.pred):
            scores.append(frame.pred.scores)
            labels.append(frame_labels(frame.gt, frame.pred))
            present.append(frame.pred.present)
    return ApInputs(np.concatenate(scores), np.concatenate(labels), np.concatenate(present),
                    n_gt)


def average_precision(scores: np.ndarray, labels: np.ndarray,
                      n_gt: float) -> tuple[float, float, float]:
    """(AP, precision, recall) in percent for one joint; (0, 0, 0) without detections.

    scores, labels: (n,) in concatenation order. Ranking is ``argsort(scores)[::-1]``
    (numpy's default sort, reversed: NaN first, ties in implementation-defined order, exactly
    as poseval). AP is the VOC all-points area; ``n_gt == 0`` gives NaN.
    """
    if len(scores) == 0:
        return 0.0, 0.0, 0.0
    # float64 as in poseval (float32 would merge near scores into ties and sort differently)
    order = np.argsort(np.asarray(scores, np.float64))[::-1]
    true_pos = np.cumsum(labels[order] == 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = true_pos / n_gt
    precision = true_pos / np.arange(1, len(scores) + 1)
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    ap = np.sum((mrec[steps] - mrec[steps - 1]) * mpre[steps])
    return ap * 100, precision[-1] * 100, recall[-1] * 100


@dataclass(frozen=True)
class ApResult:
    """Per joint (15,), poseval joint order, percent: AP and precision/recall at the end of
    the ranking; n_gt the number of GT joints."""

    ap: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    n_gt: np.ndarray


def compute_ap(inputs: ApInputs) -> ApResult:
    """AP per joint from the concatenated detections (spec §5.4)."""
    out = np.zeros((3, NUM_JOINTS))
    for j in range(NUM_JOINTS):
        has = inputs.present[:, j]
        out[:, j] = average_precision(inputs.scores[has, j], inputs.labels[has, j],
                                      inputs.n_gt[j])
    return ApResult(out[0], out[1], out[2], inputs.n_gt.copy())


def evaluate_ap(frames: list[FramePair]) -> ApResult:
    """AP per joint over ``frames`` (all sequences' evaluated frames, in order)."""
    return compute_ap(ap_inputs(frames))
