"""Similarity matrices and matchers for track association (pure functions).

Index convention everywhere: rows are tracks, columns are detections (current poses).
A matcher returns ``(matches (L, 2) int64 as (track, detection), unmatched_tracks (T',),
unmatched_detections (D',))``; empty inputs give empty arrays of the right shape.
"""
from __future__ import annotations

import numpy as np

#: Added to the OKS scale so that zero-area poses do not divide by zero (COCO uses eps too).
OKS_EPS = np.spacing(1)


def oks_matrix(keypoints_a: np.ndarray, keypoints_b: np.ndarray, areas_a: np.ndarray,
               areas_b: np.ndarray, sigmas: np.ndarray, scores_a: np.ndarray | None = None,
               scores_b: np.ndarray | None = None, min_score: float = 0.0) -> np.ndarray:
    """Object keypoint similarity between every pose of ``a`` and every pose of ``b``.

    ``OKS = mean_k exp(-d_k^2 / (2 * s^2 * (2 sigma_k)^2))`` over the keypoints scored above
    ``min_score`` in both poses, with ``s^2`` the mean of the two poses' areas (the symmetric
    form Simple Baselines' ``oks_iou`` uses when comparing two predictions). Pairs with no
    keypoint above ``min_score`` get 0.

    Args:
        keypoints_a: (N, K, 2) pixels. keypoints_b: (M, K, 2) pixels.
        areas_a: (N,), areas_b: (M,) pose areas in pixels^2 (box width * height).
        sigmas: (K,) per-keypoint OKS constants of the keypoint set.
        scores_a: (N, K), scores_b: (M, K) keypoint scores, or None (all keypoints count).

    Returns:
        (N, M) float64 in [0, 1].
    """
    a = np.asarray(keypoints_a, np.float64)
    b = np.asarray(keypoints_b, np.float64)
    n, m, k = len(a), len(b), len(sigmas)
    if n == 0 or m == 0:
        return np.zeros((n, m))
    variances = (2.0 * np.asarray(sigmas, np.float64)) ** 2
    squared = ((a[:, None] - b[None, :]) ** 2).sum(axis=3)  # (N, M, K)
    scale = (np.asarray(areas_a, np.float64)[:, None] + np.asarray(areas_b, np.float64)[None]) / 2
    e = squared / variances / (scale[..., None] + OKS_EPS) / 2.0
    mask = np.ones((n, m, k), bool)
    if scores_a is not None:
        mask &= (np.asarray(scores_a) > min_score)[:, None, :]
    if scores_b is not None:
        mask &= (np.asarray(scores_b) > min_score)[None, :, :]
    mask &= np.isfinite(e)
    terms = np.where(mask, np.exp(-np.where(mask, e, 0.0)), 0.0)
    counts = mask.sum(axis=2)
    return np.where(counts > 0, terms.sum(axis=2) / np.maximum(counts, 1), 0.0)


def _empty_result(num_tracks: int, num_detections: int):
    return (np.zeros((0, 2), np.int64), np.arange(num_tracks, dtype=np.int64),
            np.arange(num_detections, dtype=np.int64))


def _unmatched(matches: np.ndarray, num_tracks: int, num_detections: int):
    free_tracks = np.ones(num_tracks, bool)
    free_tracks[matches[:, 0]] = False
    free_detections = np.ones(num_detections, bool)
    free_detections[matches[:, 1]] = False
    return matches, np.flatnonzero(free_tracks), np.flatnonzero(free_detections)


def match_greedy(similarity: np.ndarray, min_similarity: float):
    """The paper's matcher (from Detect-and-Track): repeatedly take the most similar
    (track, detection) pair above ``min_similarity`` and remove both.

    Greedy is what Simple Baselines reports; it favours confident pairs and is stable when
    one person is much more similar than the rest, which is the common case in video.
    """
    similarity = np.asarray(similarity, np.float64)
    num_tracks, num_detections = similarity.shape
    if similarity.size == 0:
        return _empty_result(num_tracks, num_detections)
    order = np.argsort(-similarity, axis=None, kind="stable")
    used_tracks = np.zeros(num_tracks, bool)
    used_detections = np.zeros(num_detections, bool)
    matches = []
    for flat in order:
        track, detection = divmod(int(flat), num_detections)
        if similarity[track, detection] < min_similarity:
            break
        if not used_tracks[track] and not used_detections[detection]:
            used_tracks[track] = used_detections[detection] = True
            matches.append((track, detection))
    return _unmatched(np.asarray(matches, np.int64).reshape(-1, 2), num_tracks, num_detections)


def match_hungarian(similarity: np.ndarray, min_similarity: float):
    """Maximum-total-similarity assignment (``lap.lapjv``) over pairs >= ``min_similarity``.

    Same contract as ``match_greedy``. Better than greedy when several people are about
    equally similar to several tracks (crowds, crossings).
    """
    import lap

    similarity = np.asarray(similarity, np.float64)
    num_tracks, num_detections = similarity.shape
    if similarity.size == 0:
        return _empty_result(num_tracks, num_detections)
    allowed = similarity >= min_similarity
    # maximise the total similarity of allowed pairs; a 1e6 cost for disallowed pairs made
    # lapjv return non-optimal assignments (a weak pair taking a strong one's detection)
    cost = -np.where(allowed, similarity, 0.0)
    _, track_to_detection, _ = lap.lapjv(cost, extend_cost=True)
    matches = [(t, d) for t, d in enumerate(track_to_detection) if d >= 0 and allowed[t, d]]
    return _unmatched(np.asarray(matches, np.int64).reshape(-1, 2), num_tracks, num_detections)


#: Matchers by name, for configuration files.
MATCHERS = {"greedy": match_greedy, "hungarian": match_hungarian}


def match_in_stages(similarity: np.ndarray, stages, min_similarity: float,
                    matcher=match_hungarian) -> tuple[np.ndarray, np.ndarray]:
    """A cascade of matchings (ByteTrack's two stages, generalised): each stage matches its
    tracks still free to its detections still free.

    Args:
        similarity: (T, D) track-detection similarity.
        stages: sequence of (tracks (T,) bool, detections (D,) bool) masks, in order.
        min_similarity, matcher: as for ``match_hungarian``.

    Returns:
        (rows (L,), columns (L,)) int64: track row ``rows[i]`` took detection ``columns[i]``,
        stage by stage.
    """
    similarity = np.asarray(similarity, np.float64)
    free_tracks = np.ones(similarity.shape[0], bool)
    free_detections = np.ones(similarity.shape[1], bool)
    rows, columns = [], []
    for track_mask, detection_mask in stages:
        tracks = np.flatnonzero(track_mask & free_tracks)
        detections = np.flatnonzero(detection_mask & free_detections)
        if len(tracks) == 0 or len(detections) == 0:
            continue
        matches, _, _ = matcher(similarity[np.ix_(tracks, detections)], min_similarity)
        rows += tracks[matches[:, 0]].tolist()
        columns += detections[matches[:, 1]].tolist()
        free_tracks[tracks[matches[:, 0]]] = False
        free_detections[detections[matches[:, 1]]] = False
    return np.array(rows, np.int64), np.array(columns, np.int64)
