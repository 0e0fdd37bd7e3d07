"""Run configuration: ``configs/default.yaml`` + a user's YAML + command-line overrides.

Each section maps 1:1 onto the keyword arguments of one constructor:

=============  ===============================================================================
section        constructor
=============  ===============================================================================
``detector``   ``detectors.load_detector(name, checkpoint, **options of the detector class)``
``pose``       ``tracker.pose.load_pose_model(name, checkpoint, flip_test, ...)``
``flow``       ``tracker.tracking.flow.DenseFlow(method, dis_preset, max_side)``; ``null`` = no flow
``tracker``    ``tracker.tracking.pose_tracker.PoseTracker(...)`` (``oks_sigmas`` from the pose model)
``pipeline``   ``tracker.tracking.pipeline.Pipeline(...)`` (the stages are filled in)
``smoothing``  ``tracker.tracking.smoothing.KeypointSmoother(...)``; ``null`` = no smoothing
``output``     ``tracker.io.output.TrackWriter(format, min_person_score, min_keypoint_score)``
=============  ===============================================================================

plus the top-level ``device`` ("cpu", "cuda", "auto"). A user's file overrides the defaults
key by key within a section; unknown sections and keys are ``ConfigError``s naming the file.
"""
from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tracker.files import CONFIG_DIR, read_yaml

from tracker.errors import ConfigError

DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"
#: Arguments the builder fills in itself; they may not appear in a section.
_INJECTED = {"device", "oks_sigmas", "detector", "estimator", "tracker", "flow", "smoother",
             "progress", "path", "keypoint_names", "sequence_name", "self"}
#: OKS constant used for keypoint sets without sigmas (duplicate-pose check only).
GENERIC_OKS_SIGMA = 0.05
SECTIONS = ("detector", "pose", "flow", "tracker", "pipeline", "smoothing", "output")


def _targets() -> dict:
    from detectors import DETECTOR_CLASSES
    from tracker.tracking.flow import DenseFlow
    from tracker.io.output import TrackWriter
    from tracker.tracking.pipeline import Pipeline
    from tracker.pose import load_pose_model
    from tracker.tracking.pose_tracker import PoseTracker
    from tracker.tracking.smoothing import KeypointSmoother
    return {"pose": load_pose_model, "flow": DenseFlow, "tracker": PoseTracker,
            "pipeline": Pipeline, "smoothing": KeypointSmoother, "output": TrackWriter,
            "detector": DETECTOR_CLASSES}


def _parameters(target) -> set[str]:
    return set(inspect.signature(target).parameters) - _INJECTED


def allowed_keys(section: str, values: Optional[dict] = None) -> set[str]:
    """Keys a section accepts (for ``detector``: those of the class its ``name`` selects)."""
    targets = _targets()
    if section == "detector":
        classes = targets["detector"]
        name = (values or {}).get("name")
        if name not in classes:
            raise ConfigError(f"detector.name must be one of {sorted(classes)}, got {name!r}")
        parameters = list(inspect.signature(classes[name]).parameters)
        return {"name", "checkpoint"} | (set(parameters[1:]) - _INJECTED)
    if section == "pose":
        return _parameters(targets["pose"])
    return _parameters(targets[section])


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
            # a new detector name starts from an empty section: options are per class
            merged[key] = copy.deepcopy(value)
        else:
            merged[key] = {**base_section, **value}
    return merged


def validate(config: dict, where: str) -> dict:
    """Check every section's keys against its constructor; returns ``config``."""
    for section in SECTIONS:
        values = config.get(section)
        if values is None:
            if section in ("detector", "pose", "tracker", "pipeline", "output"):
                raise ConfigError(f"{where}: section {section!r} is required")
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: section {section!r} must be a mapping, "
                              f"got {type(values).__name__}")
        unknown = sorted(set(values) - allowed_keys(section, values))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown} in section {section!r}; "
                              f"valid keys are {sorted(allowed_keys(section, values))}")
    return config


def load_run_config(path: Optional[str | Path] = None,
                    overrides: Optional[dict] = None) -> dict:
    """Defaults, then the user's file ``path``, then ``overrides`` (same layout)."""
    config = read_yaml(DEFAULT_CONFIG)
    where = str(DEFAULT_CONFIG)
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        config = merge(config, read_yaml(path), str(path))
        where = str(path)
    if overrides:
        config = merge(config, overrides, "command line")
    return validate(config, where)


@dataclass
class RunStages:
    """What ``build_stages`` made from a config."""

    pipeline: object        # tracker.tracking.pipeline.Pipeline
    estimator: object       # tracker.pose.estimator.TopDownPoseEstimator
    writer_options: dict    # output section: format, min_person_score, min_keypoint_score


def build_stages(config: dict, *, progress: bool = True) -> RunStages:
    """Construct detector, pose model, flow, tracker, smoother and pipeline from a config."""
    from detectors import load_detector
    from tracker.tracking.flow import DenseFlow
    from tracker.tracking.pipeline import Pipeline
    from tracker.pose import load_pose_model
    from tracker.tracking.pose_tracker import PoseTracker
    from tracker.tracking.smoothing import KeypointSmoother

    device = config.get("device", "cpu")
    detector_options = dict(config["detector"])
    name, checkpoint = detector_options.pop("name"), detector_options.pop("checkpoint", None)
    if name not in ("detections", "posetrack-gt"):    # detectors with downloadable weights
        detector_options["progress"] = progress
    detector = load_detector(name, checkpoint, device=device, **detector_options)
    estimator = load_pose_model(device=device, progress=progress, **config["pose"])
    sigmas = estimator.keypoint_set.oks_sigmas
    if sigmas is None:
        if config["tracker"].get("similarity", "flow_oks") != "iou":
            raise ConfigError(f"pose model {config['pose']['name']!r} has no OKS sigmas, so "
                              "its poses cannot be compared by OKS: use tracker.similarity: iou")
        sigmas = [GENERIC_OKS_SIGMA] * estimator.num_keypoints
    flow = DenseFlow(**config["flow"]) if config.get("flow") is not None else None
    tracker = PoseTracker(oks_sigmas=sigmas, **config["tracker"])
    smoother = (KeypointSmoother(**config["smoothing"]) if config.get("smoothing") is not None
                else None)
    pipeline = Pipeline(detector=detector, estimator=estimator, tracker=tracker, flow=flow,
                        smoother=smoother, **config["pipeline"])
    return RunStages(pipeline=pipeline, estimator=estimator, writer_options=dict(config["output"]))
