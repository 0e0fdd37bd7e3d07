"""PoseTrack18 evaluation end to end: load, AP, tracking metrics, results.

Same numbers as ``python -m poseval.evaluate --evalPoseEstimation --evalPoseTracking`` (see
`shared/specs/posetrack18-eval.md`); AP and tracking run on the same cleaned-up frames, and so
do the identity metrics (IDF1, HOTA) reported next to poseval's tables.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Iterable, Sequence

from tracker.eval.identity import TrackScores
from tracker.eval.identity_inputs import SIMILARITIES, SequenceBoxes, sequence_identity
from tracker.eval.posetrack_ap import ApInputs, ap_inputs, compute_ap
from tracker.eval.posetrack_io import load_sequence_pair, load_sequences
from tracker.eval.posetrack_types import SequencePair
from tracker.eval.posetrack_mota import (MotCounts, accumulate_sequence, mot_metrics,
                                         single_frame_sequences)
from tracker.eval.results import PoseTrackResults


def evaluate(gt_dir: str | os.PathLike, pred_dir: str | os.PathLike, *, tracking: bool = True,
             identity: bool = True, per_sequence: bool = False, allow_nonfinite: bool = False,
             sort_files: bool = False) -> PoseTrackResults:
    """Evaluate the PoseTrack18 prediction files of ``pred_dir`` against ``gt_dir``.

    tracking: also compute MOTA/MOTP/precision/recall (poseval's ``--evalPoseTracking``).
    identity: with tracking, also IDF1/IDP/IDR and HOTA/DetA/AssA/LocA on person boxes (IoU)
    and poses (OKS) (``tracker.eval.identity_inputs``); not part of poseval.
    per_sequence: also evaluate every sequence alone (poseval's ``-s``).
    allow_nonfinite: accept NaN/Infinity keypoint coordinates (they never match, as in
    poseval) instead of raising :class:`PoseTrackEvalError`.
    sort_files: process GT files sorted by name instead of poseval's ``glob`` (directory)
    order, the default: with tied scores (rounded, missing = -9999, NaN) poseval's AP
    depends on that order (spec section 5.4), so only the default equals poseval exactly.
    """
    sequences = load_sequences(gt_dir, pred_dir, allow_nonfinite=allow_nonfinite,
                               sort_files=sort_files)
    return evaluate_sequences(sequences, tracking=tracking, identity=identity,
                              per_sequence=per_sequence)


def evaluate_files(pairs: Iterable[tuple[str | os.PathLike, str | os.PathLike]], *,
                   tracking: bool = True, identity: bool = True, per_sequence: bool = False,
                   allow_nonfinite: bool = False) -> PoseTrackResults:
    """``evaluate`` over explicit (GT file, prediction file) pairs, sorted by GT file name as
    ``evaluate`` sorts a folder: the same numbers, and errors name these very files."""
    pairs = sorted(((Path(gt), Path(pred)) for gt, pred in pairs), key=lambda p: p[0].name)
    sequences = tuple(load_sequence_pair(gt, pred, allow_nonfinite=allow_nonfinite)
                      for gt, pred in pairs)
    return evaluate_sequences(sequences, tracking=tracking, identity=identity,
                              per_sequence=per_sequence)


def evaluate_sequences(sequences: tuple[SequencePair, ...] | list[SequencePair], *,
                       tracking: bool = True, identity: bool = True,
                       per_sequence: bool = False,
                       person_boxes: Sequence[SequenceBoxes] | None = None
                       ) -> PoseTrackResults:
    """Results over already loaded sequences (``load_sequences``), in their order.

    tracking, identity, per_sequence: as for :func:`evaluate`.
    person_boxes: ``load_person_boxes(s)`` of every sequence of ``sequences``, in order, when
    already read; else the identity metrics read the boxes from the sequences' files.
    """
    if person_boxes is not None and len(person_boxes) != len(sequences):
        raise ValueError(f"person_boxes: expected one entry per sequence ({len(sequences)}), "
                         f"got {len(person_boxes)}")
    kept = [k for k, s in enumerate(sequences) if s.frames]  # poseval never sees frameless ones
    evaluated = [sequences[k] for k in kept]
    inputs = [ap_inputs(s.frames) for s in evaluated]
    counts = [accumulate_sequence(s.frames) for s in evaluated] if tracking else None
    scores = None
    if tracking and identity:
        scores = [sequence_identity(sequences[k], None if person_boxes is None
                                    else person_boxes[k]) for k in kept]
    by_sequence = {}
    if per_sequence:
        for k, seq in enumerate(evaluated):
            by_sequence[seq.name] = _results(inputs[k], counts[k] if tracking else None,
                                             scores[k] if scores is not None else None)
    total_counts = sum(counts, MotCounts()) if tracking else None
    results = _results(ApInputs.concatenate(inputs), total_counts, _summed(scores))
    return dataclasses.replace(
        results, per_sequence=by_sequence,
        single_frame_sequences=single_frame_sequences(evaluated) if tracking else ())


def _summed(scores: list[dict[str, TrackScores]] | None) -> dict[str, TrackScores] | None:
    """Identity counts of all sequences added per similarity (TrackEval's combination)."""
    if scores is None:
        return None
    return {kind: sum((s[kind] for s in scores), TrackScores()) for kind in SIMILARITIES}


def _results(inputs: ApInputs, counts: MotCounts | None,
             identity: dict[str, TrackScores] | None = None) -> PoseTrackResults:
    ap = compute_ap(inputs).ap
    if counts is None:
        return PoseTrackResults(ap_per_joint=ap)
    mot = mot_metrics(counts)
    return PoseTrackResults(ap_per_joint=ap, mota_per_joint=mot["mota"],
                            motp_per_joint=mot["motp"], motp_legacy_per_joint=mot["motp_legacy"],
                            precision_per_joint=mot["precision"], recall_per_joint=mot["recall"],
                            identity=identity)
