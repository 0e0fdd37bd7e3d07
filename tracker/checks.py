"""Checks of values at the boundaries: config mappings onto dataclasses, and the like."""
from __future__ import annotations

import dataclasses

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
