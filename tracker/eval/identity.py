"""Identity-aware tracking metrics: IDF1 (Ristani et al., ECCV-W 2016) and HOTA (Luiten et
al., IJCV 2020), vectorised over all frames of a sequence.

Inputs, per frame t of one sequence (the inputs of TrackEval's metric classes):
``gt_ids[t]`` (G_t,) and ``pred_ids[t]`` (P_t,) track ids (integers, or any sortable
values), unique within a frame (``ValueError`` otherwise), and ``similarity[t]`` (G_t, P_t)
float64 in [0, 1] (IoU of boxes, OKS of poses, ...). A trajectory is every detection that
carries one id; ids need not be contiguous.

IDF1: a GT detection and a prediction of the same frame *can match* when their similarity is
``>= threshold``. GT and predicted trajectories are matched one to one, globally, by a
min-cost bipartite matching (``scipy.optimize.linear_sum_assignment``) whose cost is the
number of IDFN + IDFP detections; this is the matching that maximises IDTP, the number of
frames in which matched trajectories can match. IDFN = GT detections - IDTP, IDFP =
predictions - IDTP; IDP = IDTP / (IDTP + IDFP), IDR = IDTP / (IDTP + IDFN), IDF1 =
2 IDTP / (2 IDTP + IDFP + IDFN), each 0 when its denominator is 0.

HOTA: one matching per frame serves every localisation threshold alpha. Each frame is
solved by the Hungarian algorithm maximising ``A(g, p) * S(g, p)``, where S is the frame's
similarity and A the alpha-free global alignment of the two trajectories: per frame, each
pair gets ``S / (row sum + column sum - S)`` of the similarity matrix (0 where that
denominator is <= eps), summed over frames into ``soft(g, p)``, and ``A = soft / (|g| + |p|
- soft)`` (|g|, |p| = number of detections). This is the matching of the reference
implementation of the HOTA authors (TrackEval). A frame whose positive-score pairs share no
detection is matched to exactly those pairs without solving (the optimum is unique there).
For each alpha, matched pairs with ``S >= alpha - eps`` are TPs (eps = float64 machine
epsilon, so that a similarity equal to alpha counts although ``np.arange`` may put alpha an
ulp above the decimal value); other GT detections are FNs, other predictions FPs.
DetA = TP / (TP + FN + FP); AssA = mean over TPs of ``c / (|g| + |p| - c)``, c = number of
TPs between the TP's two trajectories; LocA = mean S over TPs (1 without TPs);
HOTA_alpha = sqrt(DetA * AssA). HOTA, DetA, AssA and LocA are the means over the alphas
(0.05, 0.10, ..., 0.95 by default). A sequence without any GT and any prediction scores 0
(LocA 1), as in TrackEval.

Sequences combine by adding their counts (``+``), which is TrackEval's ``combine_sequences``:
sums of IDTP/IDFN/IDFP and of TP/FN/FP, AssA and LocA weighted by the TPs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

#: Localisation thresholds of HOTA (Luiten et al. 2020; TrackEval): 0.05, 0.10, ..., 0.95.
DEFAULT_ALPHAS = np.arange(0.05, 0.99, 0.05)
EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class IdentityScores:
    """IDF1 counts of one sequence or a sum of sequences; ratios are fractions in [0, 1]."""

    idtp: int = 0
    idfn: int = 0
    idfp: int = 0

    def __add__(self, other: IdentityScores) -> IdentityScores:
        return IdentityScores(self.idtp + other.idtp, self.idfn + other.idfn,
                              self.idfp + other.idfp)

    @property
    def idp(self) -> float:
        return self.idtp / max(1.0, self.idtp + self.idfp)

    @property
    def idr(self) -> float:
        return self.idtp / max(1.0, self.idtp + self.idfn)

    @property
    def idf1(self) -> float:
        return self.idtp / max(1.0, self.idtp + 0.5 * self.idfp + 0.5 * self.idfn)


def _zeros() -> np.ndarray:
    return np.zeros(len(DEFAULT_ALPHAS))


@dataclass(frozen=True, eq=False)
class HotaScores:
    """HOTA counts per alpha (A,) of one sequence or a sum of sequences.

    tp/fn/fp: detection counts; association_sum: sum over TPs of the association score
    ``c / (|g| + |p| - c)``; localisation_sum: sum over TPs of the similarity.
    """

    alphas: np.ndarray = field(default_factory=lambda: DEFAULT_ALPHAS.copy())
    tp: np.ndarray = field(default_factory=_zeros)
    fn: np.ndarray = field(default_factory=_zeros)
    fp: np.ndarray = field(default_factory=_zeros)
    association_sum: np.ndarray = field(default_factory=_zeros)
    localisation_sum: np.ndarray = field(default_factory=_zeros)

    def __add__(self, other: HotaScores) -> HotaScores:
        if not np.array_equal(self.alphas, other.alphas):
            raise ValueError("cannot add HotaScores computed with different alphas")
        return HotaScores(self.alphas, self.tp + other.tp, self.fn + other.fn,
                          self.fp + other.fp, self.association_sum + other.association_sum,
                          self.localisation_sum + other.localisation_sum)

    @property
    def det_a_per_alpha(self) -> np.ndarray:
        return self.tp / np.maximum(1.0, self.tp + self.fn + self.fp)

    @property
    def ass_a_per_alpha(self) -> np.ndarray:
        return self.association_sum / np.maximum(1.0, self.tp)

    @property
    def loc_a_per_alpha(self) -> np.ndarray:
        return np.where(self.tp > 0, self.localisation_sum / np.maximum(1.0, self.tp), 1.0)

    @property
    def hota_per_alpha(self) -> np.ndarray:
        return np.sqrt(self.det_a_per_alpha * self.ass_a_per_alpha)

    @property
    def hota(self) -> float:
        return float(self.hota_per_alpha.mean())

    @property
    def det_a(self) -> float:
        return float(self.det_a_per_alpha.mean())

    @property
    def ass_a(self) -> float:
        return float(self.ass_a_per_alpha.mean())

    @property
    def loc_a(self) -> float:
        return float(self.loc_a_per_alpha.mean())


@dataclass(frozen=True, eq=False)
class TrackScores:
    """IDF1 and HOTA counts of one similarity (boxes or poses), addable over sequences."""

    identity: IdentityScores = field(default_factory=IdentityScores)
    hota: HotaScores = field(default_factory=HotaScores)

    def __add__(self, other: TrackScores) -> TrackScores:
        return TrackScores(self.identity + other.identity, self.hota + other.hota)


@dataclass(frozen=True)
class _Pairs:
    """Every (GT detection, prediction) pair of every frame, frame-major then row-major.

    Per pair (M,): frame; gt_det / pred_det index the concatenated detections, gt_track /
    pred_track the trajectories (0..n-1); similarity. bounds (T+1,) cut the pairs into
    frames, n_pred (T,) the predictions per frame; track_size_* the detections per
    trajectory.
    """

    frame: np.ndarray
    gt_det: np.ndarray
    pred_det: np.ndarray
    gt_track: np.ndarray
    pred_track: np.ndarray
    similarity: np.ndarray
    bounds: np.ndarray
    n_pred: np.ndarray
    track_size_gt: np.ndarray
    track_size_pred: np.ndarray

    @property
    def pair_key(self) -> np.ndarray:
        """(M,) one int64 per (GT trajectory, predicted trajectory) combination."""
        return self.gt_track * len(self.track_size_pred) + self.pred_track

    def split_pair_key(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``pair_key`` values -> (GT trajectory, predicted trajectory)."""
        n_cols = max(len(self.track_size_pred), 1)
        return keys // n_cols, keys % n_cols


