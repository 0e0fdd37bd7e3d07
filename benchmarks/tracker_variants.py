"""The trackers compared by ``benchmarks.compare_trackers``: ours and how they are built.

``OurVariant`` is one of our trackers in the ``Pipeline`` (the peers are
``benchmarks.peer_trackers.PeerVariant``); ``video_stages`` / ``video_stack`` build any
variant on the real RTMDet-nano + PP-TinyPose stages, as posetrack-run builds them, with the
detector's boxes computed once per frame and replayed to every variant.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field

from benchmarks.peer_trackers import BoxTrackerStack, PeerVariant
from tests.shared_data import SHARED_ROOT

@dataclass(frozen=True)
class OurVariant:
    """One of our trackers in the ``Pipeline``: ``kind`` "paper" (``PoseTracker``) or
    "robust" (``RobustPoseTracker``), its options, and whether the pipeline has optical flow
    and box propagation (without: detector boxes only, like the peers)."""

    kind: str
    options: dict = field(default_factory=dict)
    flow: bool = True


def our_variants(robust_options: list[dict]) -> dict[str, OurVariant]:
    """Display name -> variant: the paper's default pipeline, the robust tracker with and
    without flow + propagation, and one robust variant per entry of ``robust_options``."""
    variants = {"paper: PoseTracker flow_oks + propagation":
                OurVariant("paper", {"similarity": "flow_oks"}),
                "RobustPoseTracker (defaults)": OurVariant("robust"),
                "Robust, no flow/propagation (boxes only)": OurVariant("robust", flow=False)}
    for options in robust_options:
        label = ", ".join(f"{k}={v}" for k, v in options.items())
        variants[f"Robust {label}"] = OurVariant("robust", options)
    return variants


def robust_arguments() -> set[str]:
    """The ``RobustPoseTracker`` constructor arguments ``--robust`` may set: the config's
    ``robust_tracker`` keys (they map 1:1 onto them) but the ReID model file."""
    from apps.config import SCHEMA

    return set(SCHEMA["robust_tracker"]) - {"reid_model"}


def parse_options(text: str) -> dict:
    """"min_hits=1,max_lost_s=3" -> {"min_hits": 1, "max_lost_s": 3.0}."""
    options = {}
    for item in filter(None, text.split(",")):
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE[,KEY=VALUE...], got {text!r}")
        number = float(value)
        options[key.strip()] = int(number) if number.is_integer() and "." not in value else number
    return options


class ReplayedDetector:
    """The detector's boxes of each frame, computed once and replayed by frame index."""

    def __init__(self, detector) -> None:
        self.detector, self.cache, self.seconds = detector, {}, 0.0

    def __call__(self, frame):
        if frame.index not in self.cache:
            start = time.perf_counter()
            self.cache[frame.index] = self.detector(frame)
            self.seconds += time.perf_counter() - start
        return self.cache[frame.index]


def video_stages():
    """(config, replayed RTMDet-nano detector, PP-TinyPose estimator), as posetrack-run
    builds them (``apps.config``), on the CPU."""
    from apps.config import build_stages, load_run_config

    models = SHARED_ROOT / "models"
    config = load_run_config(None, {
        "device": "cpu",
        "detector": {"name": "rtmdet-nano",
                     "checkpoint": str(models / "rtmdet-nano-person" / "end2end.onnx")},
        "pose": {"name": "pp_tinypose_256x192", "flip_test": False,
                 "checkpoint": str(models / "pp-tinypose-256x192" / "pp_tinypose_256x192.onnx")}})
    stages = build_stages(config, progress=False)
    return config, ReplayedDetector(stages.pipeline.detector), stages.estimator


def video_stack(variant, config: dict, detector, estimator, fps: float):
    """A fresh per-frame stack of one variant on the real stages."""
    from tracker.tracking.flow import DenseFlow
    from tracker.tracking.pipeline import Pipeline
    from tracker.tracking.pose_tracker import PoseTracker
    from tracker.tracking.robust_tracker import RobustPoseTracker

    if isinstance(variant, PeerVariant):
        return BoxTrackerStack(detector=detector, estimator=estimator,
                               box_tracker=variant.build(fps, use_image=True),
                               pass_image=variant.peer == "BoT-SORT")
    sigmas = estimator.keypoint_set.oks_sigmas
    if variant.kind == "robust":
        tracker = RobustPoseTracker(oks_sigmas=sigmas, **variant.options)
    else:
        tracker = PoseTracker(oks_sigmas=sigmas, **{**config["tracker"], **variant.options})
    pipeline_options = dict(config["pipeline"], **({} if variant.flow else {"propagate": False}))
    return Pipeline(detector=detector, estimator=estimator, tracker=tracker,
                    flow=DenseFlow(**config["flow"]) if variant.flow else None,
                    **pipeline_options)
