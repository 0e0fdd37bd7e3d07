"""The detector zoo: weights and test-time settings of each network detector, in
``configs/detectors.yaml``.

An entry maps 1:1 onto one dataclass: ``DetectorSpec`` (ONNX detectors), or, for entries with
an ``architecture`` key, the class ``MMDET_SPECS[architecture]`` (mmdet checkpoints). Unknown
keys are errors naming the file, the entry and the valid keys.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Optional, Union

from tracker.files import CONFIG_DIR, read_yaml

from tracker.errors import ConfigError

from tracker.checks import construct_config

DETECTOR_ZOO = CONFIG_DIR / "detectors.yaml"


@dataclass(frozen=True)
class DetectorSpec:
    """Weights (file name, address, checksum) and input recipe of one network detector.

    Args:
        name: zoo name.
        filename: file name in the weights cache folder.
        url: download address, or None when no public one exists.
        sha256: full digest or first 8+ hex digits of the weights file.
        input_size: side of the square network input, pixels.
        mean, std: BGR normalisation of the 0..255 pixels.
        score_threshold: default lowest box score kept.
    """

    name: str
    filename: str
    sha256: Optional[str]
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    url: Optional[str] = None
    score_threshold: float = 0.3

    def __post_init__(self) -> None:
        if not isinstance(self.input_size, int) or self.input_size <= 0:
            raise ConfigError(f"input_size must be a positive integer, got {self.input_size!r}")
        for key in ("mean", "std"):
            values = tuple(float(v) for v in getattr(self, key))
            if len(values) != 3:
                raise ConfigError(f"{key} must have 3 values (B, G, R), got {len(values)}")
            object.__setattr__(self, key, values)
        _check_sha256(self.sha256)


def _check_sha256(sha256) -> None:
    if sha256 is not None and not re.fullmatch(r"[0-9a-f]{8,64}", str(sha256)):
        raise ConfigError(f"sha256 must be 8 to 64 lowercase hex digits, got {sha256!r}")


def _check_count(spec, *names: str) -> None:
    for key in names:
        value = getattr(spec, key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{key} must be a positive integer, got {value!r}")


def _check_fraction(spec, *names: str) -> None:
    for key in names:
        value = getattr(spec, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0.0 <= value <= 1.0:
            raise ConfigError(f"{key} must be a number in [0, 1], got {value!r}")
        object.__setattr__(spec, key, float(value))


def _check_number(spec, *names: str) -> None:
    for key in names:
        value = getattr(spec, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ConfigError(f"{key} must be a number, got {value!r}")
        object.__setattr__(spec, key, float(value))


def _check_image_recipe(spec) -> None:
    scale = spec.test_scale
    scale = (scale, scale) if isinstance(scale, int) else tuple(scale)
    if len(scale) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                  for v in scale):
        raise ConfigError(f"test_scale must be two positive integers (long edge, short edge), "
                          f"got {spec.test_scale!r}")
    object.__setattr__(spec, "test_scale", scale)
    for key in ("mean", "std"):
        values = tuple(float(v) for v in getattr(spec, key))
        if len(values) != 3:
            raise ConfigError(f"{key} must have 3 values (R, G, B), got {len(values)}")
        object.__setattr__(spec, key, values)
    _check_count(spec, "pad_divisor")
    _check_sha256(spec.sha256)


#: Fields of an mmdet spec that say where the weights come from; the others are the
#: keyword options of the detector class (``options()``).
_WEIGHTS_FIELDS = ("name", "architecture", "config", "filename", "url", "sha256")


@dataclass(frozen=True)
class _MMDetOptions:
    """Fields every mmdet spec has: where the weights come from, and the image recipe
    (see ``CascadeRCNNSpec``); subclasses add their test-time settings."""

    name: str
    architecture: str
    config: str
    filename: str
    url: Optional[str]
    sha256: Optional[str]
    test_scale: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    pad_divisor: int

    def options(self) -> dict:
        """Keyword arguments of the detector class: every field but the weights' ones."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in _WEIGHTS_FIELDS}


