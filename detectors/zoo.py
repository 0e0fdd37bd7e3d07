"""The detector zoo: weights and test-time settings of each network detector, in
``configs/detectors.yaml``.

An entry maps 1:1 onto one dataclass: ``DetectorSpec`` (ONNX detectors), or, for entries with
an ``architecture`` key, the class ``MMDET_SPECS[architecture]`` (mmdet checkpoints). Unknown
keys are errors naming the file, the entry and the valid keys.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Callable, Optional, Union

from detectors.mmdet_common import check_scale
from tracker.checks import channel_values, construct_config, finite_number, fraction, positive_int
from tracker.errors import ConfigError
from tracker.files import CONFIG_DIR, read_yaml
from tracker.weights import WeightsSource, check_sha256

DETECTOR_ZOO = CONFIG_DIR / "detectors.yaml"


@dataclass(frozen=True)
class DetectorSpec:
    """Weights (file name, address, checksum) and input recipe of one network detector.

    Args:
        name: zoo name.
        filename: file name in the weights cache folder.
        url: download address, or None when no public one exists.
        sha256: full digest or first 8+ hex digits of the weights file (of the extracted
            member when the url is an archive).
        archive_member: the url is a zip holding the weights as this member; None: the url
            is the weights file.
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
    archive_member: Optional[str] = None
    score_threshold: float = 0.3

    def __post_init__(self) -> None:
        _check_fields(self, positive_int, "input_size")
        _check_fields(self, _channel_check("B, G, R"), "mean", "std")
        check_sha256(self.sha256)

    @property
    def weights(self) -> WeightsSource:
        """The weights file in the cache folder, its download address and sha256."""
        return WeightsSource(filename=self.filename, url=self.url, sha256=self.sha256,
                             archive_member=self.archive_member)


def _check_fields(spec, check: Callable, *names: str) -> None:
    """Replace each field ``name`` of a frozen spec by ``check(name, value)``."""
    for key in names:
        object.__setattr__(spec, key, check(key, getattr(spec, key)))


def _channel_check(channels: str) -> Callable:
    """``channel_values`` for values in the order ``channels`` ("R, G, B" or "B, G, R")."""
    return lambda name, values: channel_values(name, values, channels)


def _check_image_recipe(spec) -> None:
    """The fields every mmdet spec has (``_MMDetOptions``)."""
    object.__setattr__(spec, "test_scale", check_scale(spec.test_scale))
    _check_fields(spec, _channel_check("R, G, B"), "mean", "std")
    _check_fields(spec, positive_int, "pad_divisor")
    check_sha256(spec.sha256)


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

    @property
    def weights(self) -> WeightsSource:
        """The weights file in the cache folder, its download address and sha256."""
        return WeightsSource(filename=self.filename, url=self.url, sha256=self.sha256)


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
        _check_fields(self, positive_int, "rpn_nms_pre", "rpn_max_per_img", "max_per_img")
        _check_fields(self, fraction, "rpn_nms_iou", "score_threshold", "nms_iou")
        _check_fields(self, finite_number, "rpn_min_bbox_size")


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
        _check_fields(self, positive_int, "nms_pre", "max_per_img")
        _check_fields(self, fraction, "conf_threshold", "score_threshold", "nms_iou")
        _check_fields(self, finite_number, "min_bbox_size")


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
