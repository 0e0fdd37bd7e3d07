"""Time per stage of posetrack-run on the shared videos with the real ONNX models.

    python -m benchmarks.bench_pipeline [--frames 60] [--device cpu] [--videos NAME ...]

For each video and each variant it prints milliseconds per frame spent in decode, detect,
flow, pose, associate and write, end-to-end frames/s, and the ratio of each variant's
frames/s to the first variant (greedy box-IoU without flow, mmpose's demo tracker), all
measured in this process, and the number of track ids created (on a video with a fixed
cast, fewer ids = fewer broken tracks).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.shared_data import SHARED_ROOT
from tracker.io.posetrack18 import TrackWriter, sequence_name_for
from apps.config import build_stages, load_run_config
from tracker.io.video import open_source

VIDEOS = ("basketball-2p-426x240.mp4", "indoor-2p-1080p.mp4", "street-crowd-720p.avi")
VARIANTS = {
    "iou, no flow (baseline)": {"flow": None, "pipeline": {"propagate": False},
                                "tracker": {"similarity": "iou", "min_similarity": 0.3}},
    "flow_oks + propagation, DIS fast": {},
    "flow_oks + propagation, DIS ultrafast": {"flow": {"dis_preset": "ultrafast"}},
    "flow_oks, detect every 3rd frame": {"pipeline": {"detect_every": 3}},
    "flow_oks + propagation, Farneback": {"flow": {"method": "farneback"}},
    "oks, no flow": {"flow": None, "pipeline": {"propagate": False},
                     "tracker": {"similarity": "oks"}},
    "default, no flip test": {"pose": {"flip_test": False}},
}
STAGES = ("decode", "detect", "flow", "pose", "associate", "write")


def bench_one(video: Path, overrides: dict, frames: int, device: str) -> dict:
    models = SHARED_ROOT / "models"
    config = load_run_config(None, {
        "device": device,
        "detector": {"checkpoint": str(models / "rtmdet-nano-person" / "end2end.onnx")},
        "pose": {"name": "pp_tinypose_256x192",
                 "checkpoint": str(models / "pp-tinypose-256x192" / "pp_tinypose_256x192.onnx"),
                 **overrides.get("pose", {})},
        **{k: v for k, v in overrides.items() if k != "pose"}})
    stages = build_stages(config, progress=False)
    seconds = dict.fromkeys(STAGES, 0.0)
    with tempfile.TemporaryDirectory() as folder, open_source(video, max_frames=frames) as source:
        writer = TrackWriter(Path(folder) / "t.json",
                             keypoint_names=stages.estimator.keypoint_set.names,
                             sequence_name=sequence_name_for(video))
        started = time.perf_counter()
        count = 0
        iterator = iter(source)
        while True:
            tick = time.perf_counter()
            frame = next(iterator, None)
            seconds["decode"] += time.perf_counter() - tick
            if frame is None:
                break
            result = stages.pipeline(frame)
            tick = time.perf_counter()
            writer.add(result)
            seconds["write"] += time.perf_counter() - tick
            count += 1
        tick = time.perf_counter()
        writer.close()
        seconds["write"] += time.perf_counter() - tick
        total = time.perf_counter() - started
    for stage, value in stages.pipeline.stage_seconds.items():
        seconds[stage] = value
    return {"frames": count, "fps": count / total, "tracks": writer.max_track_id + 1,
            **{stage: 1000 * value / max(count, 1) for stage, value in seconds.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--videos", nargs="*", default=list(VIDEOS))
    args = parser.parse_args(argv)
    for name in args.videos:
        video = SHARED_ROOT / "data" / "videos" / name
        if not video.is_file():
            print(f"missing {video}", file=sys.stderr)
            return 1
        print(f"\n{name}, {args.frames} frames, device {args.device} (ms per frame)")
        print(f"{'variant':40s}" + "".join(f"{s:>9s}" for s in STAGES)
              + "   frames/s  ratio  track ids")
        baseline = None
        for variant, overrides in VARIANTS.items():
            numbers = bench_one(video, overrides, args.frames, args.device)
            baseline = baseline or numbers["fps"]
            print(f"{variant:40s}" + "".join(f"{numbers[s]:9.1f}" for s in STAGES)
                  + f"   {numbers['fps']:8.2f}  {numbers['fps'] / baseline:5.2f}x"
                  + f"  {numbers['tracks']:9d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
