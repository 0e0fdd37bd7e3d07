"""Checks of values at the boundaries: config mappings onto dataclasses, and single values.

Every check raises ``ConfigError`` (a ``ValueError``) whose message names the value and what
was expected, and returns the value in its canonical type. The zoo dataclasses
(``tracker.pose.zoo``, ``detectors.zoo``) and the constructors they feed use the same checks,
so a bad value gives the same message from a YAML file and from Python.
"""
from __future__ import annotations

import dataclasses
import math
import numbers

from tracker.errors import ConfigError


def construct_config(cls, values: dict, where: str):
    """``cls(**values)`` with errors that name ``where`` and the offending keys."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(values).__name__}")
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(fields)}")
    try:
        return cls(**values)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from e
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from e


def _is_real(value) -> bool:
    """A real number that is not a bool (numpy scalars count)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def positive_int(name: str, value) -> int:
    """``value`` if it is an integer > 0 (not a bool)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def finite_number(name: str, value) -> float:
    """``value`` as a float if it is a finite real number (not a bool or a string)."""
    if not _is_real(value) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def fraction(name: str, value) -> float:
    """``value`` as a float if it is a number in [0, 1] (thresholds on scores and IoUs)."""
    if not _is_real(value) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def channel_values(name: str, values, channels: str) -> tuple[float, float, float]:
    """Per-channel normalisation constants (``mean`` or ``std``) as 3 floats.

    Args:
        name: the field, in messages; a ``"std"`` must also have no zero.
        values: 3 finite numbers.
        channels: their order, in messages ("R, G, B" or "B, G, R").
    """
    try:
        floats = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        floats = ()
    if len(floats) != 3 or not all(math.isfinite(v) for v in floats):
        raise ConfigError(f"{name} must be 3 finite numbers ({channels}), got {values!r}")
    if name == "std" and 0.0 in floats:
        raise ConfigError(f"std must not contain zeros, got {values!r}")
    return floats
