"""PoseResNet checkpoints: mmpose files and plain state dicts -> a strictly loaded network.

Accepted layouts (all read with ``torch.load(weights_only=True)`` by ``tracker.checkpoint``):

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

import re
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from tracker.checkpoint import CheckpointError, key_mismatch, load_tensors
from tracker.pose.net import RESNET_LAYERS

STRIPPED_PREFIXES = ("module.", "_orig_mod.")
BACKBONE_PREFIX, HEAD_PREFIX = "backbone.", "keypoint_head."
_MICROSOFT_HEAD = ("deconv_layers.", "final_layer.")


def read_state_dict(path: str | Path) -> "OrderedDict[str, torch.Tensor]":
    """Tensors of a checkpoint file, with keys in mmpose's naming."""
    return normalize_keys(load_tensors(path, "mmpose"))


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
    from tracker.pose.zoo import pose_models  # local: zoo reads YAML files on first use

    if architecture is None:
        return []
    return [name for name, spec in pose_models().items()
            if spec.backend == "torch" and spec.depth == architecture["depth"]
            and spec.num_deconv_layers == architecture["num_deconv_layers"]
            and spec.num_keypoints == architecture["num_keypoints"]]


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
