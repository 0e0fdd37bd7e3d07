"""Pose network throughput (crops/s): eager vs faster execution paths, in one process.

    python -m benchmarks.bench_pose                        # res50 256x192, CPU, batch 1/8/32
    python -m benchmarks.bench_pose --device cuda --compile
    python -m benchmarks.bench_pose --model res152_coco_384x288 --batch-sizes 1 8

Every variant runs the same network on the same random input; ratios are against the eager
float32 NCHW baseline at the same batch size, measured in this run. Weights are random (speed
does not depend on them) unless --checkpoint is given. Also reports the whole top-down
``predict`` (crop + normalise + network + flip test + decode) per person.
"""
from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
import torch

from benchmarks.timing import timed_calls
from tracker.pose.backends import TorchHeatmapNet, resolve_device
from tracker.pose.checkpoint import load_into, read_state_dict
from tracker.pose.estimator import TopDownPoseEstimator
from tracker.pose.load import build_network
from tracker.pose.zoo import get_pose_model_spec


def time_call(fn, batch, device, repeats: int) -> float:
    """Median seconds of ``fn(batch)`` over ``repeats`` runs after one warm-up."""
    return statistics.median(timed_calls(fn, batch, device, repeats))


def variants(network, device, use_compile: bool):
    yield "eager", TorchHeatmapNet(network, device)
    yield "channels_last", TorchHeatmapNet(network, device, channels_last=True)
    if device.type == "cuda":
        half = TorchHeatmapNet(network, device, channels_last=True)

        def autocast_fp16(batch):
            with torch.autocast("cuda", dtype=torch.float16):
                return half(batch)
        yield "channels_last+fp16 autocast", autocast_fp16
    if use_compile:
        compiled = torch.compile(network.eval())
        yield "torch.compile", TorchHeatmapNet(compiled, device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="res50_coco_256x192")
    parser.add_argument("--checkpoint", help="load these weights instead of random ones")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    spec = get_pose_model_spec(args.model)
    if spec.backend != "torch":
        print("error: the benchmark times torch pose networks", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    network = build_network(spec)
    if args.checkpoint:
        load_into(network, read_state_dict(args.checkpoint), args.checkpoint, spec.name)
    network = network.eval().to(device)
    width, height = spec.input_size_wh
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{spec.name} ({width}x{height} input), {name}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"{'batch':>5}  {'variant':28} {'crops/s':>9}  {'vs eager':>8}")
    for batch_size in args.batch_sizes:
        batch = torch.randn(batch_size, 3, height, width, device=device)
        baseline = None
        for label, fn in variants(network, device, args.compile):
            seconds = time_call(fn, batch, device, args.repeats)
            baseline = baseline or seconds
            print(f"{batch_size:>5}  {label:28} {batch_size / seconds:9.1f}  "
                  f"{baseline / seconds:7.2f}x")
    estimator = TopDownPoseEstimator(
        network=TorchHeatmapNet(network, device), keypoint_set=spec.keypoint_set,
        input_size_wh=spec.input_size_wh, mean=spec.mean, std=spec.std, device=device)
    image = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    boxes = np.tile([[100.0, 100.0, 150.0, 300.0]], (8, 1))
    for flip in (False, True):
        seconds = time_call(lambda b: estimator.predict(image, b, flip_test=flip), boxes,
                            device, args.repeats)
        print(f"predict, 8 people, flip_test={flip}: {8 / seconds:.1f} people/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
