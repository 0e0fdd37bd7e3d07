"""Run configuration: ``configs/default.yaml`` + a user's YAML + command-line overrides.

Each section maps 1:1 onto the keyword arguments of one constructor:

=============  ===============================================================================
section        constructor
=============  ===============================================================================
``detector``   ``detectors.load_detector(name, checkpoint, **options of the detector)``
``pose``       ``tracker.pose.load_pose_model(name, checkpoint, flip_test, ...)``
``flow``       ``tracker.tracking.flow.DenseFlow(method, dis_preset, max_side)``; ``null`` = no flow
``tracker``    ``tracker.tracking.pose_tracker.PoseTracker(...)`` (``oks_sigmas`` from the pose model)
``pipeline``   ``tracker.tracking.pipeline.Pipeline(...)`` (the stages are filled in)
``smoothing``  ``tracker.tracking.smoothing.KeypointSmoother(...)``; ``null`` = no smoothing
``output``     ``tracker.io.posetrack18.TrackWriter(format, min_person_score, min_keypoint_score)``
=============  ===============================================================================

plus the top-level ``device`` ("cpu", "cuda", "cuda:N", "auto"). ``SCHEMA`` lists every key
of every section once, with the check of its value; the ``detector`` section takes ``name``,
``checkpoint`` and the options of that detector (``detectors.DETECTORS[name].options``,
checked by ``DETECTOR_OPTIONS``). ``load_run_config`` layers the files (a later layer
overrides an earlier one key by key within a section) and checks each layer as it is read:
unknown sections and keys, and values of the wrong type or range, are ``ConfigError``s
naming the file, the section, the key, the value and what is allowed.
"""
from __future__ import annotations

import copy
import numbers
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from tracker.checks import channel_values, finite_number, fraction, positive_int
from tracker.errors import ConfigError
from tracker.files import CONFIG_DIR, read_yaml

DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"
#: ``--preset`` names -> their config layer over default.yaml.
PRESETS = {"accurate": CONFIG_DIR / "preset_accurate.yaml",
           "fast": CONFIG_DIR / "preset_fast.yaml"}
#: OKS constant used for keypoint sets without sigmas (duplicate-pose check only).
GENERIC_OKS_SIGMA = 0.05
#: A check of one value: ``check(name, value)`` raises ``ConfigError`` naming ``name``.
Check = Callable[[str, object], object]


# ---- checks of single values -------------------------------------------------------------

def flag(name: str, value) -> bool:
    """true or false (not 0/1, not "no")."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def count(name: str, value) -> int:
    """An integer >= 0 (not a bool, not 2.5)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def text(name: str, value) -> str:
    """A non-empty string (a name or a path)."""
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
    return str(value)


def texts(name: str, value) -> list[str]:
    """A list of strings."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name} must be a list of strings, got {value!r}")
    return list(value)


def device_name(name: str, value) -> str:
    """"cpu", "cuda", "cuda:N" or "auto"."""
    if not isinstance(value, str) or not re.fullmatch(r"cpu|auto|cuda(:\d+)?", value):
        raise ConfigError(f"{name} must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {value!r}")
    return value


def scale(name: str, value) -> object:
    """One positive integer, or two (long edge, short edge)."""
    values = list(value) if isinstance(value, (list, tuple)) else [value, value]
    if len(values) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                   and v > 0 for v in values):
        raise ConfigError(f"{name} must be a positive integer or two (long edge, short "
                          f"edge), got {value!r}")
    return value


def choice(*allowed: str) -> Check:
    """One of the strings ``allowed``."""
    def check(name: str, value) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise ConfigError(f"{name} must be one of {list(allowed)}, got {value!r}")
        return value
    return check


def at_least(low: float, *, inclusive: bool = True) -> Check:
    """A finite number >= ``low`` (> ``low`` if not ``inclusive``)."""
    def check(name: str, value) -> float:
        number = finite_number(name, value)
        if number < low or (number == low and not inclusive):
            raise ConfigError(f"{name} must be a finite number {'>=' if inclusive else '>'} "
                              f"{low:g}, got {value!r}")
        return number
    return check


def channels(name: str, value) -> tuple[float, float, float]:
    """Three per-channel numbers (``mean``, ``std``: no zero), in the detector's order."""
    try:
        return channel_values(name.rpartition(".")[2], value, "in the detector's channel order")
    except ConfigError as e:
        raise ConfigError(f"{name}: {e}") from None


def optional(check: Check) -> Check:
    """``null``, or a value ``check`` accepts."""
    return lambda name, value: None if value is None else check(name, value)


# ---- the schema ----------------------------------------------------------------------------

#: ``pose.precision`` values (``tracker.pose.precision.PRECISIONS``; named here without
#: importing torch), also the choices of the apps' ``--precision``.
POSE_PRECISIONS = ("float32", "float16", "bfloat16")

