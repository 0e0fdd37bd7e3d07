"""Reading mmdet checkpoint files without mmcv, and loading them strictly.

Accepted layouts (read with ``torch.load(weights_only=True)``): mmdet's
``{'meta': {...}, 'state_dict': {...}}`` (v2.x files as published in the model zoo, zip or
legacy serialisation) or a plain state dict, optionally prefixed ``module.`` or
``_orig_mod.``. Key names are mmdet's own (they did not change from v2.0 to 3.3), e.g.
``backbone.layer1.0.conv2.weight``, ``neck.fpn_convs.0.conv.weight``,
``roi_head.bbox_head.2.fc_cls.weight`` or ``bbox_head.convs_pred.0.weight``.

Loading is strict: missing, unexpected or wrongly shaped keys are a ``CheckpointError`` that
names the file, lists them, and says which known architecture the file has instead.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from tracker.checkpoint import CheckpointError, key_mismatch, load_tensors

STRIPPED_PREFIXES = ("module.", "_orig_mod.")
#: Architecture name -> keys only a checkpoint of that architecture has.
ARCHITECTURE_KEYS = {
    "cascade_rcnn_x101_64x4d_fpn": ("backbone.layer3.22.conv2.weight",
                                    "roi_head.bbox_head.2.fc_cls.weight",
                                    "rpn_head.rpn_cls.weight"),
    "yolov3_d53": ("backbone.conv_res_block5.res3.conv2.conv.weight",
                   "neck.detect3.conv5.conv.weight", "bbox_head.convs_pred.2.weight"),
}
ARCHITECTURE_TITLES = {"cascade_rcnn_x101_64x4d_fpn": "Cascade R-CNN X-101-64x4d-FPN",
                       "yolov3_d53": "YOLOv3 Darknet-53"}


def read_mmdet_state_dict(path: str | Path) -> "OrderedDict[str, torch.Tensor]":
    """The tensors of an mmdet checkpoint file, keys as mmdet names them.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: truncated, corrupt, not a torch file, or holding no state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"detector checkpoint {path} does not exist")
    obj = load_tensors(path, "mmdet")
    state_dict = OrderedDict()
    for key, value in obj.items():
        for prefix in STRIPPED_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        state_dict[key] = value
    return state_dict


def infer_mmdet_architecture(state_dict: dict) -> str | None:
    """The ``ARCHITECTURE_KEYS`` name whose keys the state dict has, if any."""
    for name, keys in ARCHITECTURE_KEYS.items():
        if all(key in state_dict for key in keys):
            return name
    return None


def load_mmdet_weights(model: nn.Module, state_dict: dict, source: str | Path,
                       architecture: str) -> None:
    """Strictly load ``state_dict`` into ``model`` (possibly built on the meta device).

    Floating-point tensors are cast to float32 and assigned (no copy of the weights).

    Raises:
        CheckpointError: missing, unexpected or wrongly shaped keys; the message names the
            file, the expected architecture and the one the file has, with its zoo entries.
    """
    mismatch = key_mismatch(model.state_dict(), state_dict)
    if mismatch:
        title = ARCHITECTURE_TITLES.get(architecture, architecture)
        lines = [f"{source} does not fit detector {title}:", *mismatch]
        found = infer_mmdet_architecture(state_dict)
        if found is not None and found != architecture:
            from detectors.zoo import zoo_names_for  # local: the zoo reads YAML on first use
            lines.append(f"  the file is a {ARCHITECTURE_TITLES[found]} checkpoint; zoo "
                         f"entries of that architecture: {', '.join(zoo_names_for(found))}")
        raise CheckpointError("\n".join(lines))
    tensors = OrderedDict(
        (k, v.float() if v.is_floating_point() else v) for k, v in state_dict.items())
    model.load_state_dict(tensors, strict=True, assign=True)
