"""Person-detector throughput (frames/s): eager baseline vs faster execution paths, one run.

    python -m benchmarks.bench_detectors                       # both models, CPU
    python -m benchmarks.bench_detectors --models yolov3 --batch 4 --repeats 3
    python -m benchmarks.bench_detectors --device cuda

Both mmdet detectors run at their zoo test scales (Cascade R-CNN 1333x800, YOLOv3 608) on
the same frame (mmpose's COCO test image 000000196141.jpg, 640x429, when the shared data is
there; else a noise frame of that size). Every variant is the whole detector call (resize,
normalise, network, proposals, NMS). Ratios are against the plain eager baseline measured in
the same run: float32, NCHW, ``torch.no_grad``, one frame per call.

Weights: ``--cascade-checkpoint`` / ``--yolov3-checkpoint`` if given, else the synthetic
checkpoints of the shared mmdet-parity recipe (written to a temporary folder), else random
weights (speed does not depend on the values, only the number of boxes does a little).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from benchmarks.timing import timed_calls
from detectors import CascadeRCNN, YOLOv3, detector_zoo
from detectors.cascade_rcnn_net import CascadeRCNNNetwork
from detectors.yolov3_net import YOLOv3Network
from tracker.pose.backends import resolve_device

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSETRACK_SHARED", REPO.parent / "shared"))
RECIPE = SHARED / "fixtures" / "mmdet-parity" / "make_checkpoint.py"
FRAME = SHARED / "data" / "mmpose-testdata" / "coco" / "000000196141.jpg"
#: model -> (detector class, zoo name, network class, recipe model name)
MODELS = {
    "cascade": (CascadeRCNN, "cascade_rcnn_x101_64x4d_fpn_20e_coco", CascadeRCNNNetwork,
                "cascade"),
    "yolov3": (YOLOv3, "yolov3_d53_mstrain-608_273e_coco", YOLOv3Network, "yolov3"),
}


def frames_per_second(call, frames: list, device: torch.device, repeats: int) -> float:
    """Frames/s of ``call(frames)``: the fastest of ``repeats`` timed calls after one warm-up
    (the least disturbed by other processes on a shared machine)."""
    return len(frames) / min(timed_calls(call, frames, device, repeats))


def make_checkpoint(model: str, folder: Path) -> tuple[Path, str]:
    """A checkpoint for ``model``: the shared synthetic recipe, else random weights."""
    out = folder / f"{model}.pth"
    if RECIPE.is_file():
        spec = importlib.util.spec_from_file_location("mmdet_parity_recipe", RECIPE)
        recipe = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(recipe)
        recipe.make_checkpoint(MODELS[model][3], str(out))
        return out, "synthetic (mmdet-parity recipe)"
    torch.manual_seed(0)
    torch.save({"state_dict": MODELS[model][2]().state_dict()}, out)
    return out, "random"


def variants(detector_class, path: Path, options: dict, device: torch.device, batch: int):
    """(name, call(frames), frames per call) of each execution path."""
    plain = detector_class(path, device=device, **options)
    plain.inference_context = torch.no_grad
    fast = detector_class(path, device=device, **options)
    channels_last = detector_class(path, device=device, channels_last=True,
                                   **{**options, "batch_size": batch})
    yield "eager fp32 NCHW no_grad, 1 frame/call (baseline)", lambda f: [plain(x) for x in f], 1
    yield "torch.inference_mode", lambda f: [fast(x) for x in f], 1
    yield "inference_mode + channels_last", lambda f: [channels_last(x) for x in f], 1
    batched = detector_class(path, device=device, **{**options, "batch_size": batch})
    yield f"inference_mode + batch of {batch}", batched.detect_batch, batch
    yield (f"inference_mode + channels_last + batch of {batch}", channels_last.detect_batch,
           batch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS),
                        default=["yolov3", "cascade"])
    parser.add_argument("--cascade-checkpoint", type=Path)
    parser.add_argument("--yolov3-checkpoint", type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=2, help="frames per call, batched variants")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    frame = cv2.imread(str(FRAME)) if FRAME.is_file() else None
    if frame is None:
        frame = np.random.default_rng(0).integers(0, 256, (429, 640, 3), dtype=np.uint8)
    print(f"device {device}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}, "
          f"frame {frame.shape[1]}x{frame.shape[0]}")
    with tempfile.TemporaryDirectory() as folder:
        for model in args.models:
            detector_class, zoo_name, _, _ = MODELS[model]
            path = getattr(args, f"{model}_checkpoint")
            source = "given"
            if path is None:
                path, source = make_checkpoint(model, Path(folder))
            options = detector_zoo()[zoo_name].options()
            print(f"\n{zoo_name} (test scale {options['test_scale']}, weights {source})")
            print(f"  {'variant':<58} {'frames/s':>9} {'ratio':>7}")
            baseline = None
            for name, call, per_call in variants(detector_class, path, options, device,
                                                 args.batch):
                fps = frames_per_second(call, [frame] * per_call, device, args.repeats)
                baseline = baseline or fps
                print(f"  {name:<58} {fps:9.3f} {fps / baseline:6.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
