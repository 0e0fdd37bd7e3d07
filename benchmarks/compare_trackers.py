"""Identity through occlusion and crowds: our trackers against ByteTrack, OC-SORT and BoT-SORT.

    python -m benchmarks.compare_trackers [--sequences 30] [--seeds 2] [--sweep]
        [--robust min_hits=1,max_lost_s=3] [--detector miss_continue=0.85]
        [--only TEXT] [--video PATH] [--max-frames 300] [--no-video] [--no-simulation]

Section 1 replays the Bonn PoseTrack sequences (every person labelled in every frame;
``tests/tracking_sim.py``) with one simulated detector (bursty misses, false positives) and
one simulated pose network for every variant:

* the paper's tracker (``PoseTracker(similarity="flow_oks")`` + box propagation, oracle
  optical flow: the default ``Pipeline``) and ``RobustPoseTracker`` in the same pipeline;
* the peers of the ``trackers`` package (``benchmarks/peer_trackers.py``) as "detector ->
  box tracker -> pose on each tracked box", at the package defaults and with thresholds
  tuned to the detector's scores.

Every variant is scored on the boxes around its output joints (score > 0.5) against the
ground-truth boxes by IoU: box MOTA and ID switches (motmetrics, IoU >= 0.5), IDF1
(IoU >= 0.5), HOTA / DetA / AssA (alphas 0.05 .. 0.95), and ids per ground-truth person:
"ids/GT" all ids written, "shown" the ids of the scored people only (1.0: one id per person;
more: broken tracks; the difference: ids written on poses with no joint above 0.5, e.g. on
false-positive boxes). Tentative tracks (peers, robust tracker) write nothing. Seconds are
the wall time of the runs (stages and tracker, not the scoring).

The simulated frames are blank: the robust tracker's colour histograms are the same for
everyone there, so its appearance term only adds a constant to lost tracks' similarity (try
``--robust appearance_weight=0``); appearance is measured on real video only.

Section 2 runs the same variants on a real video with RTMDet-nano and PP-TinyPose (no ground
truth): ids written, ids living <= 3 frames (fragments and ghosts) and people per frame. The
detector runs once per frame and its boxes are replayed to every variant.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.peer_trackers import BoxTrackerStack, PeerVariant, peer_variants
from tests.shared_data import SHARED_ROOT
from tests.tracking_sim import (box_mota, box_track_scores, gt_tracks,
                                ids_written, simulate, simulate_stack, track_lengths)
from tracker.eval.identity import TrackScores

#: A small sweep of ``RobustPoseTracker`` options (``--sweep``), one change at a time.
SWEEP = ({"min_hits": 1}, {"min_hits": 3}, {"max_lost_s": 1.0}, {"max_lost_s": 4.0},
         {"high_score": 0.5}, {"high_score": 0.4}, {"gate_growth": 0.0}, {"gate_growth": 3.0},
         {"min_similarity": 0.05}, {"min_similarity": 0.3}, {"appearance_weight": 0.0},
         {"merge_frames": 0})
DEFAULT_VIDEO = SHARED_ROOT / "data" / "videos" / "basketball-2p-426x240.mp4"
SHORT_TRACK_FRAMES = 3


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
    """The ``RobustPoseTracker`` constructor arguments ``--robust`` may set."""
    import inspect

    from tracker.tracking.robust_tracker import RobustPoseTracker

    names = set(inspect.signature(RobustPoseTracker).parameters)
    return names - {"oks_sigmas", "appearance_model"}


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


# -- section 1: simulated Bonn sequences -------------------------------------------------------

def run_simulated(variant, paths: list[Path], seeds: int,
                  detector_options: dict | None = None) -> dict:
    """Totals of one variant over ``paths`` x ``seeds`` (``detector_options``: of
    ``SimulatedDetector``, e.g. ``miss_continue``)."""
    from tracker.tracking.robust_tracker import RobustPoseTracker

    totals = dict(mota=dict.fromkeys(("num_switches", "num_misses", "num_false_positives",
                                      "num_objects"), 0.0),
                  scores=TrackScores(), ids=0, shown_ids=0, people=0, seconds=0.0)
    for seed in range(seeds):
        for path in paths:
            start = time.perf_counter()
            if isinstance(variant, PeerVariant):
                frames, _, results = simulate_stack(path, lambda d, e, f: BoxTrackerStack(
                    detector=d, estimator=e, box_tracker=variant.build(30.0, use_image=False)),
                    seed=seed, detector_options=detector_options)
            else:
                frames, _, results = simulate(
                    path, tracker_options=variant.options, seed=seed,
                    pipeline_options={} if variant.flow else {"propagate": False},
                    use_flow=variant.flow, detector_options=detector_options,
                    tracker_class=RobustPoseTracker if variant.kind == "robust" else None)
            totals["seconds"] += time.perf_counter() - start
            numbers = box_mota(frames, results)
            for key in totals["mota"]:
                totals["mota"][key] += numbers[key]
            totals["scores"] += box_track_scores(frames, results)
            totals["ids"] += ids_written(results)
            totals["shown_ids"] += ids_written(results, shown_only=True)
            totals["people"] += gt_tracks(frames)
    return totals


def simulated_row(name: str, totals: dict) -> str:
    mota, scores = totals["mota"], totals["scores"]
    errors = mota["num_switches"] + mota["num_misses"] + mota["num_false_positives"]
    return (f"{name:44s} {100 * (1 - errors / mota['num_objects']):6.2f} "
            f"{100 * scores.identity.idf1:6.2f} {100 * scores.hota.hota:6.2f} "
            f"{100 * scores.hota.det_a:6.2f} {100 * scores.hota.ass_a:6.2f} "
            f"{mota['num_switches']:5.0f} {totals['ids'] / max(1, totals['people']):6.2f} "
            f"{totals['shown_ids'] / max(1, totals['people']):6.2f} {totals['seconds']:6.1f}")


def section_simulated(variants: dict, paths: list[Path], seeds: int,
                      detector_options: dict) -> None:
    detector = ", ".join(f"{k}={v}" for k, v in detector_options.items()) or "defaults"
    print(f"== Simulated Bonn PoseTrack: {len(paths)} sequences x {seeds} seeds, detector "
          f"{detector} (same detector and pose model for all) ==")
    print(f"{'variant':44s} {'MOTA':>6s} {'IDF1':>6s} {'HOTA':>6s} {'DetA':>6s} {'AssA':>6s} "
          f"{'IDSW':>5s} {'ids/GT':>6s} {'shown':>6s} {'s':>6s}")
    for name, variant in variants.items():
        print(simulated_row(name, run_simulated(variant, paths, seeds, detector_options)),
              flush=True)


# -- section 2: real video -----------------------------------------------------------------

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


def section_video(variants: dict, video: Path, max_frames: int) -> None:
    from tracker.io.video import open_source

    config, detector, estimator = video_stages()
    with open_source(video, max_frames=max_frames) as source:
        images = list(source)
        fps = source.fps
    print(f"\n== {video.name}: {len(images)} frames at {fps:.3g} fps, RTMDet-nano + "
          "PP-TinyPose (no flip), no ground truth ==")
    for frame in images:
        detector(frame)
    boxes = np.concatenate([d.scores for d in detector.cache.values()])
    print(f"detector: {len(boxes) / max(1, len(images)):.2f} boxes/frame, scores "
          f"{np.percentile(boxes, [10, 50, 90]).round(2).tolist() if len(boxes) else []} "
          f"(10/50/90 %), {detector.seconds:.1f} s once for all variants")
    print(f"{'variant':44s} {'ids':>5s} {'<=3 fr':>6s} {'people/fr':>9s} {'s':>6s}")
    for name, variant in variants.items():
        stack = video_stack(variant, config, detector, estimator, fps)
        start = time.perf_counter()
        results = [stack(frame) for frame in images]
        seconds = time.perf_counter() - start
        lengths = track_lengths(results)
        short = sum(1 for n in lengths.values() if n <= SHORT_TRACK_FRAMES)
        people = np.mean([len(r.track_ids) for r in results]) if results else 0.0
        print(f"{name:44s} {len(lengths):5d} {short:6d} {people:9.2f} {seconds:6.1f}",
              flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="compare_trackers",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--sweep", action="store_true",
                        help="add RobustPoseTracker variants, one option changed at a time")
    parser.add_argument("--robust", type=parse_options, action="append", default=[],
                        metavar="KEY=VALUE[,...]", help="add a RobustPoseTracker variant")
    parser.add_argument("--detector", type=parse_options, default={}, metavar="KEY=VALUE[,...]",
                        help="SimulatedDetector options, e.g. miss_continue=0.85 (longer "
                             "occlusions)")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--max-frames", type=int, default=300)
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the variants whose name contains TEXT (repeatable)")
    parser.add_argument("--no-video", action="store_true")
    parser.add_argument("--no-simulation", action="store_true")
    args = parser.parse_args(argv)
    robust = list(SWEEP) + args.robust if args.sweep else args.robust
    unknown = sorted({key for options in args.robust for key in options} - robust_arguments())
    if unknown:
        parser.error(f"--robust: unknown RobustPoseTracker argument(s) {unknown}; expected "
                     f"some of {sorted(robust_arguments())}")
    variants = {name: variant for name, variant in {**our_variants(robust),
                                                    **peer_variants()}.items()
                if not args.only or any(text in name for text in args.only)}
    if not variants:
        parser.error(f"no variant name contains any of {args.only}")
    folder = SHARED_ROOT / "data" / "bonn-posetrack" / "train"
    if not args.no_simulation:
        paths = sorted(folder.glob("*.json"))[:args.sequences]
        if not paths:
            print(f"compare_trackers: error: no Bonn sequences under {folder}", file=sys.stderr)
            return 1
        section_simulated(variants, paths, args.seeds, args.detector)
    if not args.no_video:
        if not args.video.is_file():
            print(f"compare_trackers: error: video {args.video} not found", file=sys.stderr)
            return 1
        section_video(variants, args.video, args.max_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
