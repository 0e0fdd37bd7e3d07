"""posetrack-track: give track ids to poses made by any estimator, with this project's trackers.

    posetrack-track poses.json --out tracks.json                   # poses only
    posetrack-track poses.json --out tracks.json --video clip.mp4  # + optical flow, appearance
    posetrack-track results_coco.json --out tracks.json --tracker paper --format coco
    posetrack-track yolo_json/ --out tracks.json --video clip.mp4   # a JSON per frame

POSES is a PoseTrack18 file (its track ids are ignored), a COCO keypoint results file
(``image_id`` = 0-based frame index), mmpose's predictions of a video, or a folder of
per-frame JSON from mmpose (``pred_out_dir``) or Ultralytics (``Results.to_json()``), see
``tracker.io.pose_files``. The poses are tracked
as ``posetrack-run`` tracks them (the config's ``robust_tracker`` or, with ``--tracker
paper``, ``tracker`` section; ``--config`` as in posetrack-run). With ``--video`` (the frames
the poses were made on, in the same order) the optical flow between frames moves the tracks
(the paper's flow-OKS) and the robust tracker's appearance cue sees the people; without it,
poses are compared where they were last seen and the frame times are the file's
``timestamp_s`` or ``--fps``. The output keeps the input's frame file names (so
``posetrack-eval`` can score it against the input's ground truth); poses of tentative tracks
(``min_hits``) are not written, as in posetrack-run.

Exit codes: 0 done, 1 bad input (``posetrack-track: error: <file>: <field>: ...``), 2 bad
command line, 130 Ctrl-C (nothing written).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from apps import cli
from apps.config import build_tracker, flag_overrides, load_run_config

PROG = "posetrack-track"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("poses", type=Path, help="PoseTrack18, COCO keypoint results or "
                        "mmpose video JSON, or a folder of per-frame mmpose/Ultralytics JSON")
    parser.add_argument("--out", type=Path, required=True, help="output JSON file")
    parser.add_argument("--video", help="the video or frame folder the poses were made on "
                        "(for optical flow and appearance)")
    parser.add_argument("--tracker", choices=("paper", "robust"), help="robust (default) or "
                        "the paper's flow-OKS tracker")
    parser.add_argument("--config", type=Path, help="YAML overriding configs/default.yaml")
    parser.add_argument("--flow", choices=("dis", "farneback", "none"),
                        help="optical flow with --video (default: the config's)")
    parser.add_argument("--format", choices=("posetrack18", "coco"), help="output format")
    parser.add_argument("--fps", type=float, default=30.0,
                        help="frame rate without --video and without times in the file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    cli.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if not args.fps > 0:
        parser.error(f"--fps: expected a positive frame rate, got {args.fps}")
    cli.check_output_paths(parser, {"--out": args.out},
                           {"POSES": args.poses, "--video": args.video, "--config": args.config})
    return args


def run(args) -> int:
    from tracker.io.pose_files import read_pose_file
    from tracker.io.posetrack18 import TrackWriter
    from tracker.pose.zoo import keypoint_sets

    config = load_run_config(args.config, flag_overrides(tracker=args.tracker, flow=args.flow,
                                                         format=args.format))
    frames = read_pose_file(args.poses)
    keypoint_set = keypoint_sets()[frames.keypoint_set]
    tracker = build_tracker(config, keypoint_set.oks_sigmas)
    writer = TrackWriter(args.out, keypoint_names=keypoint_set.names,
                         sequence_name=frames.sequence_name or Path(args.poses).stem,
                         format=config["output"]["format"])
    try:
        _track(args, config, frames, tracker, writer)
    except BaseException:
        writer.abort()
        raise
    path = writer.close()
    print(f"wrote {writer.num_frames} frames, {len(writer.frames_per_track)} tracks to {path}",
          file=sys.stderr)
    return 0


def _track(args, config, frames, tracker, writer) -> None:
    from tracker.io.video import open_source
    from tracker.tracking.backfill import Backfill, tentative_of
    from tracker.tracking.flow import DenseFlow
    from tracker.types import Frame, FrameResult

    source = open_source(args.video) if args.video else None
    flow = DenseFlow(**config["flow"]) if source is not None and config.get("flow") else None
    images = iter(source) if source is not None else None
    held = Backfill(tracker.confirmation_delay)    # new people written from their first frame
    previous = None
    try:
        for index, (name, poses) in enumerate(tqdm(
                list(zip(frames.names, frames.poses)), unit="frame", disable=args.quiet,
                desc=Path(args.poses).name)):
            time_s = (frames.timestamps_s[index] if frames.timestamps_s is not None
                      else index / args.fps)
            frame = None
            if images is not None:
                decoded = next(images, None)
                if decoded is None:
                    raise ValueError(f"--video {args.video}: has fewer frames than "
                                     f"{args.poses} ({index} of {len(frames.names)})")
                frame = Frame(index=index, image=decoded.image, name=name,
                              timestamp_s=decoded.timestamp_s)
                if flow is not None and previous is not None and \
                        previous.shape == frame.image.shape:
                    tracker.warp(flow(previous, frame.image))
                previous = frame.image
            track_ids = tracker.update(poses, frame=frame, timestamp_s=time_s)
            kept = np.flatnonzero(track_ids >= 0)
            tentative, confirmed = tentative_of(tracker, poses)
            for _, result in held.push(None, FrameResult(
                    index=index, name=name, poses=poses[kept], track_ids=track_ids[kept],
                    timestamp_s=time_s, tentative=tentative, confirmed=confirmed)):
                writer.add(result)
        for _, result in held.flush():
            writer.add(result)
    finally:
        if source is not None:
            source.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cli.run_main(PROG, args, run, interrupted=lambda: "interrupted; nothing written")


if __name__ == "__main__":
    sys.exit(main())
