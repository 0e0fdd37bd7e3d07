"""Boundary checks: single values and per-channel normalisation constants."""
import numpy as np
import pytest

from tracker.checks import channel_values, finite_number, fraction, positive_int
from tracker.errors import ConfigError


def test_positive_int():
    assert positive_int("n", 3) == 3 and positive_int("n", np.int64(2)) == 2
    for bad in (0, -1, True, 2.0, "3", None):
        with pytest.raises(ConfigError, match="n must be a positive integer, got"):
            positive_int("n", bad)


def test_finite_number():
    assert finite_number("x", 2) == 2.0 and finite_number("x", np.float32(-0.5)) == -0.5
    for bad in (float("nan"), float("inf"), True, "0", None):
        with pytest.raises(ConfigError, match="x must be a finite number, got"):
            finite_number("x", bad)


def test_fraction():
    assert fraction("iou", 0) == 0.0 and fraction("iou", 1) == 1.0
    assert fraction("iou", np.float32(0.5)) == 0.5
    for bad in (1.5, -0.1, float("nan"), False, "high", None):
        with pytest.raises(ConfigError, match=r"iou must be a number in \[0, 1\], got"):
            fraction("iou", bad)


def test_channel_values():
    assert channel_values("mean", [1, 2, 3.5], "R, G, B") == (1.0, 2.0, 3.5)
    assert channel_values("std", np.array([0.5, 1, 2], np.float32), "B, G, R") == (0.5, 1.0, 2.0)
    assert channel_values("mean", (0, 0, 0), "R, G, B") == (0.0, 0.0, 0.0)  # a zero mean is fine
    for bad in ([1, 2], [1, 2, 3, 4], [1, float("inf"), 2], "abc", None, ["a", "b", "c"]):
        with pytest.raises(ConfigError, match=r"mean must be 3 finite numbers \(B, G, R\), got"):
            channel_values("mean", bad, "B, G, R")
    with pytest.raises(ConfigError, match="std must not contain zeros"):
        channel_values("std", (1, 0, 1), "R, G, B")
