"""posetrack-val: track every sequence of a PoseTrack18 split, then score it like poseval.

    posetrack-val ROOT --out pred/ --detector posetrack-gt --pose-model res50_posetrack18_256x192
    posetrack-val ROOT --out pred/ --detector detections \\
        --detector-checkpoint posetrack18_human_detections.json --detections-images val.json
    posetrack-val ROOT --out pred/ --detector rtmdet-nano --detector-checkpoint end2end.onnx

ROOT holds ``annotations/<split>/<seq>.json`` and ``images/<split>/<seq>/*.jpg``. One
prediction file per sequence is written to ``--out`` (atomically); sequences whose file
exists are skipped, so an interrupted run resumes (``--overwrite`` redoes them). Then the
predictions are scored (AP per joint group as in the seed's PoseTrack18 rows, and MOTA).
Exit codes: 0 ok, 1 bad input or failure, 2 bad arguments, 130 Ctrl-C (finished sequences
are kept).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm

from apps.run import overrides_from
from tracker.eval import PoseTrackEvalError, evaluate
from tracker.io.output import TrackWriter
from tracker.errors import OutputError
from tracker.files import write_json_atomically
from tracker.eval.dataset import DatasetError, find_sequences, sequence_frames
from apps.config import build_stages, load_run_config
from tracker.errors import ConfigError


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="posetrack-val", description=__doc__.splitlines()[0])
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
    parser.add_argument("--min-person-score", type=float)
    parser.add_argument("--min-keypoint-score", type=float, default=0.0,
                        help="keypoints below are written as absent: 0 (default) scores AP "
                             "as the seed's tables do; the paper uses 0.4 for MOTA")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    for name in ("format", "detect_every", "smooth"):
        setattr(args, name, None)
    return args


def _detector_for(args, sequence):
    """The per-sequence detector, or None to keep the configured one."""
    from detectors import CocoDetectionsFile, PoseTrackGroundTruthBoxes

    if args.detector == "posetrack-gt":
        return PoseTrackGroundTruthBoxes(sequence.annotation_file)
    if args.detector == "detections":
        return CocoDetectionsFile(args.detector_checkpoint, images=args.detections_images,
                                  sequence=sequence.name)
    return None


def run(args) -> int:
    sequences = find_sequences(args.root, args.split, tuple(args.sequences or ()))
    if args.detector == "detections" and not args.detector_checkpoint:
        raise ConfigError("--detector detections needs --detector-checkpoint DETECTIONS.json")
    overrides = overrides_from(args)
    if args.detector in ("posetrack-gt", "detections"):     # replaced per sequence below
        overrides["detector"] = {"name": "posetrack-gt",
                                 "checkpoint": str(sequences[0].annotation_file)}
    config = load_run_config(args.config, overrides)
    if not args.out.is_dir():
        args.out.mkdir(parents=True)
    todo = [s for s in sequences if args.overwrite or not (args.out / f"{s.name}.json").is_file()]
    if len(todo) < len(sequences):
        print(f"resuming: {len(sequences) - len(todo)} of {len(sequences)} sequences already "
              f"in {args.out}", file=sys.stderr)
    stages = build_stages(config, progress=not args.quiet) if todo else None
    try:
        for sequence in tqdm(todo, unit="seq", desc="sequences", disable=args.quiet):
            _track_sequence(args, stages, sequence)
    except KeyboardInterrupt:
        print(f"interrupted: finished sequences are in {args.out}; run again to resume",
              file=sys.stderr)
        return 130
    return _score(args, sequences)


def _track_sequence(args, stages, sequence) -> None:
    detector = _detector_for(args, sequence)
    if detector is not None:
        stages.pipeline.detector = detector
    stages.pipeline.reset()
    writer = TrackWriter(args.out / f"{sequence.name}.json",
                         keypoint_names=stages.estimator.keypoint_set.names,
                         sequence_name=sequence.sequence_folder, **stages.writer_options)
    frames = sequence_frames(args.root, sequence)
    try:
        for frame in tqdm(frames, total=len(sequence.image_files), unit="frame", leave=False,
                          desc=sequence.name, disable=args.quiet):
            writer.add(stages.pipeline(frame))
    except BaseException:       # an unfinished sequence is not written: a rerun redoes it
        writer.abort()
        raise
    writer.close()


def _score(args, sequences) -> int:
    with tempfile.TemporaryDirectory() as folder:
        for sequence in sequences:      # evaluate exactly the selected sequences
            os.symlink(sequence.annotation_file.resolve(), Path(folder) / f"{sequence.name}.json")
        results = evaluate(folder, args.out)
    print(results.table())
    if args.json:
        write_json_atomically(args.json, results.to_dict())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (DatasetError, ConfigError, OutputError, PoseTrackEvalError, ValueError,
            OSError) as e:
        print(f"posetrack-val: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
