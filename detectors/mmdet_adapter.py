"""Any mmdet model through mmdet's own API, for users who have mmdet installed.

mmdet (and mmcv, mmengine) are not dependencies of this project: this module imports them
only when an ``MMDetAPIDetector`` is built. The detector name is
``mmdet:CONFIG:CHECKPOINT`` (the checkpoint may be a URL; everything after the second colon
is taken as is), e.g. ``--detector mmdet:configs/yolox/yolox_l.py:yolox_l.pth``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from detectors.mmdet_common import PERSON_LABEL, as_image
from tracker.errors import PoseTrackError
from tracker.pose.backends import resolve_device
from tracker.types import Detections, Frame

MMDET_PREFIX = "mmdet:"


class MMDetNotInstalledError(PoseTrackError, ImportError, ValueError):
    """The ``mmdet:`` detector was asked for but mmdet cannot be imported."""


def is_mmdet_name(name) -> bool:
    return isinstance(name, str) and name.startswith(MMDET_PREFIX)


def parse_mmdet_name(name: str, checkpoint: Optional[str | Path] = None) -> tuple[str, str]:
    """``mmdet:CONFIG:CHECKPOINT`` (or ``mmdet:CONFIG`` with ``checkpoint``) -> both paths."""
    config, _, from_name = name[len(MMDET_PREFIX):].partition(":")
    if from_name and checkpoint is not None:
        raise ValueError(f"detector {name!r} names its checkpoint; do not also pass "
                         f"checkpoint={str(checkpoint)!r}")
    checkpoint = from_name or checkpoint
    if not config or not checkpoint:
        raise ValueError(f"detector {name!r}: expected 'mmdet:CONFIG:CHECKPOINT' (an mmdet "
                         "config file and its checkpoint file or URL)")
    return config, str(checkpoint)


class MMDetAPIDetector:
    """Runs ``mmdet.apis.init_detector`` / ``inference_detector`` (mmdet 2.x or 3.x).

    Args:
        checkpoint: the checkpoint file or URL.
        config: the mmdet config file.
        score_threshold: lowest person score kept.
        person_label: class index of "person" in the model's classes (0 for COCO).
        device: "cpu", "cuda", "cuda:N" or "auto".

    Raises:
        MMDetNotInstalledError: mmdet is not importable (the message says what to install).
    """

    def __init__(self, checkpoint: str | Path, *, config: str | Path,
                 score_threshold: float = 0.0, person_label: int = PERSON_LABEL,
                 device: str | torch.device = "cpu"):
        try:
            from mmdet.apis import inference_detector, init_detector
        except ImportError as e:
            raise MMDetNotInstalledError(
                f"detector 'mmdet:{config}:{checkpoint}' runs mmdet's own code, which is not "
                f"installed ({e}). Install it with `pip install mmdet mmengine` and a matching "
                "mmcv (see mmdet's installation guide), or use a built-in detector such as "
                "cascade_rcnn_x101_64x4d_fpn_20e_coco or yolov3_d53_mstrain-608_273e_coco."
            ) from e
        if not Path(config).is_file():
            raise FileNotFoundError(f"mmdet config {config} does not exist")
        self.device = resolve_device(device)
        self.score_threshold = float(score_threshold)
        self.person_label = int(person_label)
        self._inference = inference_detector
        self.model = init_detector(str(config), str(checkpoint), device=str(self.device))

    def __call__(self, frame: Frame | np.ndarray) -> Detections:
        result = self._inference(self.model, as_image(frame))
        boxes, scores = _person_boxes(result, self.person_label)
        keep = scores >= self.score_threshold
        order = np.argsort(-scores[keep], kind="stable")
        return Detections(boxes_xyxy=boxes[keep][order], scores=scores[keep][order])


def _person_boxes(result, person_label: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) boxes and (N,) scores of one class from an mmdet 3.x ``DetDataSample`` or an
    mmdet 2.x per-class list of (n, 5) arrays (optionally paired with masks)."""
    instances = getattr(result, "pred_instances", None)
    if instances is not None:
        labels = instances.labels.detach().cpu().numpy()
        boxes = instances.bboxes.detach().cpu().numpy()[labels == person_label]
        scores = instances.scores.detach().cpu().numpy()[labels == person_label]
    else:
        per_class = result[0] if isinstance(result, tuple) else result
        array = np.asarray(per_class[person_label], dtype=np.float32).reshape(-1, 5)
        boxes, scores = array[:, :4], array[:, 4]
    return boxes.astype(np.float32).reshape(-1, 4), scores.astype(np.float32).reshape(-1)
