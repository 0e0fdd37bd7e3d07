import numpy as np
import pytest

from tracker.tracking.smoothing import KeypointSmoother, smoothing_factor

FPS = 30.0


def run(smoother, values, track_id=0, fps=FPS):
    """Feed a (T, K, 2) sequence of one track at ``fps``; returns the (T, K, 2) outputs."""
    return np.stack([smoother(np.array([track_id]), frame[None], t / fps)[0]
                     for t, frame in enumerate(np.asarray(values, np.float32))])


def step_sequence(frames_before=10, frames_after=30, size=100.0):
    values = np.zeros((frames_before + frames_after, 1, 2), np.float32)
    values[frames_before:] = size
    return values


def test_smoothing_factor_matches_paper_formula():
    tau = 1 / (2 * np.pi * 1.0)
    assert smoothing_factor(1.0, 0.1) == pytest.approx(1 / (1 + tau / 0.1))


def test_constant_input_gives_constant_output():
    values = np.tile(np.array([[[10.0, 20.0], [30.5, 40.25]]], np.float32), (20, 1, 1))
    out = run(KeypointSmoother(), values)
    assert out.dtype == np.float32 and out.shape == values.shape
    np.testing.assert_allclose(out, values, atol=1e-4)


def test_first_frame_is_returned_unchanged():
    points = np.array([[[1.0, 2.0], [3.0, 4.0]]], np.float32)
    np.testing.assert_array_equal(KeypointSmoother()(np.array([7]), points, 0.0), points)


def test_step_lags_with_small_beta_and_follows_faster_with_large_beta():
    values = step_sequence()
    slow = run(KeypointSmoother(min_cutoff=1.0, beta=0.0), values)[10:, 0, 0]
    fast = run(KeypointSmoother(min_cutoff=1.0, beta=1.0), values)[10:, 0, 0]
    # gradual: rises monotonically, not at once, towards the new value
    assert 0 < slow[0] < 50 and np.all(np.diff(slow) > 0) and slow[-1] > 90
    assert np.all(fast >= slow) and fast[0] > slow[0] + 20
    assert fast[3] > 95  # large beta: close to the step within a few frames


def test_noise_on_a_static_signal_is_reduced():
    rng = np.random.default_rng(0)
    values = 50.0 + rng.normal(0.0, 2.0, size=(300, 17, 2))
    out = run(KeypointSmoother(min_cutoff=1.0, beta=0.007), values)
    ratio = np.var(out[30:] - 50.0) / np.var(values[30:] - 50.0)
    assert ratio < 0.25
    assert abs(np.mean(out[30:]) - 50.0) < 0.5


def test_tracks_do_not_interact():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 5, (15, 3, 2)).astype(np.float32)
    b = rng.normal(100, 5, (15, 3, 2)).astype(np.float32)
    alone = run(KeypointSmoother(), a, track_id=1)
    both = KeypointSmoother()
    together = []
    for t in range(15):
        # the order of tracks in the frame changes, and track 2 is absent on odd frames
        if t % 2:
            out = both(np.array([1]), a[t][None], t / FPS)[0]
        else:
            out = both(np.array([2, 1]), np.stack([b[t], a[t]]), t / FPS)[1]
        together.append(out)
    np.testing.assert_allclose(np.stack(together), alone, rtol=1e-6)


def test_nan_keypoint_passes_through_and_keeps_its_state():
    values = np.stack([np.full((2, 2), v, np.float32) for v in (0.0, 10.0, 20.0, 30.0)])
    with_nan = values.copy()
    with_nan[2, 1] = np.nan
    smoother = KeypointSmoother(beta=0.0)
    out = run(smoother, with_nan)
    assert np.isnan(out[2, 1]).all() and np.isfinite(out[2, 0]).all()
    assert np.isfinite(out[3]).all()
    # keypoint 1 after the NaN frame == filtering the sequence with that frame left out
    skipped = KeypointSmoother(beta=0.0)
    expected = [skipped(np.array([0]), values[t][None], t / FPS)[0, 1] for t in (0, 1, 3)]
    np.testing.assert_allclose(out[3, 1], expected[-1], rtol=1e-6)
    # keypoint 0 is unaffected by keypoint 1's NaN
    np.testing.assert_allclose(out[:, 0], run(KeypointSmoother(beta=0.0), values)[:, 0])