@dataclass(frozen=True)
class CascadeRCNNSpec(_MMDetOptions):
    """mmdet Cascade R-CNN checkpoint and test-time settings (``detectors.CascadeRCNN``).

    Args:
        name: zoo name (mmdet's model-zoo name).
        architecture: "cascade_rcnn_x101_64x4d_fpn".
        config: the mmdet config it comes from (for reference).
        filename, url, sha256: the weights file in the cache folder, its download address
            and its sha256 (prefix).
        test_scale: (long edge, short edge) of the keep-ratio resize.
        mean, std: RGB normalisation of the 0..255 pixels.
        pad_divisor: input padded to a multiple of this.
        rpn_nms_pre, rpn_max_per_img, rpn_nms_iou, rpn_min_bbox_size: RPN proposals per level
            before NMS, after NMS, NMS IoU, smallest kept side.
        score_threshold, nms_iou, max_per_img: final class-probability threshold, per-class
            NMS IoU, detections kept per image.
    """

    rpn_nms_pre: int
    rpn_max_per_img: int
    rpn_nms_iou: float
    rpn_min_bbox_size: float
    score_threshold: float
    nms_iou: float
    max_per_img: int

    def __post_init__(self) -> None:
        _check_image_recipe(self)
        _check_count(self, "rpn_nms_pre", "rpn_max_per_img", "max_per_img")
        _check_fraction(self, "rpn_nms_iou", "score_threshold", "nms_iou")
        _check_number(self, "rpn_min_bbox_size")


@dataclass(frozen=True)
class YOLOv3Spec(_MMDetOptions):
    """mmdet YOLOv3 checkpoint and test-time settings (``detectors.YOLOv3``).

    Args:
        name, architecture ("yolov3_d53"), config, filename, url, sha256: as
            ``CascadeRCNNSpec``.
        test_scale, mean, std, pad_divisor: image recipe.
        conf_threshold: lowest objectness kept.
        score_threshold: class probabilities at or below are dropped (before objectness).
        nms_pre: candidates kept before NMS.
        min_bbox_size: smallest kept box side.
        nms_iou, max_per_img: per-class NMS IoU, detections kept per image.
    """

    conf_threshold: float
    score_threshold: float
    nms_pre: int
    min_bbox_size: float
    nms_iou: float
    max_per_img: int

    def __post_init__(self) -> None:
        _check_image_recipe(self)
        _check_count(self, "nms_pre", "max_per_img")
        _check_fraction(self, "conf_threshold", "score_threshold", "nms_iou")
        _check_number(self, "min_bbox_size")


#: ``architecture`` value of a zoo entry -> the dataclass its keys map onto.
MMDET_SPECS = {"cascade_rcnn_x101_64x4d_fpn": CascadeRCNNSpec, "yolov3_d53": YOLOv3Spec}
ZooSpec = Union[DetectorSpec, CascadeRCNNSpec, YOLOv3Spec]


@lru_cache(maxsize=None)
def detector_zoo() -> dict[str, ZooSpec]:
    """All entries of ``configs/detectors.yaml``, by name."""
    specs = {}
    for name, entry in read_yaml(DETECTOR_ZOO).items():
        where = f"{DETECTOR_ZOO} [{name}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(entry).__name__}")
        spec_class = DetectorSpec
        if "architecture" in entry:
            spec_class = MMDET_SPECS.get(entry["architecture"])
            if spec_class is None:
                raise ConfigError(f"{where}: unknown architecture {entry['architecture']!r}; "
                                  f"valid ones are {sorted(MMDET_SPECS)}")
        specs[name] = construct_config(spec_class, {"name": name, **entry}, where)
    return specs


def zoo_names_for(architecture: str) -> list[str]:
    """Zoo entries whose weights have this mmdet architecture."""
    return [name for name, spec in detector_zoo().items()
            if getattr(spec, "architecture", None) == architecture]
