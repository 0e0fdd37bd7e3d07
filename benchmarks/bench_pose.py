"""Pose network throughput (crops/s): eager vs faster execution paths, in one process.

    python -m benchmarks.bench_pose                        # res50 256x192, CPU, batch 1/8/32
    python -m benchmarks.bench_pose --device cuda --compile
    python -m benchmarks.bench_pose --model res152_coco_384x288 --batch-sizes 1 8
    python -m benchmarks.bench_pose --precision bfloat16   # the CPU's bf16 against float32

Every variant runs the same network on the same random input; ratios are against the eager
float32 NCHW baseline at the same batch size, measured in this run ("folded BN": BatchNorm
folded into the convolutions, ``tracker.pose.net.fold_batchnorm``, as ``load_pose_model``
does). Weights are random (speed does not depend on them) unless --checkpoint is given. Then the whole top-down ``predict``
(crop + normalise + network + flip test + decode) on the exact path (cv2 crops, float32: mmpose's
numbers) and the fast path (``fast_path=True``: crops sampled on the device, crops and mirrors
in one call; on CUDA also channels-last + fp16), and how far the fast path's keypoints land from
the exact ones (with random weights heatmaps are flat and argmaxes fragile: pass --checkpoint
for the difference a trained model shows).
"""
from __future__ import annotations

import argparse
import statistics
import sys

import cv2
import numpy as np
import torch

from benchmarks.timing import timed_calls
from tracker.pose.backends import TorchHeatmapNet, resolve_device
from tracker.pose.checkpoint import load_into, read_state_dict
from tracker.pose.estimator import DEFAULT_MAX_BATCH, TopDownPoseEstimator
from tracker.pose.load import build_network, torch_heatmap_net
from tracker.pose.net import fold_batchnorm
from tracker.pose.precision import PRECISIONS, autocast_dtype
from tracker.pose.zoo import get_pose_model_spec


def time_call(fn, batch, device, repeats: int) -> float:
    """Median seconds of ``fn(batch)`` over ``repeats`` runs after one warm-up."""
    return statistics.median(timed_calls(fn, batch, device, repeats))


def variants(network, device, use_compile: bool):
    yield "eager", TorchHeatmapNet(network, device)
    yield "channels_last", TorchHeatmapNet(network, device, channels_last=True)
    if device.type == "cuda":
        yield "channels_last+fp16 autocast", TorchHeatmapNet(
            network, device, channels_last=True, autocast=torch.float16)
    yield "channels_last+bf16 autocast", TorchHeatmapNet(   # CPUs with AMX/AVX512-BF16 too
        network, device, channels_last=True, autocast=torch.bfloat16)
    folded = fold_batchnorm(network)            # load_pose_model's default
    yield "folded BN+channels_last", TorchHeatmapNet(folded, device, channels_last=True)
    if device.type == "cpu":                    # the CPU fast path's network (native bf16)
        yield "folded BN+channels_last+bf16 autocast", TorchHeatmapNet(
            folded, device, channels_last=True, autocast=torch.bfloat16)
    if device.type == "cuda":                   # the CUDA fast path's network
        yield "folded BN+channels_last+fp16 autocast", TorchHeatmapNet(
            folded, device, channels_last=True, autocast=torch.float16)
    if use_compile:
        compiled = torch.compile(network.eval())
        yield "torch.compile", TorchHeatmapNet(compiled, device)


def person_boxes(count: int) -> tuple[np.ndarray, np.ndarray]:
    """A real frame (a shared video's, else a random one) and ``count`` person-sized boxes
    (xywh) scattered over it, the same in every run."""
    image = None
    try:
        from tests.shared_data import SHARED_ROOT
        capture = cv2.VideoCapture(str(SHARED_ROOT / "data" / "videos" /
                                       "street-crowd-720p.avi"))
        ok, frame = capture.read()
        capture.release()
        image = frame if ok else None
    except ImportError:              # benchmarks run from a checkout; tests/ may be absent
        pass
    if image is None:
        image = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    rng = np.random.default_rng(1)
    height, width = image.shape[:2]
    sides = rng.uniform(0.15, 0.6, (count, 1)) * height * np.array([[0.4, 1.0]])
    corners = rng.uniform(0, 1, (count, 2)) * (np.array([width, height]) - sides)
    return image, np.concatenate([corners, sides], axis=1)


def estimator(network, spec, device, fast_path: bool, max_batch_size: int,
              precision: str | None = None):
    """The estimator ``load_pose_model`` builds around ``network`` on that path."""
    return TopDownPoseEstimator(
        network=torch_heatmap_net(network, device, channels_last=False,
                                  autocast=autocast_dtype(precision, device, fast_path)),
        keypoint_set=spec.keypoint_set, input_size_wh=spec.input_size_wh, mean=spec.mean,
        std=spec.std, channel_order=spec.channel_order, device=device,
        max_batch_size=max_batch_size, fast_path=fast_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="res50_coco_256x192")
    parser.add_argument("--checkpoint", help="load these weights instead of random ones")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", type=int, nargs="+",
                        help="network batches (default: 1 8 32 on the CPU, 1 32 256 on CUDA)")
    parser.add_argument("--people", type=int, nargs="+", default=[1, 16, 64],
                        help="people per frame for the top-down predict comparison")
    parser.add_argument("--max-batch-size", type=int, default=DEFAULT_MAX_BATCH,
                        help="crops per network call in predict")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--precision", choices=list(PRECISIONS),
                        help="the fast path's precision in the predict comparison (default: "
                        "load_pose_model's, float16 on CUDA, float32 on the CPU)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    batch_sizes = args.batch_sizes or ([1, 32, 256] if device.type == "cuda" else [1, 8, 32])
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
    for batch_size in batch_sizes:
        batch = torch.randn(batch_size, 3, height, width, device=device)
        baseline = None
        for label, fn in variants(network, device, args.compile):
            seconds = time_call(fn, batch, device, args.repeats)
            baseline = baseline or seconds
            print(f"{batch_size:>5}  {label:28} {batch_size / seconds:9.1f}  "
                  f"{baseline / seconds:7.2f}x")
    image, boxes = person_boxes(max(args.people))
    print(f"\ntop-down predict (crop + normalise + network + flip test + decode), "
          f"max_batch_size {args.max_batch_size}: exact = cv2 crops, float32 (mmpose's path); "
          f"fast = device crops, {autocast_dtype(args.precision, device, True) or 'float32'}"
          ", crops and mirrors in one call")
    print(f"{'people':>6}  {'exact people/s':>14}  {'fast people/s':>13}  {'fast/exact':>10}  "
          f"{'|fast - exact| px: median':>25}  {'p99':>7}  {'max':>7}  {'> 1 px':>6}")
    paths = {fast: estimator(network, spec, device, fast, args.max_batch_size,
                             args.precision if fast else "float32") for fast in (False, True)}
    for people in args.people:
        chosen = boxes[:people]
        seconds = {fast: time_call(lambda b, m=model: m.predict(image, b), chosen, device,
                                   args.repeats) for fast, model in paths.items()}
        distance = np.linalg.norm(paths[True].predict(image, chosen).keypoints
                                  - paths[False].predict(image, chosen).keypoints, axis=-1)
        print(f"{people:>6}  {people / seconds[False]:14.1f}  {people / seconds[True]:13.1f}  "
              f"{seconds[False] / seconds[True]:9.2f}x  {np.median(distance):25.4f}  "
              f"{np.percentile(distance, 99):7.3f}  {distance.max():7.2f}  "
              f"{(distance > 1).mean():6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
