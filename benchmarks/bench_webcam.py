"""posetrack-webcam's processing rate and latency with a video file simulated as a camera.

    python -m benchmarks.bench_webcam [--video street-crowd-720p.avi] [--loops 2]
                                      [--repeat 1] [--device cpu] [--variants NAME ...]

The video is played at its own frame rate on a capture thread (``LatestFrameReader`` with
``pace=True``), exactly as ``posetrack-webcam --no-display`` does: frames that arrive while
the pipeline is busy are dropped, never processed. Each variant reports processed frames/s,
capture-to-result latency (p50/p95), frames read and dropped, people and pose crops per
processed frame, and milliseconds per processed frame spent in each pipeline stage, all
measured in this process with the shared RTMDet-nano and PP-TinyPose ONNX models. The models
are warmed up on one frame before the clock starts. ``--loops`` plays the file several times
in a row (frame indices continue, so pacing stays at the file's rate); ``--repeat`` runs the
variants that many times, interleaved, and shows the run of median frames/s of each (the load
average is printed: other processes on the machine slow everything down).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from apps.webcam import WEBCAM_CONFIG
from tests.shared_data import SHARED_ROOT
from tracker.io.live import LatencyStats, LatestFrameReader
from apps.config import DEFAULT_CONFIG, build_stages, load_run_config
from tracker.types import Frame
from tracker.io.video import open_source

#: name -> (base config file, overrides). The first is the baseline of the ratios.
VARIANTS = {
    "baseline: posetrack-run defaults": (DEFAULT_CONFIG, {}),
    "webcam real-time defaults": (WEBCAM_CONFIG, {}),
    "webcam + flip test": (WEBCAM_CONFIG, {"pose": {"flip_test": True}}),
    "webcam, detect every frame": (WEBCAM_CONFIG, {"pipeline": {"detect_every": 1,
                                                                "pose_every": 1}}),
    "webcam, pose every frame": (WEBCAM_CONFIG, {"pipeline": {"detect_every": 4,
                                                              "pose_every": 1}}),
    "webcam, boxes scored >= 0.3": (WEBCAM_CONFIG, {"detector": {"score_threshold": 0.3}}),
    "webcam, boxes scored >= 0.4": (WEBCAM_CONFIG, {"detector": {"score_threshold": 0.4}}),
    "webcam, boxes >= 0.3, at most 6 people": (WEBCAM_CONFIG, {
        "detector": {"score_threshold": 0.3}, "pipeline": {"max_people": 6}}),
    "webcam, onnx threads 2": (WEBCAM_CONFIG, {"detector": {"onnx_threads": 2},
                                               "pose": {"onnx_threads": 2}}),
}
STAGES = ("detect", "flow", "pose", "associate")


class _CountingEstimator:
    """The pose estimator, counting the crops it is given."""

    def __init__(self, estimator) -> None:
        self._estimator, self.crops = estimator, 0

    def predict(self, image, boxes_xywh, *args, **kwargs):
        self.crops += len(boxes_xywh)
        return self._estimator.predict(image, boxes_xywh, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._estimator, name)


def _looped(source, loops: int):
    """The source's frames ``loops`` times, indices continuing across the restarts."""
    offset = 0
    for _ in range(loops):
        last = -1
        for frame in source:
            last = frame.index
            yield Frame(offset + frame.index, frame.image, frame.name, frame.timestamp_s)
        offset += last + 1


def bench_one(video: Path, config_file: Path, overrides: dict, loops: int, device: str) -> dict:
    models = SHARED_ROOT / "models"
    config = load_run_config(None, defaults=config_file, overrides={
        **overrides, "device": device,
        "detector": {"checkpoint": str(models / "rtmdet-nano-person" / "end2end.onnx"),
                     **overrides.get("detector", {})},
        "pose": {"name": "pp_tinypose_256x192",
                 "checkpoint": str(models / "pp-tinypose-256x192" / "pp_tinypose_256x192.onnx"),
                 **overrides.get("pose", {})}})
    stages = build_stages(config, progress=False)
    pipeline = stages.pipeline
    pipeline.estimator = counter = _CountingEstimator(pipeline.estimator)
    latency, processed, people = LatencyStats(), 0, 0
    with open_source(video) as source:
        pipeline(next(iter(source)))                   # warm-up, then forget it
        pipeline.reset()
        pipeline.stage_seconds = dict.fromkeys(pipeline.stage_seconds, 0.0)
        counter.crops = 0
        with LatestFrameReader(_looped(source, loops), pace=True, fps=source.fps) as reader:
            started = time.perf_counter()
            for captured in reader:
                result = pipeline(captured.frame)
                latency.add(time.perf_counter() - captured.captured_at)
                processed, people = processed + 1, people + len(result)
            elapsed = time.perf_counter() - started
    per_frame = max(processed, 1)
    return {"fps": processed / elapsed, "p50": latency.percentile_ms(50),
            "p95": latency.percentile_ms(95), "read": reader.frames_read,
            "dropped": reader.frames_dropped, "processed": processed,
            "people": people / per_frame, "crops": counter.crops / per_frame,
            **{stage: 1000 * pipeline.stage_seconds[stage] / per_frame for stage in STAGES}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default="street-crowd-720p.avi",
                        help="a file of the shared data/videos folder")
    parser.add_argument("--loops", type=int, default=2, help="times the video is played")
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant (median shown)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args(argv)
    video = SHARED_ROOT / "data" / "videos" / args.video
    if not video.is_file():
        print(f"missing {video} (set POSETRACK_SHARED to the shared folder)", file=sys.stderr)
        return 1
    with open_source(video) as source:
        print(f"{video.name}: {source.frame_size_wh[0]}x{source.frame_size_wh[1]} at "
              f"{source.fps:g} fps, played {args.loops}x as a camera; device {args.device}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (ms per processed "
              "frame)")
    print(f"{'variant':36s}{'frames/s':>9s}{'ratio':>7s}{'p50 ms':>8s}{'p95 ms':>8s}"
          f"{'read':>6s}{'dropped':>8s}{'people':>7s}{'crops':>6s}"
          + "".join(f"{stage:>10s}" for stage in STAGES))
    runs = {name: [] for name in args.variants}
    for _ in range(args.repeat):
        for name in args.variants:
            runs[name].append(bench_one(video, *VARIANTS[name], args.loops, args.device))
    baseline = None
    for name, results in runs.items():
        n = sorted(results, key=lambda result: result["fps"])[len(results) // 2]
        baseline = baseline or n["fps"]
        print(f"{name:36s}{n['fps']:9.2f}{n['fps'] / baseline:6.2f}x{n['p50']:8.0f}{n['p95']:8.0f}"
              f"{n['read']:6d}{n['dropped']:8d}{n['people']:7.1f}{n['crops']:6.1f}"
              + "".join(f"{n[stage]:10.1f}" for stage in STAGES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
