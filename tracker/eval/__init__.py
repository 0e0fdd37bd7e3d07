"""PoseTrack18 evaluation with the numbers of the official poseval (AP, MOTA, MOTP, ...).

Example:
    >>> from tracker.eval import evaluate
    >>> results = evaluate("annotations/val", "predictions/", tracking=True)
    >>> results.ap["total"], results.mota["total"], results.motp   # percent, as poseval
    >>> print(results.table())            # poseval's printed tables
    >>> results.to_dict()                 # JSON-ready, NaN -> None

Lower level: ``load_sequences`` gives the cleaned-up frames as arrays (``SequencePair`` ->
``FramePair`` -> ``PoseSet``), ``evaluate_ap`` / ``accumulate_sequence`` + ``mot_metrics``
compute the metrics on them. Bad input raises ``PoseTrackEvalError`` (a ``FileFormatError``,
so a ``PoseTrackError`` and a ``ValueError``); unreadable files ``FileFormatError``.
"""
from tracker.eval.posetrack_ap import ApResult, evaluate_ap, pair_distances
from tracker.eval.posetrack_eval import evaluate, evaluate_files, evaluate_sequences
from tracker.eval.posetrack_io import load_sequences
from tracker.eval.posetrack_types import (POSEVAL_JOINTS, FramePair, PoseSet, PoseTrackEvalError,
                                          SequencePair)
from tracker.eval.posetrack_mota import MotCounts, accumulate_sequence, mot_metrics
from tracker.eval.results import JOINT_GROUPS, PoseTrackResults

__all__ = [
    "ApResult", "FramePair", "JOINT_GROUPS", "MotCounts", "POSEVAL_JOINTS", "PoseSet",
    "PoseTrackEvalError", "PoseTrackResults", "SequencePair", "accumulate_sequence",
    "evaluate", "evaluate_ap", "evaluate_files", "evaluate_sequences", "load_sequences",
    "mot_metrics", "pair_distances",
]