def frame_pairs(n_gt: np.ndarray, n_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """All (GT, prediction) pairs of every frame, frame-major then row-major.

    n_gt, n_pred: (T,) detections per frame. Returns gt_index (M,) and pred_index (M,) into
    the frames' detections concatenated, and bounds (T+1,): frame t's pairs are
    ``bounds[t]:bounds[t + 1]``, its (n_gt[t], n_pred[t]) matrix flattened.
    """
    n_gt, n_pred = np.asarray(n_gt, np.int64), np.asarray(n_pred, np.int64)
    sizes = n_gt * n_pred
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    frame = np.repeat(np.arange(len(sizes)), sizes)
    local = np.arange(bounds[-1]) - bounds[frame]
    width = np.maximum(n_pred[frame], 1)
    gt_index = (np.cumsum(n_gt) - n_gt)[frame] + local // width
    pred_index = (np.cumsum(n_pred) - n_pred)[frame] + local % width
    return gt_index, pred_index, bounds


def _tracks(ids_per_frame: Sequence, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(trajectory 0..n-1 of every detection, all frames concatenated; detections per
    frame). Raises ValueError for an id repeated within a frame."""
    arrays = [np.asarray(ids).reshape(-1) for ids in ids_per_frame]
    sizes = np.array([len(a) for a in arrays], np.int64)
    flat = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
    _, track = np.unique(flat, return_inverse=True)
    track = track.reshape(-1)
    frame = np.repeat(np.arange(len(sizes)), sizes)
    code = frame * max(len(track), 1) + track
    if len(np.unique(code)) != len(code):
        t = int(frame[np.flatnonzero(np.bincount(code) > 1)[0] // max(len(track), 1)])
        raise ValueError(f"{what}[{t}]: ids must be unique within a frame, got "
                         f"{arrays[t].tolist()}")
    return track, sizes


def _flat_similarity(similarity: Sequence, n_gt: np.ndarray, n_pred: np.ndarray) -> np.ndarray:
    parts = []
    for t, (s, g, p) in enumerate(zip(similarity, n_gt.tolist(), n_pred.tolist())):
        s = np.asarray(s, np.float64)
        if s.shape != (g, p) and not (s.size == 0 and g * p == 0):
            raise ValueError(f"similarity[{t}] must have shape ({g}, {p}) (GT ids x "
                             f"prediction ids of frame {t}), got {s.shape}")
        parts.append(s.reshape(-1))
    flat = np.concatenate(parts) if parts else np.zeros(0)
    if not (np.isfinite(flat).all() and (flat >= 0).all() and (flat <= 1).all()):
        raise ValueError("similarity values must be finite and in [0, 1]")
    return flat


def _pairs(gt_ids: Sequence, pred_ids: Sequence, similarity: Sequence) -> _Pairs:
    if not len(gt_ids) == len(pred_ids) == len(similarity):
        raise ValueError(f"gt_ids, pred_ids and similarity must have one entry per frame, "
                         f"got {len(gt_ids)}, {len(pred_ids)} and {len(similarity)}")
    gt_track_of_det, n_gt = _tracks(gt_ids, "gt_ids")
    pred_track_of_det, n_pred = _tracks(pred_ids, "pred_ids")
    sim = _flat_similarity(similarity, n_gt, n_pred)
    gt_det, pred_det, bounds = frame_pairs(n_gt, n_pred)
    frame = np.repeat(np.arange(len(n_gt)), np.diff(bounds))
    return _Pairs(frame, gt_det, pred_det, gt_track_of_det[gt_det],
                  pred_track_of_det[pred_det], sim, bounds, n_pred,
                  np.bincount(gt_track_of_det), np.bincount(pred_track_of_det))


def identity_scores(gt_ids: Sequence, pred_ids: Sequence, similarity: Sequence,
                    threshold: float = 0.5) -> IdentityScores:
    """IDF1 counts of one sequence (see the module docstring for the inputs).

    threshold: a GT detection and a prediction can match when their similarity is
    ``>= threshold`` (0.5: IoU >= 0.5 as in Ristani et al. and TrackEval).
    """
    return _identity_counts(_pairs(gt_ids, pred_ids, similarity), threshold)


def hota_scores(gt_ids: Sequence, pred_ids: Sequence, similarity: Sequence,
                alphas: np.ndarray = DEFAULT_ALPHAS) -> HotaScores:
    """HOTA counts of one sequence (see the module docstring), one entry per alpha."""
    return _hota_counts(_pairs(gt_ids, pred_ids, similarity), alphas)


def track_scores(gt_ids: Sequence, pred_ids: Sequence, similarity: Sequence, *,
                 threshold: float = 0.5, alphas: np.ndarray = DEFAULT_ALPHAS) -> TrackScores:
    """``identity_scores`` and ``hota_scores`` of the same inputs, read once."""
    pairs = _pairs(gt_ids, pred_ids, similarity)
    return TrackScores(_identity_counts(pairs, threshold), _hota_counts(pairs, alphas))


def _identity_counts(pairs: _Pairs, threshold: float) -> IdentityScores:
    n_gt, n_pred = int(pairs.track_size_gt.sum()), int(pairs.track_size_pred.sum())
    keys, counts = np.unique(pairs.pair_key[pairs.similarity >= threshold],
                             return_counts=True)
    gt_track, pred_track = pairs.split_pair_key(keys)
    rows, row = np.unique(gt_track, return_inverse=True)
    cols, col = np.unique(pred_track, return_inverse=True)
    together = np.zeros((len(rows), len(cols)))   # frames each trajectory pair can match
    together[row, col] = counts
    # min IDFN + IDFP = (GT dets - IDTP) + (predictions - IDTP): maximise IDTP instead;
    # trajectories that can never match stay out of the matrix (they are unmatched anyway).
    r, c = linear_sum_assignment(together, maximize=True)
    idtp = int(together[r, c].sum())
    return IdentityScores(idtp=idtp, idfn=n_gt - idtp, idfp=n_pred - idtp)


def _hota_scores_of_pairs(pairs: _Pairs) -> np.ndarray:
    """(M,) matching score ``A(g, p) * S(g, p)`` of every pair (module docstring)."""
    s = pairs.similarity
    row_sum = np.bincount(pairs.gt_det, weights=s)         # per GT detection of its frame
    col_sum = np.bincount(pairs.pred_det, weights=s)
    union = row_sum[pairs.gt_det] + col_sum[pairs.pred_det] - s
    soft = np.zeros_like(s)
    normalised = union > 0 + EPS
    soft[normalised] = s[normalised] / union[normalised]
    keys, key_of_pair = np.unique(pairs.pair_key, return_inverse=True)
    soft_sum = np.bincount(key_of_pair, weights=soft)      # summed in frame order
    gt_track, pred_track = pairs.split_pair_key(keys)
    alignment = soft_sum / (pairs.track_size_gt[gt_track] + pairs.track_size_pred[pred_track]
                            - soft_sum)
    return alignment[key_of_pair] * s


def _hota_matching(pairs: _Pairs) -> np.ndarray:
    """Indices of the matched pairs with a positive score (the others have similarity 0, so
    they are never TPs), frame by frame."""
    score = _hota_scores_of_pairs(pairs)
    positive = score > 0
    # frames whose positive pairs share no detection: the optimum takes exactly those
    shared = (np.bincount(pairs.gt_det[positive])[pairs.gt_det[positive]] > 1) | \
        (np.bincount(pairs.pred_det[positive])[pairs.pred_det[positive]] > 1)
    hungarian = np.zeros(len(pairs.n_pred), bool)
    hungarian[pairs.frame[positive][shared]] = True
    matched = [np.flatnonzero(positive & ~hungarian[pairs.frame])]
    bounds, widths = pairs.bounds.tolist(), pairs.n_pred.tolist()
    for t in np.flatnonzero(hungarian).tolist():
        start, width = bounds[t], widths[t]
        block = score[start:bounds[t + 1]].reshape(-1, width)
        rows, cols = linear_sum_assignment(-block)
        matched.append(start + rows * width + cols)
    matched = np.sort(np.concatenate(matched))
    return matched[score[matched] > 0]


def _hota_counts(pairs: _Pairs, alphas: np.ndarray) -> HotaScores:
    alphas = np.asarray(alphas, np.float64).reshape(-1)
    matched = _hota_matching(pairs)
    sim = pairs.similarity[matched]
    is_tp = sim[None, :] >= alphas[:, None] - EPS                          # (A, K)
    tp = is_tp.sum(axis=1).astype(np.float64)
    keys, key_of_match = np.unique(pairs.pair_key[matched], return_inverse=True)
    alpha_of_tp, tp_match = np.nonzero(is_tp)
    counts = np.bincount(alpha_of_tp * len(keys) + key_of_match.reshape(-1)[tp_match],
                         minlength=len(alphas) * len(keys)).reshape(len(alphas), len(keys))
    gt_track, pred_track = pairs.split_pair_key(keys)
    union = pairs.track_size_gt[gt_track] + pairs.track_size_pred[pred_track] - counts
    association = counts * (counts / np.maximum(1, union))                 # (A, U)
    return HotaScores(alphas=alphas, tp=tp, fn=pairs.track_size_gt.sum() - tp,
                      fp=pairs.track_size_pred.sum() - tp,
                      association_sum=association.sum(axis=1),
                      localisation_sum=np.where(is_tp, sim[None, :], 0.0).sum(axis=1))
