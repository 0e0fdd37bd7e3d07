"""Reading pose-network checkpoints without mmcv: mmpose files and plain state dicts.

Accepted layouts (all read with ``torch.load(weights_only=True)``):

* mmpose 0.x: ``{'meta': {...}, 'state_dict': {'backbone.*', 'keypoint_head.*'}}``, zip or
  legacy (pre-1.6) serialisation;
* a plain state dict with the same keys, optionally prefixed ``module.`` (DataParallel) or
  ``_orig_mod.`` (torch.compile);
* the original Microsoft "Simple Baselines" keys (``conv1.*``, ``layer1.*``, ...,
  ``deconv_layers.*``, ``final_layer.*``), mapped onto the mmpose names.

Loading is strict: any missing, unexpected or wrongly shaped key is an error that lists them
and names the zoo entries whose architecture the file fits.
"""
from __future__ import annotations

import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tracker.pose_net import RESNET_LAYERS

STRIPPED_PREFIXES = ("module.", "_orig_mod.")
BACKBONE_PREFIX, HEAD_PREFIX = "backbone.", "keypoint_head."
_MICROSOFT_HEAD = ("deconv_layers.", "final_layer.")


class CheckpointError(ValueError):
    """A checkpoint cannot be read, or does not fit the network (names the file)."""


def read_state_dict(path: str | Path) -> "OrderedDict[str, torch.Tensor]":
    """Tensors of a checkpoint file, with keys in mmpose's naming."""
    return normalize_keys(load_tensors(path, "mmpose"))


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
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            with torch.serialization.safe_globals(_numpy_meta_globals()):
                obj = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError,
            KeyError, IndexError, UnicodeDecodeError, AttributeError, TypeError) as e:
        raise CheckpointError(f"{path} is not a readable torch checkpoint (truncated, corrupt or "
                              f"not a .pth file): {type(e).__name__}: {e}") from e
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(v, torch.Tensor) for v in obj.values()):
        keys = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f"{path} holds no state dict of tensors (top level: {keys}); "
                              f"expected {framework}'s {{'meta', 'state_dict'}} or a plain "
                              "state dict")
    return obj


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


def normalize_keys(state_dict: dict) -> "OrderedDict[str, torch.Tensor]":
    """Strip wrapper prefixes and map the Microsoft layout onto mmpose's key names."""
    out = OrderedDict()
    for key, value in state_dict.items():
        for prefix in STRIPPED_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        if not key.startswith((BACKBONE_PREFIX, HEAD_PREFIX)):
            key = (HEAD_PREFIX if key.startswith(_MICROSOFT_HEAD) else BACKBONE_PREFIX) + key
        out[key] = value
    return out


def infer_architecture(state_dict: dict) -> dict | None:
    """``{'depth', 'num_deconv_layers', 'num_keypoints'}`` of a PoseResNet state dict, if any."""
    blocks = {int(m.group(1)) for key in state_dict
              if (m := re.match(r"backbone\.layer3\.(\d+)\.", key))}
    depths = [d for d, layers in RESNET_LAYERS.items() if layers[2] == len(blocks)]
    final = state_dict.get("keypoint_head.final_layer.weight")
    deconvs = [key for key, value in state_dict.items()
               if key.startswith("keypoint_head.deconv_layers.") and key.endswith(".weight")
               and value.ndim == 4]
    if not depths or final is None:
        return None
    return {"depth": depths[0], "num_deconv_layers": len(deconvs),
            "num_keypoints": int(final.shape[0])}


def _fitting_zoo_entries(architecture: dict | None) -> list[str]:
    from tracker.zoo import pose_models  # local: zoo reads YAML files on first use

    if architecture is None:
        return []
    return [name for name, spec in pose_models().items()
            if spec.backend == "torch" and spec.depth == architecture["depth"]
            and spec.num_deconv_layers == architecture["num_deconv_layers"]
            and spec.num_keypoints == architecture["num_keypoints"]]


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


def load_into(model: nn.Module, state_dict: dict, source: str | Path, model_name: str) -> None:
    """Strictly load ``state_dict`` into ``model``; on mismatch raise a ``CheckpointError``
    listing missing, unexpected and wrongly shaped keys and the zoo entries the file fits."""
    mismatch = key_mismatch(model.state_dict(), state_dict)
    if mismatch:
        lines = [f"{source} does not fit pose model {model_name!r}:", *mismatch]
        architecture = infer_architecture(state_dict)
        if architecture:
            fits = _fitting_zoo_entries(architecture)
            lines.append(f"  the file looks like ResNet-{architecture['depth']} with "
                         f"{architecture['num_deconv_layers']} deconv layers and "
                         f"{architecture['num_keypoints']} keypoints"
                         + (f"; zoo entries of that architecture: {', '.join(fits)}"
                            if fits else "; no zoo entry has that architecture"))
        raise CheckpointError("\n".join(lines))
    model.load_state_dict(state_dict, strict=True)