def test_keypoint_nan_on_first_frame_starts_when_it_appears():
    smoother = KeypointSmoother()
    first = np.array([[[np.nan, np.nan], [1.0, 1.0]]], np.float32)
    assert np.isnan(smoother(np.array([0]), first, 0.0)[0, 0]).all()
    second = np.array([[[5.0, 6.0], [1.0, 1.0]]], np.float32)
    np.testing.assert_array_equal(smoother(np.array([0]), second, 0.1)[0, 0], [5.0, 6.0])


def test_reset_forgets_every_track():
    smoother = KeypointSmoother(beta=0.0)
    run(smoother, np.zeros((5, 1, 2)))
    assert len(smoother) == 1
    smoother.reset()
    assert len(smoother) == 0
    jump = np.full((1, 1, 2), 100.0, np.float32)
    np.testing.assert_array_equal(smoother(np.array([0]), jump, 0.2), jump)


def test_gap_longer_than_max_gap_restarts_and_forgets_the_track():
    smoother = KeypointSmoother(beta=0.0, max_gap_s=0.5)
    run(smoother, np.zeros((5, 1, 2)))  # track 0 at t = 0 .. 4/30 s
    jump = np.full((1, 1, 2), 100.0, np.float32)
    # within the gap: filtered; after it: starts fresh from the new position
    assert smoother(np.array([0]), jump, 0.4)[0, 0, 0] < 100.0
    smoother(np.array([1]), jump, 0.5)
    assert len(smoother) == 2
    smoother(np.array([1]), jump, 1.0)  # track 0 last seen at 0.4 s: forgotten
    assert len(smoother) == 1
    np.testing.assert_array_equal(smoother(np.array([0]), jump * 2, 1.1), jump * 2)


def test_non_increasing_timestamp_uses_a_small_step():
    smoother = KeypointSmoother(beta=0.0)
    smoother(np.array([0]), np.zeros((1, 1, 2)), 1.0)
    same_time = smoother(np.array([0]), np.full((1, 1, 2), 100.0), 1.0)
    earlier = smoother(np.array([0]), np.full((1, 1, 2), 100.0), 0.99)
    assert np.isfinite(same_time).all() and np.isfinite(earlier).all()
    assert 0.0 < same_time[0, 0, 0] < 5.0  # barely moves: almost no time has passed


def test_empty_frame():
    out = KeypointSmoother()(np.zeros(0, np.int64), np.zeros((0, 17, 2), np.float32), 0.0)
    assert out.shape == (0, 17, 2) and out.dtype == np.float32


@pytest.mark.parametrize("kwargs, match", [
    ({"min_cutoff": 0.0}, "min_cutoff"),
    ({"min_cutoff": -1.0}, "min_cutoff"),
    ({"d_cutoff": 0.0}, "d_cutoff"),
    ({"beta": -0.1}, "beta"),
    ({"beta": float("nan")}, "beta"),
    ({"max_gap_s": 0.0}, "max_gap_s"),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KeypointSmoother(**kwargs)


@pytest.mark.parametrize("track_ids, keypoints, match", [
    (np.array([0, 1]), np.zeros((1, 17, 2)), r"keypoints must have shape \(2, K, 2\)"),
    (np.array([0]), np.zeros((1, 17, 3)), "keypoints must have shape"),
    (np.array([3, 3]), np.zeros((2, 17, 2)), "distinct"),
])
def test_invalid_call(track_ids, keypoints, match):
    with pytest.raises(ValueError, match=match):
        KeypointSmoother()(track_ids, keypoints, 0.0)
