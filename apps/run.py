"""posetrack-run: a video, frame folder, camera or stream -> tracked poses (PoseTrack18 JSON).

    posetrack-run video.mp4 --out tracks.json
    posetrack-run images/val/012834_mpii_test --out pred/012834_mpii_test.json \\
        --detector rtmdet-nano --detector-checkpoint end2end.onnx \\
        --pose-model pp_tinypose_256x192 --pose-checkpoint tinypose.onnx --render out.mp4

Exit codes: 0 done (warnings about the source are printed), 1 the run could not start or
failed (one line ``posetrack-run: error: ...`` naming the file and what is wrong; the
traceback too with --verbose), 2 bad command line, 130 interrupted with Ctrl-C (the frames
finished so far are written).
"""
from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from tqdm import tqdm

from apps import cli
from apps.config import build_stages, flag_overrides, load_run_config
from tracker.io.posetrack18 import TrackWriter, sequence_name_for
from tracker.io.video import open_source

PROG = "posetrack-run"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Track human poses through a video "
        "(Simple Baselines: detector + flow propagation + top-down pose + flow-OKS tracking).")
    parser.add_argument("source", help="video file, folder of frames, camera index or URL")
    parser.add_argument("--out", required=True, type=Path, help="output JSON file")
    parser.add_argument("--config", type=Path, help="YAML overriding configs/default.yaml")
    parser.add_argument("--format", choices=("posetrack18", "coco"), help="output format")
    parser.add_argument("--detector", help="rtmdet-nano (default) | cascade-rcnn-x101 | "
                        "yolov3-d53-608|416|320 | detections | posetrack-gt | "
                        "mmdet:CONFIG:CHECKPOINT")
    parser.add_argument("--detector-checkpoint", help="detector weights (.onnx/.pth), "
                        "detections JSON or PoseTrack18 annotation JSON")
    parser.add_argument("--pose-model", help="pose zoo name or model YAML")
    parser.add_argument("--pose-checkpoint", help="pose .onnx or .pth file")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--no-flip", action="store_true", help="disable the flip test")
    parser.add_argument("--flow", choices=("dis", "farneback", "none"),
                        help="optical flow (none: no propagation, similarity oks unless set)")
    parser.add_argument("--similarity", choices=("flow_oks", "oks", "iou"))
    parser.add_argument("--matcher", choices=("greedy", "hungarian"))
    parser.add_argument("--detect-every", type=int, help="run the detector every N frames")
    parser.add_argument("--pose-every", type=int, help="run detector and pose network every N "
                        "frames, moving poses by optical flow in between")
    parser.add_argument("--max-people", type=int, help="pose at most N people per frame")
    parser.add_argument("--smooth", action="store_true", help="one-euro keypoint smoothing")
    parser.add_argument("--min-person-score", type=float, help="people below are not written")
    parser.add_argument("--min-keypoint-score", type=float,
                        help="keypoints below are written as absent")
    parser.add_argument("--sequence-name", help="folder part of the image file names written "
                        "(default: derived from SOURCE, e.g. images/val/<seq>)")
    parser.add_argument("--render", type=Path, help="also write a video with the tracks drawn")
    parser.add_argument("--start", type=int, default=0, help="first frame index")
    parser.add_argument("--stride", type=int, default=1, help="process every N-th frame")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    cli.add_verbose_flag(parser)
    return parser.parse_args(argv)


def overrides_from(args) -> dict:
    """The config sections the command-line flags set."""
    return flag_overrides(
        detector=args.detector, detector_checkpoint=args.detector_checkpoint,
        pose_model=args.pose_model, pose_checkpoint=args.pose_checkpoint, device=args.device,
        no_flip=args.no_flip, flow=args.flow, similarity=args.similarity, matcher=args.matcher,
        detect_every=args.detect_every, pose_every=args.pose_every, max_people=args.max_people,
        smooth=args.smooth, format=args.format, min_person_score=args.min_person_score,
        min_keypoint_score=args.min_keypoint_score)


def run(args) -> int:
    config = load_run_config(args.config, overrides_from(args))
    source = open_source(args.source, start=args.start, stride=args.stride,
                         max_frames=args.max_frames)
    with ExitStack() as stack:
        stack.enter_context(source)
        stages = build_stages(config, progress=not args.quiet)
        names = stages.estimator.keypoint_set.names
        writer = TrackWriter(args.out, keypoint_names=names,
                             sequence_name=args.sequence_name or sequence_name_for(args.source),
                             **stages.writer_options)
        renderer = _Renderer(args.render, source.fps, names) if args.render else None
        if renderer is not None:
            stack.callback(renderer.close)
        interrupted = False
        started = time.perf_counter()
        bar = tqdm(total=source.num_frames, unit="frame", disable=args.quiet,
                   desc=Path(str(args.source)).name or str(args.source))
        try:
            for frame in source:
                result = stages.pipeline(frame)
                writer.add(result)
                if renderer is not None:
                    renderer.write(frame, result)
                bar.update(1)
                bar.set_postfix(people=len(result))
        except KeyboardInterrupt:
            interrupted = True
        except BaseException:
            writer.abort()
            raise
        finally:
            bar.close()
        path = writer.close()
        elapsed = time.perf_counter() - started
    for warning in source.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if writer.max_track_id > 999 and writer.format == "posetrack18":
        print(f"warning: track ids go up to {writer.max_track_id}; the PoseTrack18 format "
              "expects 0-999", file=sys.stderr)
    fps = writer.num_frames / elapsed if elapsed > 0 else 0.0
    if interrupted:
        print(f"interrupted: wrote the {writer.num_frames} frames finished so far to {path}",
              file=sys.stderr)
        return cli.INTERRUPTED
    print(f"wrote {writer.num_frames} frames, {writer.max_track_id + 1} tracks to {path} "
          f"({fps:.1f} frames/s)", file=sys.stderr)
    return 0


class _Renderer:
    """Draws each result and writes the video (opened at the first frame's size)."""

    def __init__(self, path: Path, fps: float, keypoint_names) -> None:
        self.path, self.fps, self.keypoint_names = path, fps, keypoint_names
        self._writer = None

    def write(self, frame, result) -> None:
        from tracker.io.render import VideoWriter, draw_poses
        if self._writer is None:
            height, width = frame.image.shape[:2]
            self._writer = VideoWriter(self.path, self.fps, (width, height))
        self._writer.write(draw_poses(frame.image, result.poses, result.track_ids,
                                      self.keypoint_names))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cli.run_main(PROG, args, run, interrupted=lambda: "interrupted before the first "
                        "frame; nothing written")


if __name__ == "__main__":
    sys.exit(main())
