"""Benchmark settings as data: ``configs/benchmarks.yaml`` -> ``DatasetLayout``, ``EvalSettings``.

Each benchmark entry has a ``layout`` section (where the official files lie under the dataset
root) and a ``data_cfg`` section (mmpose 0.29's ``data_cfg`` of the seed's test config). Both
map 1:1 onto the dataclasses below; unknown keys are errors naming the file and the key.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from tracker.files import CONFIG_DIR, read_yaml

from tracker.errors import ConfigError

from tracker.checks import construct_config

BENCHMARKS_YAML = CONFIG_DIR / "benchmarks.yaml"
_SECTIONS = ("layout", "data_cfg")


@dataclass(frozen=True)
class DatasetLayout:
    """Official file layout of a dataset, relative to its root folder.

    Args:
        ann_file: the annotation file evaluated (``{split}``: the Sub-JHMDB split).
        img_prefix: folder that the annotation's ``file_name`` / ``image`` is relative to.
        bbox_file: the person detection file of the seed's table, where it used one.
        gt_file: an extra ground-truth file the evaluation reads (MPII ``mpii_gt_val.mat``).
    """

    ann_file: str
    img_prefix: str = "."
    bbox_file: Optional[str] = None
    gt_file: Optional[str] = None


@dataclass(frozen=True)
class EvalSettings:
    """mmpose 0.29's ``data_cfg`` for one benchmark (same names, same meaning).

    Args:
        use_gt_bbox: crop people from ground-truth boxes (True) or from detections (False).
        det_bbox_thr: detections scored below this are dropped before inference.
        bbox_file: the detection file (informational here: the command takes ``--detections``).
        use_nms: run OKS-NMS on each image's people before scoring (OKS-style benchmarks).
        soft_nms: Gaussian soft OKS-NMS instead of hard OKS-NMS.
        oks_thr: OKS above which NMS suppresses a person (hard NMS: suppressed if > oks_thr).
        vis_thr: rescoring averages the keypoint scores strictly above this.
        nms_thr: part of mmpose's data_cfg but read by none of these datasets; kept for 1:1.
        image_size, heatmap_size, num_output_channels, num_joints, dataset_channel,
        inference_channel: accepted so that an mmpose ``data_cfg`` can be passed unchanged.
            ``num_joints`` and ``num_output_channels`` must equal the benchmark's keypoint
            count; the others do not change any metric (each person carries its own
            center, scale and area).
    """

    use_gt_bbox: bool = True
    det_bbox_thr: float = 0.0
    bbox_file: Optional[str] = None
    use_nms: bool = True
    soft_nms: bool = False
    nms_thr: float = 1.0
    oks_thr: float = 0.9
    vis_thr: float = 0.2
    image_size: Optional[tuple] = None
    heatmap_size: Optional[tuple] = None
    num_output_channels: Optional[int] = None
    num_joints: Optional[int] = None
    dataset_channel: Optional[tuple] = None
    inference_channel: Optional[tuple] = None

    def __post_init__(self) -> None:
        for name in ("use_gt_bbox", "use_nms", "soft_nms"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name in ("det_bbox_thr", "nms_thr", "oks_thr", "vis_thr"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
        for name in ("num_output_channels", "num_joints"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.bbox_file is not None and not isinstance(self.bbox_file, str):
            raise ConfigError(f"bbox_file must be a path or null, got {self.bbox_file!r}")

    def check_num_keypoints(self, num_keypoints: int, benchmark: str) -> None:
        """Raise ``ConfigError`` if num_joints / num_output_channels disagree with K."""
        for name in ("num_joints", "num_output_channels"):
            value = getattr(self, name)
            if value is not None and value != num_keypoints:
                raise ConfigError(f"{benchmark}: {name}={value}, but the benchmark has "
                                  f"{num_keypoints} keypoints")


def with_options(settings: EvalSettings, options: dict, where: str) -> EvalSettings:
    """``settings`` with some fields replaced; unknown option names are a ``ConfigError``."""
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    fields = set(values)
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {unknown}; valid options are "
                          f"{sorted(fields)}")
    return construct_config(EvalSettings, {**values, **options}, where)


@lru_cache(maxsize=None)
def benchmark_configs() -> dict[str, tuple[DatasetLayout, EvalSettings]]:
    """Every entry of ``configs/benchmarks.yaml``: name -> (layout, default settings)."""
    configs = {}
    for name, entry in read_yaml(BENCHMARKS_YAML).items():
        where = f"{BENCHMARKS_YAML} [{name}]"
        if not isinstance(entry, dict) or set(entry) != set(_SECTIONS):
            keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise ConfigError(f"{where}: expected exactly the sections {list(_SECTIONS)}, "
                              f"got {keys}")
        configs[name] = (construct_config(DatasetLayout, entry["layout"], f"{where} layout"),
                         construct_config(EvalSettings, entry["data_cfg"], f"{where} data_cfg"))
    return configs
