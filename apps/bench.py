"""posetrack-bench: one static-image benchmark of the seed, scored exactly as mmpose 0.29 does.

    posetrack-bench coco --data-root data/coco --model res50_coco_256x192
    posetrack-bench coco --data-root data/coco --model res50_coco_256x192 \\
        --detections data/coco/person_detection_results/COCO_val2017_detections_AP_H_56_person.json
    posetrack-bench jhmdb --data-root data/jhmdb --split 2 --model res50_jhmdb_sub2_256x256

BENCHMARK is one of coco, ochuman, aic, mhp, mpii, mpii_trb, crowdpose, posetrack18, jhmdb;
DIR holds the dataset in its official layout (configs/benchmarks.yaml; --ann-file and
--img-prefix override it). People are cropped from the ground-truth boxes, or from --detections
(COCO detection results; coco, crowdpose and posetrack18). A COCO keypoint model can be
scored on posetrack18: its keypoints are mapped as posetrack-run/posetrack-val map them
(head_bottom, head_top from nose and shoulders; tracker.image_eval.keypoint_mapping). Writes to
--out: metrics.json (all metrics), persons.json (every person's keypoints, mapped ones in the
benchmark's order), and the raw results each community evaluator reads (result_keypoints.json
COCO results, preds/ for poseval, pred.mat for MPII). Every file is checked before inference
starts. Exit codes: 0 ok, 1 bad input or failure (one line
``posetrack-bench: error: ...`` naming the file and what is wrong; the traceback too with
--verbose), 2 bad arguments, 130 Ctrl-C.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from apps import cli
from tracker.files import write_json_atomically
from tracker.image_eval import (BENCHMARKS, Benchmark, BoxRequest, KeypointMapping,
                                benchmark_configs, benchmark_mapping, evaluate_predictions,
                                format_table, map_persons, missing_images)
from tracker.image_eval.runner import DEFAULT_BATCH_SIZE, DEFAULT_WORKERS, run_top_down
from tracker.pose.zoo import get_pose_model_spec

PROG = "posetrack-bench"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", choices=list(BENCHMARKS))
    parser.add_argument("--data-root", required=True, type=Path, help="the dataset's folder")
    parser.add_argument("--model", required=True, help="zoo name or model .yaml file")
    parser.add_argument("--checkpoint", type=Path, help="local .pth/.onnx instead of the zoo file")
    parser.add_argument("--detections", type=Path, help="person detections (COCO results JSON) "
                        "instead of ground-truth boxes")
    parser.add_argument("--det-bbox-thr", type=float,
                        help="drop detections scored below this (default: the seed config's)")
    parser.add_argument("--split", type=int, choices=(1, 2, 3), default=1,
                        help="Sub-JHMDB split (jhmdb only)")
    parser.add_argument("--ann-file", type=Path, help="annotation file (default: official layout)")
    parser.add_argument("--img-prefix", type=Path, help="image folder (default: official layout)")
    parser.add_argument("--gt", type=Path, help="MPII mpii_gt_val.mat or PoseTrack18 GT folder "
                        "(default: next to the annotation file)")
    parser.add_argument("--out", type=Path, help="output folder (default: ./bench-BENCHMARK)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="crops per network call, gathered across images")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="threads reading and cropping images ahead of the network")
    parser.add_argument("--no-flip", action="store_true", help="disable the flip test")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    cli.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.workers < 0:
        parser.error("--batch-size must be >= 1 and --workers >= 0")
    return args


def _paths(args, benchmark):
    layout, _ = benchmark_configs()[benchmark.name]
    root = args.data_root
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} is not a folder")
    ann_file = args.ann_file or root / layout.ann_file.format(split=args.split)
    img_dir = args.img_prefix or root / layout.img_prefix
    gt_path = args.gt or (root / layout.gt_file if layout.gt_file else None)
    if not ann_file.is_file():
        raise FileNotFoundError(f"annotation file {ann_file} does not exist (expected the "
                                f"official layout under {root}, or pass --ann-file)")
    if not img_dir.is_dir():
        raise FileNotFoundError(f"image folder {img_dir} does not exist (or pass --img-prefix)")
    if args.detections is not None and not args.detections.is_file():
        raise FileNotFoundError(f"detection file {args.detections} does not exist")
    return ann_file, img_dir, gt_path


@dataclass(frozen=True)
class Inputs:
    """Everything checked before the model is loaded."""

    benchmark: Benchmark
    ann_file: Path
    img_dir: Path
    gt_path: Optional[Path]
    det_bbox_thr: float
    boxes: list
    mapping: Optional[KeypointMapping]    # the model's keypoints -> the benchmark's, or None


def check_inputs(args) -> Inputs:
    """Every file and the model's keypoint set, before any weights are loaded."""
    benchmark = BENCHMARKS[args.benchmark]
    _, defaults = benchmark_configs()[benchmark.name]
    if args.detections is not None and not benchmark.detections:
        raise ValueError(f"--detections: {benchmark.name} is scored with ground-truth boxes "
                         "(mmpose's dataset requires use_gt_bbox); drop --detections")
    ann_file, img_dir, gt_path = _paths(args, benchmark)
    mapping = benchmark_mapping(benchmark, get_pose_model_spec(args.model).keypoint_set.names,
                                model=args.model)
    det_bbox_thr = defaults.det_bbox_thr if args.det_bbox_thr is None else args.det_bbox_thr
    boxes = benchmark.read_boxes(BoxRequest(ann_file, args.detections, det_bbox_thr,
                                            get_pose_model_spec(args.model).input_size_wh,
                                            gt_path))
    if not boxes:
        raise ValueError(f"{args.detections or ann_file}: no persons to evaluate")
    missing = missing_images(img_dir, boxes)
    if missing:
        raise FileNotFoundError(f"image {missing[0]} does not exist ({len(missing)} of the "
                                f"benchmark's images are missing under {img_dir})")
    return Inputs(benchmark, ann_file, img_dir, gt_path, det_bbox_thr, boxes, mapping)