#: Section -> key -> check. ``detector`` options are in ``DETECTOR_OPTIONS``.
SCHEMA: dict[str, dict[str, Check]] = {
    "detector": {"name": text, "checkpoint": optional(text)},
    "pose": {"name": text, "checkpoint": optional(text), "flip_test": flag,
             "max_batch_size": optional(positive_int), "channels_last": flag,
             "fold_batchnorm": flag, "onnx_threads": count,
             "onnx_runs": count, "fast_path": optional(flag),
             "precision": optional(choice(*POSE_PRECISIONS))},
    "flow": {"method": choice("dis", "farneback"),
             "dis_preset": choice("ultrafast", "fast", "medium"), "max_side": count},
    "tracker": {"similarity": choice("flow_oks", "oks", "iou"),
                "matcher": choice("greedy", "hungarian"), "min_similarity": fraction,
                "history_frames": positive_int, "max_age_frames": count,
                "keypoint_score_threshold": fraction, "min_area": at_least(0)},
    "robust_tracker": {"min_similarity": fraction, "min_hits": positive_int,
                       "max_lost_s": at_least(0), "gate_growth": at_least(0),
                       "high_score": fraction, "appearance_weight": fraction,
                       "reid_model": optional(text), "merge_oks": fraction,
                       "merge_frames": count, "keypoint_score_threshold": fraction,
                       "min_area": at_least(0), "velocity_smoothing": fraction,
                       "max_speed": at_least(0), "min_start_confidence": fraction,
                       "visible_first": flag, "start_margin": fraction,
                       "appearance_reach": at_least(0), "weak_min_hits": positive_int,
                       "weak_start_iou": fraction},
    "pipeline": {"propagate": flag, "nms_threshold": fraction, "detect_every": positive_int,
                 "min_box_score": fraction, "propagation_keypoint_threshold": fraction,
                 "min_propagated_pose_score": fraction, "max_propagated_frames": count,
                 "duplicate_oks_threshold": fraction, "max_people": count,
                 "pose_every": positive_int, "detect_window": positive_int,
                 "pose_window": positive_int},
    "smoothing": {"min_cutoff": at_least(0, inclusive=False), "beta": at_least(0),
                  "d_cutoff": at_least(0, inclusive=False),
                  "max_gap_s": at_least(0, inclusive=False)},
    "output": {"format": choice("posetrack18", "coco"), "min_person_score": fraction,
               "min_keypoint_score": fraction},
}
SECTIONS = tuple(SCHEMA)
#: Sections that may be ``null`` (the stage is left out).
OPTIONAL_SECTIONS = ("flow", "smoothing", "robust_tracker")
#: Every option of every detector (``detectors.DETECTORS[name].options``) -> its check.
DETECTOR_OPTIONS: dict[str, Check] = {
    "score_threshold": fraction,                              # all but posetrack-gt
    "onnx_threads": count, "input_size": positive_int,        # rtmdet-nano
    "mean": channels, "std": channels,                        # rtmdet-nano and mmdet ones
    "key": choice("file_name", "frame_index"),                # detections, posetrack-gt
    "images": optional(text), "sequence": optional(text),     # detections
    "frame_names": optional(texts), "num_frames": optional(count),
    "padding": at_least(0, inclusive=False),                  # posetrack-gt
    "person_label": count,                                    # mmdet:CONFIG:CHECKPOINT
    "test_scale": scale, "pad_divisor": positive_int,         # Cascade R-CNN and YOLOv3
    "batch_size": positive_int, "channels_last": flag, "allow_tf32": flag,
    "nms_iou": fraction, "max_per_img": positive_int,
    "rpn_nms_pre": positive_int, "rpn_max_per_img": positive_int,   # Cascade R-CNN
    "rpn_nms_iou": fraction, "rpn_min_bbox_size": at_least(0),
    "conf_threshold": fraction, "nms_pre": positive_int,            # YOLOv3
    "min_bbox_size": at_least(0),
}


def section_keys(section: str, values: dict) -> dict[str, Check]:
    """The keys ``section`` accepts (for ``detector``: those of the detector ``values`` names)."""
    # imported here: detectors/ loads torch, which --help and argparse errors do not need
    from detectors import DETECTORS, MMDET_API_OPTIONS, is_mmdet_name

    if section != "detector":
        return SCHEMA[section]
    name = values.get("name")
    if is_mmdet_name(name):
        options = MMDET_API_OPTIONS
    elif isinstance(name, str) and name in DETECTORS:
        options = DETECTORS[name].options
    else:
        raise ConfigError(f"detector.name must be one of {sorted(DETECTORS)} or "
                          f"'mmdet:CONFIG:CHECKPOINT', got {name!r}")
    return {**SCHEMA["detector"], **{key: DETECTOR_OPTIONS[key] for key in options}}


