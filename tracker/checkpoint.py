"""Reading OpenMMLab checkpoint files without mmcv (pose networks and detectors alike).

``load_tensors`` reads an ``{'meta', 'state_dict'}`` file or a plain state dict with
``torch.load(weights_only=True)`` (never ``weights_only=False``: a checkpoint cannot run
code), CRC-checks zip checkpoints (torch does not) and allows the numpy scalars mmcv-era files
keep in ``meta``. A file torch cannot read is a one-line ``CheckpointError`` naming it.
``key_mismatch`` lists what keeps a state dict from loading strictly. Network-specific key
mapping lives with each network (``tracker.pose.checkpoint``, ``detectors.mmdet_checkpoint``).
"""
from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from tracker.errors import PoseTrackError

class CheckpointError(PoseTrackError, ValueError):
    """A checkpoint cannot be read, or does not fit the network (names the file)."""


def load_tensors(path: str | Path, framework: str) -> dict:
    """The tensors of an OpenMMLab checkpoint (``{'meta', 'state_dict'}``) or a plain state
    dict, keys as stored. ``framework`` ("mmpose", "mmdet") only words the errors.

    Read with ``torch.load(weights_only=True)``; numpy scalars and arrays that mmcv-era files
    keep in ``meta`` are allowed (data only, no code).

    Raises:
        CheckpointError: truncated, corrupt, not a torch file, or holding no state dict.
    """
    path = Path(path)
    _check_zip_integrity(path)
    try:
        with warnings.catch_warnings():     # torch warns about any pickle protocol but 2
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            try:
                obj = torch.load(path, map_location="cpu", weights_only=True)
            except pickle.UnpicklingError:
                with torch.serialization.safe_globals(_numpy_meta_globals()):
                    obj = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError,
            KeyError, IndexError, UnicodeDecodeError, AttributeError, TypeError) as e:
        raise CheckpointError(f"{path} is not a readable torch checkpoint (truncated, corrupt or "
                              f"not a .pth file; torch.load failed: {load_problem(e)})") from e
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(v, torch.Tensor) for v in obj.values()):
        keys = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f"{path} holds no state dict of tensors (top level: {keys}); "
                              f"expected {framework}'s {{'meta', 'state_dict'}} or a plain "
                              "state dict")
    return obj


def load_problem(error: BaseException) -> str:
    """One line saying why ``torch.load(weights_only=True)`` failed, without torch's advice
    to load with ``weights_only=False`` (which would run any code the file holds)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    text = text.split("WeightsUnpickler error:", 1)[-1]
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    found = re.match(r"Unsupported global: GLOBAL (\S+) was not an allowed global", line)
    if found:
        return (f"it holds a Python object of type {found[1]}; only tensors and plain data "
                "are read, never code")
    line = line.split(". Please", 1)[0]
    name = type(error).__name__
    return f"{name}: {line}" if line else f"{name} (empty or cut short)"


def _numpy_meta_globals() -> list:
    """numpy types that mmcv-era checkpoints may keep in ``meta`` (scores, seeds), allowed
    for the weights-only unpickler. Files pickled by numpy 1.x name them
    ``numpy.core.multiarray.*``, numpy 2 ``numpy._core.multiarray.*``."""
    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    dtype_classes = [type(np.dtype(code)) for code in "?bhilqBHILQefdFDSUO"]
    return [multiarray.scalar, multiarray._reconstruct, np.ndarray, np.dtype, *dtype_classes,
            (multiarray.scalar, "numpy.core.multiarray.scalar"),
            (multiarray._reconstruct, "numpy.core.multiarray._reconstruct")]


def _check_zip_integrity(path: Path) -> None:
    """Zip-format checkpoints carry a CRC per tensor; torch does not check them, we do."""
    if not zipfile.is_zipfile(path):
        return  # legacy pickle format (or not a checkpoint: torch.load reports that)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise CheckpointError(f"{path} is not a readable torch checkpoint (truncated or "
                              f"corrupt zip archive): {e}") from e
    if bad is not None:
        raise CheckpointError(f"{path} is not a readable torch checkpoint: the data of {bad!r} "
                              "fails its CRC check (corrupt file; download it again)")


def key_mismatch(expected: dict, state_dict: dict) -> list[str]:
    """Lines listing the missing, unexpected and wrongly shaped keys of ``state_dict``
    against a model's ``expected`` state dict; empty when it fits exactly."""
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong_shape = [f"{k} {tuple(state_dict[k].shape)} (model {tuple(v.shape)})"
                   for k, v in expected.items()
                   if k in state_dict and state_dict[k].shape != v.shape]
    return [f"  {label}: {_describe(keys)}"
            for label, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                ("wrongly shaped keys", wrong_shape)) if keys]


def _describe(keys: list[str], limit: int = 6) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")
