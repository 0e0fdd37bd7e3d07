"""PoseTrack18 tracking metrics (MOTA, MOTP, precision, recall) as poseval computes them.

poseval (spec §6, `evaluateTracking.py`) feeds one `motmetrics.MOTAccumulator` per joint and
sequence: objects = GT track ids having the joint, hypotheses = predicted track ids having
it, distances = the PCKh-normalised distance where ``<= 0.5`` else NaN ("may not pair").
This module re-implements motmetrics 1.4's ``MOTAccumulator.update`` rules in plain Python
(no pandas), which gives identical counts:

1. an object keeps its previous hypothesis if that hypothesis is present with a finite
   distance (objects visited in GT order);
2. the remaining pairs are solved as motmetrics does with the scipy solver: NaN replaced by
   ``2*r*c + 1`` (``lap.add_expensive_edges``), ``scipy.optimize.linear_sum_assignment``,
   pairs on NaN cells dropped. When every remaining row and column has at most one
   candidate the assignment is unique and taken directly;
3. a new pair is a SWITCH if the object was ever matched to another hypothesis, else a MATCH;
   unpaired objects are MISSes and unpaired hypotheses FPs.

Note: motmetrics itself picks the first installed solver (``lap`` before ``scipy``); poseval's
reference runs had only scipy. Both give the same optimum; only exact cost ties may differ.

Quirks kept (spec §6): the last evaluated frame of every sequence is skipped; a frame with
no GT or no prediction adds exactly one miss and one FP per joint; MOTP uses the sum of the
D column of motmetrics' *full* event table (every candidate pair's RAW row plus the
MATCH/SWITCH rows and the TRANSFER/ASCEND/MIGRATE rows), and a joint without detections
has MOTP 0. ``motp_legacy`` is the classic CLEAR MOTP over MATCH+SWITCH rows only (what the
2017 leaderboard most likely used, spec §6.5).

Deviation: poseval crashes (IndexError) on a sequence with a single evaluated frame when
tracking is evaluated; here such a sequence simply contributes no events (all of its frames
but the last — none — are used), and :func:`single_frame_sequences` lists them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from scipy.optimize import linear_sum_assignment

from tracker.eval.posetrack_ap import DIST_THRESHOLD, pair_distances
from tracker.eval.posetrack_types import NUM_JOINTS, FramePair, SequencePair


def _zeros_int() -> np.ndarray:
    return np.zeros(NUM_JOINTS, np.int64)


def _zeros_float() -> np.ndarray:
    return np.zeros(NUM_JOINTS)


@dataclass
class MotCounts:
    """Per-joint (15,) event counts of motmetrics, summed over sequences.

    sum_distance: D summed over the full event table (poseval's MOTP numerator);
    sum_distance_matched: D over MATCH and SWITCH rows only (legacy MOTP numerator).
    """

    misses: np.ndarray = field(default_factory=_zeros_int)
    switches: np.ndarray = field(default_factory=_zeros_int)
    false_positives: np.ndarray = field(default_factory=_zeros_int)
    objects: np.ndarray = field(default_factory=_zeros_int)
    detections: np.ndarray = field(default_factory=_zeros_int)
    sum_distance: np.ndarray = field(default_factory=_zeros_float)
    sum_distance_matched: np.ndarray = field(default_factory=_zeros_float)

    def __add__(self, other: MotCounts) -> MotCounts:
        return MotCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                            for f in fields(self)})


@dataclass
class _JointTrackState:
    """motmetrics accumulator state for one joint of one sequence."""

    last_hyp: dict = field(default_factory=dict)      # object -> last matched hypothesis (m)
    last_obj: dict = field(default_factory=dict)      # hypothesis -> last object (res_m)
    matched_objects: set = field(default_factory=set)  # objects ever matched (last_match)
    seen_hyps: set = field(default_factory=set)        # hypotheses ever matched (hypHistory)


def accumulate_sequence(frames: tuple[FramePair, ...] | list[FramePair]) -> MotCounts:
    """Event counts of one sequence's evaluated frames, all but the last (spec §6.2)."""
    counts = MotCounts()
    states = [_JointTrackState() for _ in range(NUM_JOINTS)]
    for frame in frames[:-1]:
        _update_frame(counts, states, frame)
    return counts


def _update_frame(counts: MotCounts, states: list[_JointTrackState], frame: FramePair) -> None:
    gt, pred = frame.gt, frame.pred
    if len(gt) == 0 or len(pred) == 0:   # one fake object + one fake hypothesis per joint
        counts.misses += 1
        counts.false_positives += 1
        counts.objects += 1
        return
    dist = pair_distances(gt, pred)                                   # (P, G, 15)
    candidate = dist <= DIST_THRESHOLD
    n_objects = gt.present.sum(axis=0)
    n_hyps = pred.present.sum(axis=0)
    counts.objects += n_objects
    counts.sum_distance += np.where(candidate, dist, 0.0).sum(axis=(0, 1))   # RAW rows
    matched = np.zeros(NUM_JOINTS, np.int64)
    p_idx, g_idx, j_idx = np.nonzero(candidate)
    if len(j_idx):
        pairs = [{} for _ in range(NUM_JOINTS)]
        for p, g, j, d in zip(p_idx.tolist(), g_idx.tolist(), j_idx.tolist(),
                              dist[candidate].tolist()):
            pairs[j][g, p] = d
        gt_ids, pred_ids = gt.track_ids.tolist(), pred.track_ids.tolist()
        pred_of_id = {tid: p for p, tid in enumerate(pred_ids)}
        for j in set(j_idx.tolist()):
            n, switches, d_all, d_matched = _match_joint(
                states[j], pairs[j], gt_ids=gt_ids, pred_ids=pred_ids, pred_of_id=pred_of_id,
                gt_has=gt.present[:, j], pred_has=pred.present[:, j])
            matched[j] = n
            counts.switches[j] += switches
            counts.sum_distance[j] += d_all
            counts.sum_distance_matched[j] += d_matched
    counts.detections += matched
    counts.misses += n_objects - matched
    counts.false_positives += n_hyps - matched


def _match_joint(state: _JointTrackState, pairs: dict, *, gt_ids: list, pred_ids: list,
                 pred_of_id: dict, gt_has: np.ndarray,
                 pred_has: np.ndarray) -> tuple[int, int, float, float]:
    """One ``MOTAccumulator.update`` for one joint: (matches+switches, switches, D of the
    MATCH/SWITCH/ASCEND/TRANSFER/MIGRATE rows, D of the MATCH/SWITCH rows).

    pairs: {(gt index, pred index): distance} of the candidate pairs (distance <= 0.5).
    gt_has (G,) / pred_has (P,): which people have the joint (objects / hypotheses).
    """
    used_g, used_p, d_all, d_matched = _keep_previous(state, pairs, gt_ids=gt_ids,
                                                      pred_of_id=pred_of_id)
    n_matched = len(used_g)
    rest = [(g, p, d) for (g, p), d in pairs.items() if g not in used_g and p not in used_p]
    if not rest:
        return n_matched, 0, d_all, d_matched
    if len({g for g, _, _ in rest}) == len(rest) == len({p for _, p, _ in rest}):
        new_pairs = sorted(rest)                        # unique assignment, in row order
    else:
        new_pairs = _solve_scipy(rest, objects=np.flatnonzero(gt_has).tolist(),
                                 hyps=np.flatnonzero(pred_has).tolist())
    n_switches, d_all, d_matched = _record_new_pairs(state, new_pairs, gt_ids=gt_ids,
                                                     pred_ids=pred_ids, d_all=d_all,
                                                     d_matched=d_matched)
    return n_matched + len(new_pairs), n_switches, d_all, d_matched


def _keep_previous(state: _JointTrackState, pairs: dict, *, gt_ids: list,
                   pred_of_id: dict) -> tuple[set, set, float, float]:
    """Step 1 of the update: previous correspondences that are still candidate pairs, objects
    in GT order (only paired objects can match). Returns the GT and prediction indices used
    and their distances summed (twice: the running sums of both kinds of rows)."""
    used_g, used_p = set(), set()
    d_all = d_matched = 0.0
    for g in sorted({g for g, _ in pairs}):
        o = gt_ids[g]
        if o not in state.last_hyp:
            continue
        p = pred_of_id.get(state.last_hyp[o])
        if p is None or p in used_p or (g, p) not in pairs:
            continue
        used_g.add(g)   # (o and its hypothesis are already in matched_objects / seen_hyps)
        used_p.add(p)
        d_all += pairs[g, p]
        d_matched += pairs[g, p]
    return used_g, used_p, d_all, d_matched


def _record_new_pairs(state: _JointTrackState, new_pairs: list, *, gt_ids: list,
                      pred_ids: list, d_all: float,
                      d_matched: float) -> tuple[int, float, float]:
    """Steps 2-3: the new pairs update the correspondences. Returns the number of id
    switches and the running sums ``d_all`` (MATCH/SWITCH/ASCEND/TRANSFER/MIGRATE rows) and
    ``d_matched`` (MATCH/SWITCH rows), added to in the accumulator's row order."""
    n_switches = 0
    for g, p, d in new_pairs:
        o, h = gt_ids[g], pred_ids[p]
        if o in state.last_hyp and state.last_hyp[o] != h:
            n_switches += 1
            if h not in state.seen_hyps:
                d_all += d                              # ASCEND row
        if h in state.last_obj and state.last_obj[h] != o:
            d_all += d                                  # TRANSFER row
            if o not in state.matched_objects:
                d_all += d                              # MIGRATE row
        state.seen_hyps.add(h)
        state.matched_objects.add(o)
        state.last_hyp[o] = h
        state.last_obj[h] = o
        d_all += d
        d_matched += d
    return n_switches, d_all, d_matched


def _solve_scipy(rest: list, *, objects: list, hyps: list) -> list:
    """motmetrics' ``lsa_solve_scipy`` on the (objects x hyps) matrix: NaN except ``rest``."""
    row_of = {g: r for r, g in enumerate(objects)}
    col_of = {p: c for c, p in enumerate(hyps)}
    costs = np.full((len(objects), len(hyps)), np.nan)
    for g, p, d in rest:
        costs[row_of[g], col_of[p]] = d
    valid = np.isfinite(costs)
    large = 2 * min(costs.shape) * (np.abs(costs[valid]).max() + 1) + 1
    rows, cols = linear_sum_assignment(np.where(valid, costs, large))
    return [(objects[r], hyps[c], costs[r, c]) for r, c in zip(rows, cols) if valid[r, c]]


def single_frame_sequences(sequences: list[SequencePair]) -> tuple[str, ...]:
    """Names of sequences with exactly one evaluated frame (poseval's tracking crashes)."""
    return tuple(s.name for s in sequences if len(s.frames) == 1)


def mot_metrics(counts: MotCounts) -> dict[str, np.ndarray]:
    """Per-joint (15,) ``mota``, ``motp``, ``motp_legacy``, ``precision``, ``recall`` in
    percent (spec §6.4): MOTA NaN without objects, MOTP 0 without detections, precision NaN
    without detections and FPs."""
    objects = np.where(counts.objects > 0, counts.objects, np.nan)
    detections = counts.detections.astype(np.float64)
    reported = (counts.detections + counts.false_positives).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        errors = counts.misses + counts.switches + counts.false_positives
        return {
            "mota": 100 * (1.0 - errors / objects),
            "motp": np.where(detections > 0, 100 * (1.0 - counts.sum_distance / detections),
                             0.0),
            "motp_legacy": np.where(
                detections > 0, 100 * (1.0 - counts.sum_distance_matched / detections), 0.0),
            "precision": 100 * (detections / np.where(reported > 0, reported, np.nan)),
            "recall": 100 * (detections / objects),
        }