def check_config(config: dict, where: str) -> dict:
    """``config`` if every section, key and value is allowed; else a ``ConfigError`` that
    starts with ``where`` (the file the values come from)."""
    for section in SECTIONS:
        values = config.get(section)
        if values is None:
            if section not in OPTIONAL_SECTIONS:
                raise ConfigError(f"{where}: section {section!r} is required")
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: section {section!r} must be a mapping, "
                              f"got {type(values).__name__}")
        try:
            keys = section_keys(section, values)
            unknown = sorted(set(values) - set(keys))
            if unknown:
                raise ConfigError(f"unknown key(s) {unknown} in section {section!r}; valid "
                                  f"keys are {sorted(keys)}")
            for key, value in values.items():
                keys[key](f"{section}.{key}", value)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from e
    try:
        device_name("device", config.get("device", "cpu"))
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from e
    return config


def merge(base: dict, override: dict, where: str) -> dict:
    """Section-wise merge of ``override`` into ``base`` (a copy); checks section names."""
    if not isinstance(override, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if key == "device":
            merged["device"] = value
            continue
        if key not in SECTIONS:
            raise ConfigError(f"{where}: unknown section {key!r}; valid sections are "
                              f"{['device', *SECTIONS]}")
        if value is not None and not isinstance(value, dict):
            raise ConfigError(f"{where}: section {key!r} must be a mapping or null, "
                              f"got {type(value).__name__}")
        base_section = merged.get(key)
        renamed = (key == "detector" and value is not None and base_section is not None
                   and value.get("name", base_section.get("name")) != base_section.get("name"))
        if value is None or base_section is None or renamed:
            # a new detector name starts from an empty section: options are per detector
            merged[key] = copy.deepcopy(value)
        else:
            merged[key] = {**base_section, **value}
    return merged


def load_run_config(path: Optional[str | Path] = None, overrides: Optional[dict] = None, *,
                    defaults: Path = DEFAULT_CONFIG, preset: Optional[str] = None) -> dict:
    """The run config, in layers: ``configs/default.yaml``, then the app's own ``defaults``
    (a partial file over default.yaml, e.g. ``configs/webcam.yaml``), then the ``preset``
    (a name of ``PRESETS``), then the user's file ``path``, then ``overrides`` (the
    command-line flags, same layout).

    Each layer is checked as it is merged, so an error names the file it is in ("command
    line" for ``overrides``).
    """
    layers = [DEFAULT_CONFIG] + ([Path(defaults)] if Path(defaults) != DEFAULT_CONFIG else [])
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; valid presets are {sorted(PRESETS)}")
        layers.append(PRESETS[preset])
    if path is not None:
        if not Path(path).is_file():
            raise ConfigError(f"config file {path} does not exist")
        layers.append(Path(path))
    config: dict = {}
    for layer in layers:
        config = check_config(merge(config, read_yaml(layer), str(layer)), str(layer))
    if overrides:
        config = check_config(merge(config, overrides, "command line"), "command line")
    return config


def flag_overrides(*, detector: Optional[str] = None, detector_checkpoint: Optional[str] = None,
                   pose_model: Optional[str] = None, pose_checkpoint: Optional[str] = None,
                   device: Optional[str] = None, no_flip: bool = False, exact: bool = False,
                   precision: Optional[str] = None,
                   flow: Optional[str] = None, similarity: Optional[str] = None,
                   matcher: Optional[str] = None, detect_every: Optional[int] = None,
                   pose_every: Optional[int] = None, max_people: Optional[int] = None,
                   smooth: bool = False, format: Optional[str] = None,
                   tracker: Optional[str] = None,
                   min_person_score: Optional[float] = None,
                   min_keypoint_score: Optional[float] = None) -> dict:
    """The config layer of the command-line flags the apps share (None/False: not given).

    ``flow="none"`` leaves the flow out, turns propagation off and, unless ``similarity`` is
    given, compares poses by plain OKS. ``exact`` turns the pose fast path off and fixes
    float32 (cv2 crops: mmpose's numbers, on a GPU too); ``precision`` sets
    ``pose.precision``. ``smooth`` turns on smoothing with its defaults.
    ``tracker`` "paper" selects the paper's tracker (``robust_tracker: null``), "robust" the
    default ``RobustPoseTracker``; ``similarity`` / ``matcher`` imply "paper".
    """
    if exact and precision not in (None, "float32"):
        raise ConfigError(f"--exact runs the pose network in float32; leave out "
                          f"--precision {precision}")
    sections: dict = {}
    values = {("detector", "name"): detector, ("detector", "checkpoint"): detector_checkpoint,
              ("pose", "name"): pose_model, ("pose", "checkpoint"): pose_checkpoint,
              ("pose", "flip_test"): False if no_flip else None,
              ("pose", "fast_path"): False if exact else None,
              ("pose", "precision"): "float32" if exact else precision,
              ("flow", "method"): None if flow == "none" else flow,
              ("tracker", "similarity"): similarity, ("tracker", "matcher"): matcher,
              ("pipeline", "detect_every"): detect_every, ("pipeline", "pose_every"): pose_every,
              ("pipeline", "max_people"): max_people, ("output", "format"): format,
              ("output", "min_person_score"): min_person_score,
              ("output", "min_keypoint_score"): min_keypoint_score}
    if flow == "none":
        sections["flow"] = None
        values[("pipeline", "propagate")] = False
        values[("tracker", "similarity")] = similarity or "oks"
    for (section, key), value in values.items():
        if value is not None:
            sections.setdefault(section, {})[key] = value
    if smooth:
        sections["smoothing"] = {}
    if (similarity or matcher) and tracker is None:
        tracker = "paper"        # these flags are options of the paper's tracker
    if (similarity or matcher) and tracker == "robust":
        raise ConfigError("--similarity and --matcher are options of the paper's tracker; "
                          "use them with --tracker paper (or drop them for the robust tracker)")
    if tracker is not None:      # "paper": the tracker section; "robust": RobustPoseTracker
        sections["robust_tracker"] = {} if tracker == "robust" else None
    if device:
        sections["device"] = device
    return sections


@dataclass
class RunStages:
    """What ``build_stages`` made from a config."""

    pipeline: object        # tracker.tracking.pipeline.Pipeline
    estimator: object       # tracker.pose.estimator.TopDownPoseEstimator
    writer_options: dict    # output section: format, min_person_score, min_keypoint_score


def build_stages(config: dict, *, progress: bool = True, estimator=None) -> RunStages:
    """Construct detector, pose model, flow, tracker, smoother and pipeline from a config.

    Args:
        config: a config from ``load_run_config``.
        progress: show download progress bars.
        estimator: a pose model already built from this config's ``pose`` section, to use
            instead of loading it again (posetrack-val builds one per run, not per sequence).
    """
    from detectors import load_detector     # imported here: torch, see section_keys
    from tracker.pose import load_pose_model
    from tracker.tracking.flow import DenseFlow
    from tracker.tracking.pipeline import Pipeline
    from tracker.tracking.smoothing import KeypointSmoother

    device = config.get("device", "cpu")
    detector_options = dict(config["detector"])
    name, checkpoint = detector_options.pop("name"), detector_options.pop("checkpoint", None)
    detector = load_detector(name, checkpoint, device=device, progress=progress,
                             **detector_options)
    if estimator is None:
        estimator = load_pose_model(device=device, progress=progress, **config["pose"])
    flow = DenseFlow(**config["flow"]) if config.get("flow") is not None else None
    tracker = build_tracker(config, _oks_sigmas(config, estimator))
    smoother = (KeypointSmoother(**config["smoothing"]) if config.get("smoothing") is not None
                else None)
    pipeline = Pipeline(detector=detector, estimator=estimator, tracker=tracker, flow=flow,
                        smoother=smoother, **config["pipeline"])
    return RunStages(pipeline=pipeline, estimator=estimator, writer_options=dict(config["output"]))


def build_tracker(config: dict, oks_sigmas):
    """The paper's ``PoseTracker`` (section ``tracker``), or ``RobustPoseTracker`` when the
    ``robust_tracker`` section is a mapping (``reid_model``: a path -> ``ReidModel``)."""
    from tracker.tracking.pose_tracker import PoseTracker
    from tracker.tracking.robust_tracker import RobustPoseTracker

    options = config.get("robust_tracker")
    if options is None:
        return PoseTracker(oks_sigmas=oks_sigmas, **config["tracker"])
    options = dict(options)
    reid_model = options.pop("reid_model", None)
    if reid_model is not None:
        from tracker.tracking.appearance import ReidModel
        options["appearance_model"] = ReidModel(reid_model)
    return RobustPoseTracker(oks_sigmas=oks_sigmas, **options)


def _oks_sigmas(config: dict, estimator) -> list[float]:
    """The pose model's OKS sigmas; a generic constant if it has none and poses are compared
    by box IoU only."""
    sigmas = estimator.keypoint_set.oks_sigmas
    if sigmas is not None:
        return sigmas
    if config["tracker"].get("similarity", "flow_oks") != "iou":
        raise ConfigError(f"pose model {config['pose']['name']!r} has no OKS sigmas, so "
                          "its poses cannot be compared by OKS: use tracker.similarity: iou")
    return [GENERIC_OKS_SIGMA] * estimator.num_keypoints
