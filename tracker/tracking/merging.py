"""One track per person (step 5 of ``RobustPoseTracker``): duplicate poses and duplicate tracks.

Two poses are duplicates when their OKS is above ``merge_oks``; a pose duplicating one that
a track took starts no track, and two confirmed tracks whose poses stay duplicates for
``merge_frames`` consecutive frames are one person: the younger is retired.
"""
from __future__ import annotations

import numpy as np

from tracker.tracking.association import oks_matrix


def duplicated_by(keypoints_xy: np.ndarray, scores: np.ndarray, areas: np.ndarray,
                  columns: list, sigmas: np.ndarray, min_oks: float,
                  min_score: float) -> np.ndarray:
    """(N,) bool: pose i has OKS above ``min_oks`` with one of the poses ``columns`` (other
    than itself).

    Args:
        keypoints_xy: (N, K, 2). scores: (N, K) keypoint scores; joints at or below
            ``min_score`` are not compared. areas: (N,) pose areas, px^2.
    """
    if not columns:
        return np.zeros(len(keypoints_xy), bool)
    oks = oks_matrix(keypoints_xy, keypoints_xy[columns], areas, areas[columns], sigmas,
                     scores, scores[columns], min_score)
    oks[columns, np.arange(len(columns))] = 0.0     # a pose does not duplicate itself
    return (oks > min_oks).any(axis=1)


class DuplicateTracks:
    """Counts the consecutive frames each pair of tracks keeps the same pose.

    Args:
        sigmas: (K,) OKS constants. min_oks: OKS above which two poses are one person.
        frames: consecutive frames that make two tracks one (>= 1).
        min_score: joints scored at or below this are not compared.
    """

    def __init__(self, *, sigmas, min_oks: float, frames: int, min_score: float) -> None:
        self.sigmas, self.min_oks, self.frames, self.min_score = sigmas, min_oks, frames, min_score
        self._counts: dict[tuple[int, int], int] = {}

    def reset(self) -> None:
        self._counts = {}

    def younger_duplicates(self, tracks: list) -> list:
        """Of the visible confirmed ``tracks`` (``TrackState``), the younger of each pair
        whose poses were duplicates for ``frames`` frames in a row, this one included."""
        seen, retired, gone = set(), [], set()
        if len(tracks) >= 2:
            keypoints = np.stack([t.keypoints for t in tracks])
            scores = np.stack([t.scores for t in tracks])
            areas = np.array([t.area for t in tracks])
            oks = oks_matrix(keypoints, keypoints, areas, areas, self.sigmas, scores, scores,
                             self.min_score)
            for a, b in zip(*np.nonzero(np.triu(oks > self.min_oks, k=1))):
                older, younger = sorted((tracks[a], tracks[b]), key=lambda t: t.track_id)
                pair = (older.uid, younger.uid)
                seen.add(pair)
                self._counts[pair] = self._counts.get(pair, 0) + 1
                if self._counts[pair] >= self.frames and younger.uid not in gone:
                    retired.append(younger)
                    gone.add(younger.uid)
        self._counts = {pair: n for pair, n in self._counts.items() if pair in seen}
        return retired
