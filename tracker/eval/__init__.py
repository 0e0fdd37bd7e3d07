"""PoseTrack18 evaluation with the numbers of the official poseval (AP, MOTA, MOTP, ...).

Example:
    >>> from tracker.eval import evaluate
    >>> results = evaluate("annotations/val", "predictions/", tracking=True)
    >>> results.ap["total"], results.mota["total"], results.motp   # percent, as poseval
    >>> print(results.table())            # poseval's printed tables
    >>> results.to_dict()                 # JSON-ready, NaN -> None
    >>> results.identity["poses"].identity.idf1, results.identity["boxes"].hota.hota

Next to poseval's numbers, ``evaluate`` reports identity metrics that poseval lacks (IDF1 /
IDP / IDR, HOTA / DetA / AssA / LocA) on person boxes (IoU) and poses (OKS), over the same
frames and people (``tracker.eval.identity_inputs``); ``identity_scores`` / ``hota_scores``
compute them from per-frame ids and similarity matrices (``tracker.eval.identity``).

Lower level: ``load_sequences`` gives the cleaned-up frames as arrays (``SequencePair`` ->
``FramePair`` -> ``PoseSet``), ``evaluate_ap`` / ``accumulate_sequence`` + ``mot_metrics``
compute the metrics on them. Bad input raises ``PoseTrackEvalError`` (a ``FileFormatError``,
so a ``PoseTrackError`` and a ``ValueError``); unreadable files ``FileFormatError``.
"""
from tracker.eval.identity import (HotaScores, IdentityScores, TrackScores, hota_scores,
                                   identity_scores, track_scores)
from tracker.eval.identity_inputs import SequenceBoxes, load_person_boxes, sequence_identity
from tracker.eval.posetrack_ap import ApResult, evaluate_ap, pair_distances
from tracker.eval.posetrack_eval import evaluate, evaluate_files, evaluate_sequences
from tracker.eval.posetrack_io import load_sequences
from tracker.eval.posetrack_types import (POSEVAL_JOINTS, FramePair, PoseSet, PoseTrackEvalError,
                                          SequencePair)
from tracker.eval.posetrack_mota import MotCounts, accumulate_sequence, mot_metrics
from tracker.eval.results import JOINT_GROUPS, PoseTrackResults

__all__ = [
    "ApResult", "FramePair", "HotaScores", "IdentityScores", "JOINT_GROUPS", "MotCounts",
    "POSEVAL_JOINTS", "PoseSet", "PoseTrackEvalError", "PoseTrackResults", "SequenceBoxes",
    "SequencePair", "TrackScores", "accumulate_sequence", "evaluate", "evaluate_ap",
    "evaluate_files", "evaluate_sequences", "hota_scores", "identity_scores",
    "load_person_boxes", "load_sequences", "mot_metrics", "pair_distances",
    "sequence_identity", "track_scores",
]
