"""OKS matrix and matchers: hand-computed values, empty inputs, one index convention."""
import numpy as np
import pytest

from tracker.tracking.association import (match_greedy, match_hungarian, match_in_stages,
                                          oks_matrix)

SIGMAS = np.full(3, 0.1)


def test_oks_identical_and_displaced():
    a = np.array([[[0, 0], [10, 0], [0, 10]]], float)
    b = a + np.array([3.0, 4.0])  # every keypoint 5 px away
    oks = oks_matrix(a, np.concatenate([a, b]), [100.0], [100.0, 100.0], SIGMAS)
    # e = d^2 / (2 sigma)^2 / area / 2 = 25 / 0.04 / 100 / 2 = 3.125
    np.testing.assert_allclose(oks, [[1.0, np.exp(-3.125)]])


def test_oks_ignores_low_scores_and_empty_masks():
    a = np.zeros((1, 3, 2))
    b = np.array([[[0, 0], [50, 50], [50, 50]]], float)
    scores_b = np.array([[0.9, 0.1, 0.1]])
    assert oks_matrix(a, b, [100.0], [100.0], SIGMAS, None, scores_b, 0.5)[0, 0] == 1.0
    assert oks_matrix(a, b, [100.0], [100.0], SIGMAS, None, np.zeros((1, 3)), 0.5)[0, 0] == 0.0
    assert oks_matrix(np.zeros((0, 3, 2)), b, [], [1.0], SIGMAS).shape == (0, 1)


@pytest.mark.parametrize("match", [match_greedy, match_hungarian])
def test_matchers_contract(match):
    similarity = np.array([[0.9, 0.1, 0.0], [0.2, 0.05, 0.0]])
    matches, tracks, detections = match(similarity, 0.15)
    assert matches.tolist() == [[0, 0]] and tracks.tolist() == [1]
    assert detections.tolist() == [1, 2]
    matches, tracks, detections = match(np.zeros((0, 2)), 0.1)
    assert matches.shape == (0, 2) and tracks.size == 0 and detections.tolist() == [0, 1]


def test_greedy_and_hungarian_differ_where_they_should():
    # greedy takes 0.9 first and leaves 0.1; the assignment maximises the total (0.8 + 0.8)
    similarity = np.array([[0.9, 0.8], [0.8, 0.1]])
    assert match_greedy(similarity, 0.05)[0].tolist() == [[0, 0], [1, 1]]
    assert sorted(match_hungarian(similarity, 0.05)[0].tolist()) == [[0, 1], [1, 0]]


def test_hungarian_gives_the_optimum_where_a_large_forbidden_cost_did_not():
    from tracker.tracking.association import match_hungarian
    similarity = np.array([[.106, .774, .002, .015, 0], [.837, .083, .002, .061, .029],
                           [.111, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    matches, _, _ = match_hungarian(similarity, 0.1)
    assert sorted(matches.tolist()) == [[0, 1], [1, 0]]


def test_match_in_stages_matches_each_stage_among_the_free_tracks_and_detections():
    similarity = np.array([[0.9, 0.8, 0.0],
                           [0.85, 0.0, 0.0],
                           [0.0, 0.0, 0.7]])
    # stage 1: tracks 0-1 with detection 0 only -> track 0 takes it (0.9 > 0.85);
    # stage 2: every free track with every free detection -> track 2 takes detection 2;
    # track 1's only good detection is taken, so it stays free
    stages = [(np.array([True, True, False]), np.array([True, False, False])),
              (np.ones(3, bool), np.ones(3, bool))]
    rows, columns = match_in_stages(similarity, stages, 0.5)
    assert rows.tolist() == [0, 2] and columns.tolist() == [0, 2]
    # one joint stage instead: the optimum gives track 0 detection 1, track 1 detection 0
    rows, columns = match_in_stages(similarity, [(np.ones(3, bool), np.ones(3, bool))], 0.5)
    assert sorted(zip(rows.tolist(), columns.tolist())) == [(0, 1), (1, 0), (2, 2)]
    empty = match_in_stages(np.zeros((0, 2)), stages[:0], 0.5)
    assert empty[0].dtype == np.int64 and len(empty[0]) == len(empty[1]) == 0
