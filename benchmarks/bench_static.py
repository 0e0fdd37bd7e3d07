"""Images/s of the full static-image benchmark loop: batched across images vs one crop at a time.

    python -m benchmarks.bench_static                       # coco-mini-val2017, PP-TinyPose, CPU
    python -m benchmarks.bench_static --device cuda --model res50_coco_256x192 --random-weights

The loop is what ``posetrack-bench coco`` runs (GT boxes): read the persons from the annotation
file, read and crop the images, the network with flip test, decoding, and mmpose's scoring.
"batched" gathers the crops of several images into each network call (``--batch-size``) while
``--workers`` threads read and crop the next images; "one crop at a time" runs each person
alone (batch 1, no read-ahead). Both run in this process on the same model, after one warm-up,
interleaved (``--repeats``, best pass counts), and the ratio and the AP of each are printed
(equal APs: the same keypoints up to the network's batch-size numerics).

PP-TinyPose's ONNX file has a fixed batch of 1, so with it the network itself is not batched:
the batched loop gains from the read-ahead and from running normalisation, flip and decoding
once per batch (on a many-core CPU these small torch calls otherwise contend with onnxruntime's
threads for every crop). A torch model (``--random-weights`` runs any zoo architecture without
its checkpoint) batches the network as well. Measured (coco-mini-val2017, 32 images, 68 people):

    2-core CPU, PP-TinyPose ONNX               12.3 vs 10.3 images/s   1.2x
    16-core CPU (H100 host), PP-TinyPose ONNX  17.3 vs 4.5 images/s    3.9x
    16-core CPU (H100 host), res50 256x192     18.0 vs 9.4 images/s    1.9x
    H100 CUDA, res50 256x192                  272.7 vs 52.0 images/s   5.2x
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from tests.shared_data import SHARED_ROOT
from tracker.image_eval import BENCHMARKS, BoxRequest, evaluate_predictions
from tracker.image_eval.runner import DEFAULT_BATCH_SIZE, DEFAULT_WORKERS, run_top_down
from tracker.pose import build_network, load_pose_model
from tracker.pose.backends import TorchHeatmapNet, resolve_device
from tracker.pose.estimator import TopDownPoseEstimator
from tracker.pose.zoo import get_pose_model_spec

COCO_MINI = SHARED_ROOT / "data" / "coco-mini-val2017"
PP_TINYPOSE = SHARED_ROOT / "models" / "pp-tinypose-256x192" / "pp_tinypose_256x192.onnx"


def build_model(args):
    if not args.random_weights:
        checkpoint = args.checkpoint or (PP_TINYPOSE if args.model == "pp_tinypose_256x192"
                                         else None)
        return load_pose_model(args.model, checkpoint=checkpoint, device=args.device)
    spec = get_pose_model_spec(args.model)
    if spec.backend != "torch":
        raise ValueError("--random-weights needs a torch zoo model")
    torch.manual_seed(0)
    device = resolve_device(args.device)
    return TopDownPoseEstimator(network=TorchHeatmapNet(build_network(spec), device),
                                keypoint_set=spec.keypoint_set, input_size_wh=spec.input_size_wh,
                                mean=spec.mean, std=spec.std, device=device)


def full_loop(model, *, batch_size: int, workers: int) -> tuple[float, float, int]:
    """(seconds, AP, images) of one pass over coco-mini-val2017 with GT boxes."""
    ann_file = COCO_MINI / "annotations" / "person_keypoints_val2017.json"
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)
    start = time.perf_counter()
    boxes = BENCHMARKS["coco"].read_boxes(BoxRequest(ann_file, None, 0.0, model.input_size_wh))
    persons = run_top_down(model, COCO_MINI / "val2017", boxes, batch_size=batch_size,
                           workers=workers)
    metrics = evaluate_predictions("coco", ann_file, persons)
    seconds = time.perf_counter() - start
    return seconds, metrics["AP"], len({box.image_file for box in boxes})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="pp_tinypose_256x192")
    parser.add_argument("--checkpoint", help="weights (default: the shared PP-TinyPose ONNX)")
    parser.add_argument("--random-weights", action="store_true",
                        help="torch zoo model with random weights (speed only)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed passes per variant, interleaved; the best counts")
    args = parser.parse_args(argv)
    if not COCO_MINI.is_dir():
        print(f"error: {COCO_MINI} not found (set POSETRACK_SHARED to the shared folder)",
              file=sys.stderr)
        return 1
    model = build_model(args)
    device = (torch.cuda.get_device_name(model.device) if model.device.type == "cuda"
              else f"CPU, {torch.get_num_threads()} torch threads")
    print(f"coco-mini-val2017 (GT boxes, flip test), {args.model}"
          f"{' (random weights)' if args.random_weights else ''}, {device}")
    variants = {f"batched across images (batch {args.batch_size}, {args.workers} workers)":
                dict(batch_size=args.batch_size, workers=args.workers),
                "one crop at a time (batch 1, no read-ahead)": dict(batch_size=1, workers=0)}
    full_loop(model, batch_size=args.batch_size, workers=args.workers)   # warm-up
    runs = {label: [] for label in variants}
    for _ in range(args.repeats):          # interleaved, so that a load change hits both
        for label, options in variants.items():
            runs[label].append(full_loop(model, **options))
    rates = {}
    for label, timings in runs.items():
        seconds = min(r[0] for r in timings)
        rates[label] = timings[0][2] / seconds
        print(f"{label:52} {rates[label]:7.2f} images/s  (best of {len(timings)}: "
              f"{seconds:.2f} s, AP {timings[0][1]:.4f})")
    batched, single = rates.values()
    print(f"ratio batched / one crop at a time: {batched / single:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