def run(args) -> int:
    from tracker.pose import load_pose_model

    inputs = check_inputs(args)
    benchmark = inputs.benchmark
    out = args.out or Path(f"bench-{benchmark.name}")
    out.mkdir(parents=True, exist_ok=True)
    model = load_pose_model(args.model, checkpoint=args.checkpoint, device=args.device,
                            flip_test=not args.no_flip, fast_path=False)   # mmpose's crops
    start = time.perf_counter()
    persons = run_top_down(model, inputs.img_dir, inputs.boxes, batch_size=args.batch_size,
                           workers=args.workers, flip_test=not args.no_flip,
                           progress=not args.quiet)
    seconds = time.perf_counter() - start
    if inputs.mapping is not None:
        persons = map_persons(persons, inputs.mapping)
        print(f"{args.model}: {inputs.mapping.description}")
    write_json_atomically(out / "persons.json", persons)
    metrics = evaluate_predictions(
        benchmark.name, inputs.ann_file, persons, results_dir=out, gt_path=inputs.gt_path,
        use_gt_bbox=args.detections is None, det_bbox_thr=inputs.det_bbox_thr,
        bbox_file=str(args.detections) if args.detections else None)
    num_images = len({box.image_file for box in inputs.boxes})
    rate = num_images / max(seconds, 1e-9)
    boxes_text = str(args.detections) if args.detections else "ground truth"
    write_json_atomically(out / "metrics.json", {
        "benchmark": benchmark.name, "model": str(args.model),
        "checkpoint": str(args.checkpoint) if args.checkpoint else None,
        "annotation_file": str(inputs.ann_file), "boxes": boxes_text,
        "flip_test": not args.no_flip, "num_persons": len(inputs.boxes),
        "keypoint_mapping": inputs.mapping.description if inputs.mapping else None,
        "num_images": num_images, "inference_seconds": seconds, "images_per_second": rate,
        "metrics": {k: None if isinstance(v, float) and math.isnan(v) else v
                    for k, v in metrics.items()}})
    print(f"{benchmark.title}: {args.model}, boxes: {boxes_text}, {len(inputs.boxes)} persons "
          f"in {num_images} images, {rate:.1f} images/s")
    print(format_table(benchmark, metrics))
    print(f"wrote {out / 'metrics.json'}, {out / 'persons.json'} and the raw results in {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run_main(PROG, parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
