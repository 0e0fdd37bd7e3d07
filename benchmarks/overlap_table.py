"""Frames/s of posetrack-run's overlapped pipeline against its sequential one, in one run.

    python -m benchmarks.bench_pipeline --overlap [--frames 60] [--videos NAME ...]

For each shared video: the decode-only rate (the ceiling: reading the frames and nothing
else); the sequential path as it was before issue 16 ("one call": every stage in line, one
pose-network call at a time, ``--no-overlap`` with ``pose.onnx_runs: 1``); the sequential
path (``--no-overlap``: stages in line, the fixed-batch pose model's calls ``onnx_runs`` at
once); the overlapped default (decoding, flow and detection ahead in their own threads);
the ratios of the default to both and to the decode-only rate; how many cores the
sequential path keeps busy (its CPU time over its wall time) and so the most any overlap
could gain on this machine (cores / cores busy: overlapping fills idle cores, it does not
make the work smaller); and whether all three wrote the same JSON bytes. The stages are
the ``fast`` CPU setup with the shared models: RTMDet-nano boxes + PP-TinyPose without flip
test, flow-OKS with propagation and the default tracker; with ``--pose-checkpoint PTH`` the
pose network is the PoseTrack18 ResNet-50 with those weights and the flip test (the
``accurate`` preset's pose setup; on ``--device cuda`` its fast path), for the GPU, where the
product should be limited by decoding. Each path gets its own freshly
built stages; the order of the paths alternates per repeat so that none always runs on a
warmer machine.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Optional

from tests.shared_data import SHARED_ROOT
from tracker.io.posetrack18 import TrackWriter, sequence_name_for
from tracker.io.video import open_source
from tracker.tracking.overlap import run_frames


def fast_stages(device: str, onnx_runs: int = 0, pose_checkpoint: Optional[str] = None):
    """posetrack-run's stages for the fast setup on the shared RTMDet-nano / PP-TinyPose, or
    with the PoseTrack18 ResNet-50 (flip test) of ``pose_checkpoint``."""
    from apps.config import build_stages, load_run_config

    models = SHARED_ROOT / "models"
    pose = {"name": "pp_tinypose_256x192", "flip_test": False, "onnx_runs": onnx_runs,
            "checkpoint": str(models / "pp-tinypose-256x192" / "pp_tinypose_256x192.onnx")}
    if pose_checkpoint:
        pose = {"name": "res50_posetrack18_256x192", "flip_test": True,
                "checkpoint": str(pose_checkpoint)}
    config = load_run_config(None, {
        "device": device,
        "detector": {"name": "rtmdet-nano",
                     "checkpoint": str(models / "rtmdet-nano-person" / "end2end.onnx")},
        "pose": pose})
    return build_stages(config, progress=False)


def decode_rate(video: Path, frames: int) -> float:
    """Frames/s of reading the video alone."""
    started = time.perf_counter()
    with open_source(video, max_frames=frames) as source:
        count = sum(1 for _ in source)
    return count / (time.perf_counter() - started)


def tracked_rate(video: Path, frames: int, device: str, overlap: bool,
                 onnx_runs: int = 0, pose_checkpoint: Optional[str] = None
                 ) -> tuple[float, float, bytes]:
    """(frames/s, cores busy, JSON bytes written) of one posetrack-run-like pass (stages
    built first, not timed). Cores busy: the process's CPU time over the wall time."""
    stages = fast_stages(device, onnx_runs, pose_checkpoint)
    with tempfile.TemporaryDirectory() as folder, open_source(video, max_frames=frames) as source:
        path = Path(folder) / "tracks.json"
        writer = TrackWriter(path, keypoint_names=stages.estimator.keypoint_set.names,
                             sequence_name=sequence_name_for(video))
        started, cpu_started = time.perf_counter(), time.process_time()
        count = 0
        results = run_frames(stages.pipeline, source, overlap=overlap)
        try:
            for _, result in results:
                writer.add(result)
                count += 1
        finally:
            results.close()
        writer.close()
        seconds = time.perf_counter() - started
        busy = (time.process_time() - cpu_started) / seconds
        return count / seconds, busy, path.read_bytes()


#: The table's paths: name -> (overlap, pose.onnx_runs).
PATHS = {"one call": (False, 1), "sequential": (False, 0), "overlapped": (True, 0)}


def overlap_table(videos: list[str], frames: int, device: str, repeats: int = 2,
                  pose_checkpoint: Optional[str] = None) -> int:
    """Print the table (module doc); 1 when a video is missing."""
    setup = ("RTMDet-nano + PoseTrack18 ResNet-50, flip test" if pose_checkpoint else
             "fast setup (RTMDet-nano + PP-TinyPose, no flip)")
    print(f"\noverlapped vs sequential, {frames} frames, device {device}, {setup}, best of "
          f"{repeats} (frames/s)")
    print(f"{'video':28s}{'decode only':>12s}" + "".join(f"{name:>12s}" for name in PATHS)
          + f"{'/ seq.':>8s}{'/ one call':>11s}{'of decode':>10s}{'seq. busy':>10s}"
          f"{'ceiling':>9s}   same JSON")
    cores = os.cpu_count() or 1
    for name in videos:
        video = SHARED_ROOT / "data" / "videos" / name
        if not video.is_file():
            print(f"missing {video}")
            return 1
        decode = decode_rate(video, frames)
        best = dict.fromkeys(PATHS, 0.0)
        busy = dict.fromkeys(PATHS, 0.0)
        written = {}
        for repeat in range(repeats):
            order = list(PATHS) if repeat % 2 == 0 else list(PATHS)[::-1]
            for path in order:
                rate, cores_busy, data = tracked_rate(video, frames, device, *PATHS[path],
                                                      pose_checkpoint=pose_checkpoint)
                if rate > best[path]:
                    best[path], busy[path] = rate, cores_busy
                written.setdefault(path, data)
        same = "yes" if len(set(written.values())) == 1 else "NO"
        default = best["overlapped"]
        print(f"{name:28s}{decode:12.1f}" + "".join(f"{best[path]:12.2f}" for path in PATHS)
              + f"{default / best['sequential']:7.2f}x{default / best['one call']:10.2f}x"
              f"{default / decode:10.1%}{busy['sequential']:10.2f}"
              f"{cores / busy['sequential']:8.2f}x   {same}", flush=True)
    return 0
