"""Many videos: serial vs ``--workers N`` vs ``--ray`` on the shared videos, in one run.

    python -m benchmarks.bench_batch [--max-frames 40] [--workers 2] [--no-ray]

Each mode runs ``posetrack-run VIDEOS --out DIR`` (RTMDet-nano + PP-TinyPose, the shared
models) into its own folder; the table gives wall seconds, videos/s, frames/s, the speed-up
over serial, and whether every JSON equals the serial run's bytes. On 2 cores expect at most
about 2x: the point is that it scales and loses nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from tests.shared_data import SHARED_ROOT

VIDEOS = ("basketball-2p-426x240.mp4", "indoor-2p-1080p.mp4", "night-street-30p-1080p.mp4",
          "street-crowd-720p.avi")


def main(argv=None) -> int:
    from apps import run

    parser = argparse.ArgumentParser(prog="bench_batch", description=__doc__.splitlines()[0])
    parser.add_argument("--max-frames", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args(argv)
    videos = [str(SHARED_ROOT / "data" / "videos" / name) for name in VIDEOS]
    missing = [v for v in videos if not Path(v).is_file()]
    if missing:
        print(f"bench_batch: error: video(s) not found: {missing}", file=sys.stderr)
        return 1
    models = SHARED_ROOT / "models"
    flags = ["--detector", "rtmdet-nano", "--detector-checkpoint",
             str(models / "rtmdet-nano-person" / "end2end.onnx"), "--pose-model",
             "pp_tinypose_256x192", "--pose-checkpoint",
             str(models / "pp-tinypose-256x192" / "pp_tinypose_256x192.onnx"),
             "--max-frames", str(args.max_frames), "--quiet"]
    modes = {"serial": [], f"--workers {args.workers}": ["--workers", str(args.workers)]}
    if not args.no_ray:
        modes["--ray (local)"] = ["--ray"]
    rows, reference = [], None
    with tempfile.TemporaryDirectory() as temporary:
        for label, extra in modes.items():
            out = Path(temporary, label.replace(" ", "_").strip("-()"))
            start = time.perf_counter()
            code = run.main([*videos, "--out", str(out), *extra, *flags])
            seconds = time.perf_counter() - start
            outputs = {p.name: p.read_bytes() for p in out.glob("*.json")
                       if p.name != "summary.json"}
            reference = reference or outputs
            frames = sum(len(json.loads(b)["images"]) for b in outputs.values())
            rows.append((label, code, seconds, len(outputs), frames, outputs == reference))
    serial = rows[0][2]
    print(f"\n{len(videos)} shared videos x {args.max_frames} frames, RTMDet-nano + PP-TinyPose, "
          "wall time including model loading")
    print(f"{'mode':16s} {'exit':>4s} {'s':>7s} {'videos/s':>9s} {'frames/s':>9s} "
          f"{'speed-up':>8s} {'same JSON':>9s}")
    for label, code, seconds, count, frames, same in rows:
        print(f"{label:16s} {code:4d} {seconds:7.1f} {count / seconds:9.3f} {frames / seconds:9.2f} "
              f"{serial / seconds:7.2f}x {'yes' if same else 'NO':>9s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
