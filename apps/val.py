"""posetrack-val: track every sequence of a PoseTrack18 split, then score it like poseval.

    posetrack-val ROOT --out pred/ --detector posetrack-gt --pose-model res50_posetrack18_256x192
    posetrack-val ROOT --out pred/ --detector detections \\
        --detector-checkpoint posetrack18_human_detections.json --detections-images val.json
    posetrack-val ROOT --out pred/ --detector rtmdet-nano --detector-checkpoint end2end.onnx

ROOT holds ``annotations/<split>/<seq>.json`` and ``images/<split>/<seq>/*.jpg``. One
prediction file per sequence is written to ``--out`` (atomically); sequences whose file
exists are skipped, so an interrupted run resumes (``--overwrite`` redoes them). Then the
predictions are scored (AP per joint group as in the seed's PoseTrack18 rows, and MOTA).
Exit codes: 0 ok, 1 bad input or failure (one line ``posetrack-val: error: ...``; the
traceback too with --verbose), 2 bad arguments, 130 Ctrl-C (finished sequences are kept).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from apps import cli
from apps.config import build_stages, flag_overrides, load_run_config
from tracker.errors import ConfigError
from tracker.eval import evaluate_files
from tracker.eval.dataset import find_sequences, sequence_frames
from tracker.files import write_json_atomically
from tracker.io.posetrack18 import TrackWriter
from tracker.tracking.overlap import run_frames

PROG = "posetrack-val"
#: Detectors that replay a file per sequence: their config section is made for each one.
PER_SEQUENCE_DETECTORS = ("posetrack-gt", "detections")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="PoseTrack18 root (annotations/, images/)")
    parser.add_argument("--out", required=True, type=Path, help="folder for prediction files")
    parser.add_argument("--split", default="val")
    parser.add_argument("--sequences", nargs="*", help="only these sequences (names)")
    parser.add_argument("--overwrite", action="store_true", help="redo finished sequences")
    parser.add_argument("--json", type=Path, help="write all metrics here")
    parser.add_argument("--config", type=Path, help="YAML overriding configs/default.yaml")
    parser.add_argument("--detector", default="posetrack-gt",
                        help="posetrack-gt (default: ground-truth boxes) | detections | "
                             "rtmdet-nano | cascade-rcnn-x101 (the seed's) | yolov3-d53-608 | "
                             "any name of detectors.DETECTORS")
    parser.add_argument("--detector-checkpoint",
                        help="detections JSON (detections) or weights file (network detectors)")
    parser.add_argument("--detections-images", type=Path, help="COCO-style JSON mapping the "
                        "detections' image_id to file_name (e.g. mmpose's posetrack18_val.json)")
    for flag in ("--pose-model", "--pose-checkpoint", "--device", "--similarity", "--matcher"):
        parser.add_argument(flag)
    parser.add_argument("--flow", choices=("dis", "farneback", "none"))
    parser.add_argument("--no-flip", action="store_true")
    parser.add_argument("--exact", action="store_true", help="cv2 crops bit-exact with mmpose "
                        "(the fast path off: no device crops, no fp16 on CUDA; "
                        "pose.precision float32)")
    parser.add_argument("--min-person-score", type=float)
    parser.add_argument("--min-keypoint-score", type=float, default=0.0,
                        help="keypoints below are written as absent: 0 (default) scores AP "
                             "as the seed's tables do; the paper uses 0.4 for MOTA")
    parser.add_argument("--quiet", action="store_true")
    cli.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    cli.check_output_paths(parser, {"--json": args.json},
                           {"--config": args.config,
                            "--detector-checkpoint": args.detector_checkpoint})
    return args


def _overrides(args, sequence) -> dict:
    """The command-line layer of the config for ``sequence``: replayed boxes come from its
    own annotation file (posetrack-gt) or from its images in the detections file."""
    overrides = flag_overrides(
        detector=args.detector, detector_checkpoint=args.detector_checkpoint,
        pose_model=args.pose_model, pose_checkpoint=args.pose_checkpoint, device=args.device,
        no_flip=args.no_flip, exact=args.exact, flow=args.flow, similarity=args.similarity,
        matcher=args.matcher, min_person_score=args.min_person_score,
        min_keypoint_score=args.min_keypoint_score)
    if args.detector == "posetrack-gt":
        overrides["detector"] = {"name": "posetrack-gt",
                                 "checkpoint": str(sequence.annotation_file)}
    elif args.detector == "detections":
        overrides["detector"] = {"name": "detections", "checkpoint": args.detector_checkpoint,
                                 "sequence": sequence.name}
        if args.detections_images is not None:
            overrides["detector"]["images"] = str(args.detections_images)
    return overrides


def run(args) -> int:
    sequences = find_sequences(args.root, args.split, tuple(args.sequences or ()))
    if args.detector == "detections" and not args.detector_checkpoint:
        raise ConfigError("--detector detections needs --detector-checkpoint DETECTIONS.json")
    load_run_config(args.config, _overrides(args, sequences[0]))     # config errors first
    if not args.out.is_dir():
        args.out.mkdir(parents=True)
    todo = [s for s in sequences if args.overwrite or not (args.out / f"{s.name}.json").is_file()]
    if len(todo) < len(sequences):
        print(f"resuming: {len(sequences) - len(todo)} of {len(sequences)} sequences already "
              f"in {args.out}", file=sys.stderr)
    stages = None
    try:
        for sequence in tqdm(todo, unit="seq", desc="sequences", disable=args.quiet):
            stages = _stages_for(args, sequence, stages)
            _track_sequence(args, stages, sequence)
    except KeyboardInterrupt as stop:     # Ctrl-C, SIGTERM, SIGHUP
        print(f"{cli.stop_description(stop)}: finished sequences are in {args.out}; run "
              "again to resume", file=sys.stderr)
        return cli.stop_exit_code(stop)
    return _score(args, sequences)


def _stages_for(args, sequence, previous):
    """The stages that track ``sequence``: a network detector and the pose model are loaded
    once per run, a replaying detector is built for each sequence."""
    if previous is not None and args.detector not in PER_SEQUENCE_DETECTORS:
        return previous
    config = load_run_config(args.config, _overrides(args, sequence))
    return build_stages(config, progress=not args.quiet,
                        estimator=previous.estimator if previous is not None else None)


def _track_sequence(args, stages, sequence) -> None:
    stages.pipeline.reset()
    writer = TrackWriter(args.out / f"{sequence.name}.json",
                         keypoint_names=stages.estimator.keypoint_set.names,
                         sequence_name=sequence.sequence_folder, **stages.writer_options)
    frames = tqdm(sequence_frames(args.root, sequence), total=len(sequence.image_files),
                  unit="frame", leave=False, desc=sequence.name, disable=args.quiet)
    results = run_frames(stages.pipeline, frames)     # images read and flow computed ahead
    try:
        for _, result in results:
            writer.add(result)
    except BaseException:       # an unfinished sequence is not written: a rerun redoes it
        writer.abort()
        raise
    finally:
        results.close()
    writer.close()


def _score(args, sequences) -> int:
    # exactly the selected sequences, each GT file as the user named it (so do the errors)
    results = evaluate_files((s.annotation_file, args.out / f"{s.name}.json") for s in sequences)
    print(results.table())
    if args.json:
        write_json_atomically(args.json, results.to_dict())
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run_main(PROG, parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
