"""The project's error types: one root, so the apps map every expected failure to exit code 1.

Every error a user can cause (a bad file, a bad config value, a missing model, an output that
cannot be written) is a ``PoseTrackError``; its message names the file, the field and what was
expected. Each also derives from the built-in type it refines (``ValueError``,
``FileNotFoundError``), so library callers can catch what they already know.
"""
from __future__ import annotations


class PoseTrackError(Exception):
    """Root of the errors the apps report as ``error: <message>`` with exit code 1."""


class ConfigError(PoseTrackError, ValueError):
    """A config or model description is malformed (names the file, the section and the key)."""


class FileFormatError(PoseTrackError, ValueError):
    """An input file is not what it should be (names the file, the entry and the field)."""


class MissingFileError(PoseTrackError, FileNotFoundError):
    """An input file, folder or model that does not exist (names the path and what it is)."""


class OutputError(PoseTrackError, ValueError):
    """An output cannot be written (names the path and why)."""
