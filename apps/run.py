"""posetrack-run: a video, frame folder, camera or stream -> tracked poses (PoseTrack18 JSON).

    posetrack-run video.mp4 --out tracks.json             # preset accurate on CUDA, else fast
    posetrack-run video.mp4 --out tracks.json --preset accurate
    posetrack-run images/val/012834_mpii_test --out pred/012834_mpii_test.json \\
        --detector rtmdet-nano --detector-checkpoint end2end.onnx \\
        --pose-model pp_tinypose_256x192 --pose-checkpoint tinypose.onnx --render out.mp4

Presets (``configs/preset_*.yaml``, layered as default.yaml < preset < --config < flags):
``accurate`` is the seed's PoseTrack18 setup (Cascade R-CNN X-101 boxes, the PoseTrack18
ResNet-50 with flip test, for a GPU), ``fast`` RTMDet-nano + the same ResNet-50 without the
flip test, for a CPU. Without ``--preset`` it is ``accurate`` when CUDA is available, else
``fast``; the first line and the summary say which and why. Every model file the run needs is
resolved (downloaded into the cache) before any model is built; what cannot be had is listed in
one error with its address, its cache path and the flag that passes a local file.

Outputs: the JSON and the ``--render`` video are written under hidden temporary names
(unique per process) next to their paths and renamed into place when the run succeeds, so an
earlier file is only ever replaced by a complete one; a failed run removes them. An output
path that is an input or the other output, or an existing folder, is refused before any
model is loaded.

Exit codes: 0 done (warnings about the source are printed as they are met), 1 the run could
not start or failed (one line ``posetrack-run: error: ...`` naming the file and what is
wrong; the traceback too with --verbose), 2 bad command line, 130 stopped with Ctrl-C, 143
by SIGTERM, 129 by SIGHUP (each writes the frames finished so far, JSON and render).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from apps import cli
from apps.config import (POSE_PRECISIONS, PRESETS, build_stages, flag_overrides,
                         load_run_config)
from apps.batch import check_batch_outputs, is_batch
from apps.batch_inputs import InputError, expand_inputs
from apps.weights import DETECTOR_FLAG, needed_weights
from detectors.precomputed import CocoDetectionsFile
from tracker.errors import ConfigError, OutputError
from tracker.io.posetrack18 import TrackWriter, sequence_name_for
from tracker.io.video import SourceError, open_source
from tracker.io.video_writer import TrackVideoWriter
from tracker.tracking.overlap import run_frames
from tracker.weights import resolve_all

PROG = "posetrack-run"
#: Tracks written in at most this many frames are counted as short-lived in the summary.
SHORT_TRACK_FRAMES = 3


def int_at_least(low: int):
    """An argparse ``type``: an integer >= ``low`` (argparse names the flag: exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value
    parse.__name__ = f"integer >= {low}"
    return parse


def choose_preset(requested, cuda_available: bool) -> tuple[str, str]:
    """(preset name, why it was chosen): ``requested`` if given, else by ``cuda_available``."""
    if requested is not None:
        return requested, f"--preset {requested}"
    if cuda_available:
        return "accurate", "CUDA device found; --preset fast for RTMDet-nano"
    return "fast", ("no CUDA device found; --preset accurate for the seed's Cascade R-CNN "
                    "setup")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Track human poses through a video "
        "(Simple Baselines: detector + flow propagation + top-down pose + flow-OKS tracking).")
    parser.add_argument("source", nargs="+", help="video file, folder of frames, camera index "
                        "or URL; several of them, a folder of videos or of frame folders, a "
                        "glob or a .txt list of paths/URLs run as a batch (--out DIR)")
    parser.add_argument("--out", required=True, type=Path, help="output JSON file; for a "
                        "batch, the folder that gets one <name>.json per input and "
                        "summary.json")
    parser.add_argument("--preset", choices=sorted(PRESETS),
                        help="accurate (Cascade R-CNN X-101 + ResNet-50 PoseTrack18, flip "
                        "test, GPU) or fast (RTMDet-nano + ResNet-50, for a CPU); default: "
                        "accurate when CUDA is available, else fast")
    parser.add_argument("--config", type=Path, help="YAML overriding configs/default.yaml "
                        "and the preset")
    parser.add_argument("--format", choices=("posetrack18", "coco"), help="output format")
    add_model_flags(parser)
    parser.add_argument("--no-flip", action="store_true", help="disable the flip test")
    parser.add_argument("--flow", choices=("dis", "farneback", "none"),
                        help="optical flow (none: no propagation, similarity oks unless set)")
    parser.add_argument("--similarity", choices=("flow_oks", "oks", "iou"))
    parser.add_argument("--matcher", choices=("greedy", "hungarian"))
    parser.add_argument("--tracker", choices=("paper", "robust"),
                        help="robust (default): lifecycle, motion while unseen, two-stage "
                        "association, appearance, duplicate merging (robust_tracker section); "
                        "paper: Simple Baselines' flow-OKS tracker (tracker section; implied by "
                        "--similarity / --matcher)")
    parser.add_argument("--detect-every", type=int_at_least(1),
                        help="run the detector every N frames")
    parser.add_argument("--pose-every", type=int_at_least(1), help="run detector and pose network "
                        "every N frames, moving poses by optical flow in between")
    parser.add_argument("--max-people", type=int_at_least(0),
                        help="pose at most N people per frame (0: all)")
    parser.add_argument("--smooth", action="store_true", help="one-euro keypoint smoothing")
    parser.add_argument("--min-person-score", type=float, help="people below are not written")
    parser.add_argument("--min-keypoint-score", type=float,
                        help="keypoints below are written as absent")
    parser.add_argument("--sequence-name", help="folder part of the image file names written "
                        "(default: derived from SOURCE, e.g. images/val/<seq>)")
    parser.add_argument("--render", type=Path, help="also write a video with the tracks drawn")
    parser.add_argument("--start", type=int_at_least(0), default=0, help="first frame index")
    parser.add_argument("--stride", type=int_at_least(1), default=1, help="process every N-th frame")
    parser.add_argument("--max-frames", type=int_at_least(1), help="stop after this many frames")
    parser.add_argument("--exact", action="store_true", help="pose crops by cv2 in float32, "
                        "bit-exact with mmpose (the fast path off: no crops on the device, no "
                        "fp16 on CUDA; pose.precision float32)")
    parser.add_argument("--precision", choices=POSE_PRECISIONS, help="pose "
                        "network floats (pose.precision): bfloat16 ~2x on a CPU with native bf16")
    parser.add_argument("--no-overlap", action="store_true", help="run the stages one after "
                        "another in one thread (default: decoding, flow and detection run "
                        "ahead in their own threads; same output)")
    parser.add_argument("--workers", type=int_at_least(1), default=1, help="batch: videos "
                        "run at once, each process with its own models (default 1)")
    parser.add_argument("--ray", nargs="?", const="", metavar="ADDRESS", help="batch: one Ray "
                        "task per video on the cluster at ADDRESS (default: a local Ray); "
                        "needs pip install -e '.[ray]'")
    parser.add_argument("--ray-gpus", type=float, default=None, metavar="N", help="--ray: GPUs "
                        "per video (default 1 when the driver sees CUDA, else 0)")
    parser.add_argument("--ray-cpus", type=float, default=1.0, metavar="N",
                        help="--ray: CPUs per video (default 1)")
    parser.add_argument("--overwrite", action="store_true", help="batch: run inputs whose "
                        "output exists too (default: skip them, so a batch resumes)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    cli.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    try:
        args.inputs = expand_inputs(args.source)
    except InputError as error:
        parser.error(f"SOURCE: {error}")
    if is_batch(args):
        check_batch_outputs(parser, args)
    else:
        check_outputs(parser, args)
    return args


def check_outputs(parser, args) -> None:
    """Exit 2 before any work for an output that is an input, the other output or a folder."""
    cli.check_output_paths(
        parser, {"--out": args.out, "--render": args.render},
        {"SOURCE": args.source[0], "--config": args.config,
         "--detector-checkpoint": args.detector_checkpoint,
         "--pose-checkpoint": args.pose_checkpoint})


def add_model_flags(parser) -> None:
    """--detector, --detector-checkpoint, --pose-model, --pose-checkpoint, --device."""
    parser.add_argument("--detector", help="rtmdet-nano (preset fast) | cascade-rcnn-x101 "
                        "(preset accurate) | "
                        "yolov3-d53-608|416|320 | detections | posetrack-gt | "
                        "mmdet:CONFIG:CHECKPOINT")
    parser.add_argument("--detector-checkpoint", help="detector weights (.onnx/.pth), "
                        "detections JSON or PoseTrack18 annotation JSON")
    parser.add_argument("--pose-model", help="pose zoo name or model YAML")
    parser.add_argument("--pose-checkpoint", help="pose .onnx or .pth file")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or auto (default)")


def overrides_from(args) -> dict:
    """The config sections the command-line flags set."""
    return flag_overrides(
        detector=args.detector, detector_checkpoint=args.detector_checkpoint,
        pose_model=args.pose_model, pose_checkpoint=args.pose_checkpoint, device=args.device,
        no_flip=args.no_flip, exact=args.exact, precision=args.precision, flow=args.flow,
        similarity=args.similarity, matcher=args.matcher, detect_every=args.detect_every,
        pose_every=args.pose_every, max_people=args.max_people, smooth=args.smooth,
        format=args.format, tracker=args.tracker, min_person_score=args.min_person_score,
        min_keypoint_score=args.min_keypoint_score)


def configure(args) -> tuple[dict, str]:
    """(the run's config with every checkpoint resolved to a local file, the setup line),
    printing the setup line first."""
    import torch     # imported here: --help and argparse errors do not need torch

    preset, why = choose_preset(args.preset, torch.cuda.is_available())
    config = load_run_config(args.config, overrides_from(args), preset=preset)
    device = check_device(config["device"], torch.cuda.is_available())
    setup = (f"preset {preset} ({why}): {config['detector']['name']} + "
             f"{config['pose']['name']}, device {device}")
    print(f"{PROG}: {setup}", file=sys.stderr)
    return with_resolved_checkpoints(config, progress=not args.quiet), setup


class StagesOnce:
    """The models of a run, built on first use and reused for every video after (the
    pipeline is reset at the start of each)."""

    def __init__(self, config: dict, progress: bool) -> None:
        self.config, self.progress, self._stages = config, progress, None

    def __call__(self):
        if self._stages is None:
            self._stages = build_stages(self.config, progress=self.progress)
        self._stages.pipeline.reset()
        return self._stages


@dataclass
class VideoOutcome:
    """What ``track_one`` did: the stop that cut it short (None: finished), the JSON written,
    and the writer's counts."""

    stop: Optional[BaseException]
    path: Path
    writer: TrackWriter
    seconds: float

    @property
    def fps(self) -> float:
        return self.writer.num_frames / self.seconds if self.seconds > 0 else 0.0


def track_one(args, source_text: str, out: Path, render: Optional[Path], stages_for,
              *, sequence_name: Optional[str] = None, bar: bool = True) -> VideoOutcome:
    """Track one source into ``out`` (and ``render``): the outputs are complete files or
    absent (an earlier file is kept) when this returns or raises.

    Args:
        stages_for: ``() -> RunStages`` at the start of a video (``StagesOnce``).
        bar: show the per-frame progress bar (unless ``--quiet``).
    """
    source = open_source(source_text, start=args.start, stride=args.stride,
                         max_frames=args.max_frames)
    with source:
        if source.num_frames == 0:
            raise SourceError(no_frames_message(source, args.start))
        for path, flag in ((out, "--out"), (render, "--render")):
            if path is not None:
                make_parent_folder(path, flag)
        stages = stages_for()
        names = stages.estimator.keypoint_set.names
        writer = TrackWriter(out, keypoint_names=names,
                             sequence_name=sequence_name or sequence_name_for(source_text),
                             **stages.writer_options)
        renderer = TrackVideoWriter(render, source.fps, names) if render else None
        stop, elapsed = _track(args, source_text, source, stages, writer, renderer,
                               bar=bar and not args.quiet)
        if writer.num_frames == 0 and stop is None:
            writer.abort()
            raise SourceError(no_frames_message(source, args.start))
    with cli.stops_deferred():      # a stop now waits until both files are in place
        path = _finish(writer, renderer)
    if writer.max_track_id > 999 and writer.format == "posetrack18":
        print(f"warning: {source_text}: track ids go up to {writer.max_track_id}; the "
              "PoseTrack18 format expects 0-999", file=sys.stderr)
    return VideoOutcome(stop=stop, path=path, writer=writer, seconds=elapsed)


def run(args) -> int:
    if is_batch(args):
        from apps.batch import run_batch
        return run_batch(args)
    config, setup = configure(args)
    outcome = track_one(args, args.source[0], args.out, args.render,
                        StagesOnce(config, progress=not args.quiet),
                        sequence_name=args.sequence_name)
    writer = outcome.writer
    if outcome.stop is not None:
        print(f"{cli.stop_description(outcome.stop)}: wrote the {writer.num_frames} frames "
              f"finished so far to {outcome.path}", file=sys.stderr)
        return cli.stop_exit_code(outcome.stop)
    print(summary(writer, outcome.path, outcome.fps, setup), file=sys.stderr)
    return 0


def _track(args, source_text, source, stages, writer, renderer, *, bar: bool) -> tuple:
    """Every frame through the pipeline into the writers: (the ``KeyboardInterrupt`` that
    stopped it or None, seconds). Any other exception drops both outputs."""
    started = time.perf_counter()
    bar = tqdm(total=source.num_frames, unit="frame", disable=not bar,
               desc=Path(source_text).name or source_text)
    frames = []     # (index, name) of every frame, for a detections file's coverage check
    results = run_frames(stages.pipeline, source, overlap=not args.no_overlap)
    try:
        for frame, result in results:
            frames.append((frame.index, frame.name))
            with cli.stops_deferred():      # a stop lands between frames: outputs agree
                writer.add(result)
                if renderer is not None:
                    renderer.write(frame, result)
            bar.update(1)
            bar.set_postfix(people=len(result))
        if isinstance(stages.pipeline.detector, CocoDetectionsFile):   # made for these frames?
            whole = args.start == 0 and args.stride == 1 and args.max_frames is None
            for warning in stages.pipeline.detector.check_coverage(frames, whole_source=whole):
                print(f"warning: {warning}", file=sys.stderr)
    except KeyboardInterrupt as stop:     # Ctrl-C, SIGTERM, SIGHUP (cli.Stopped)
        return stop, time.perf_counter() - started
    except BaseException:
        writer.abort()
        if renderer is not None:
            renderer.abort()
        raise
    finally:
        results.close()     # joins the reader and prepare threads before the source closes
        bar.close()
    return None, time.perf_counter() - started


def _finish(writer: TrackWriter, renderer) -> Path:
    """Close the JSON, then the render (a render that fails does not lose the JSON)."""
    try:
        path = writer.close()
    except BaseException:
        if renderer is not None:
            renderer.abort()
        raise
    if renderer is not None:
        try:
            renderer.close()
        except OutputError as error:
            raise OutputError(f"--render: {error} (the tracks were written to {path})") from error
    return path


def no_frames_message(source, start: int) -> str:
    """Why a run got no frame: past the end with --start, or nothing decodable."""
    if start > 0:
        return (f"{source.name}: no frame at or after --start {start} (the source has fewer "
                "frames); give a smaller --start")
    return f"{source.name}: no frame could be read"


def check_device(device: str, cuda_available: bool) -> str:
    """The device the run uses ("auto" resolved); a CUDA device without CUDA is a
    ``ConfigError`` naming the flags that fix it."""
    if device == "auto":
        return "cuda" if cuda_available else "cpu"
    if device.startswith("cuda") and not cuda_available:
        raise ConfigError(f"device {device!r} requested (--device or the config's device key) "
                          "but CUDA is not available (torch.cuda.is_available() is False): "
                          "use --device cpu or --device auto")
    return device


def with_resolved_checkpoints(config: dict, progress: bool) -> dict:
    """``config`` with the local path of every zoo file it needs as its checkpoint,
    downloading what is missing first; every file that cannot be had is listed in one
    ``WeightsUnavailableError`` (address, cache path, flag) before any model is built."""
    needed = needed_weights(config)
    paths = resolve_all(needed, progress=progress)
    resolved = {**config, "detector": dict(config["detector"]), "pose": dict(config["pose"])}
    for item, path in zip(needed, paths):
        section = "detector" if item.flag == DETECTOR_FLAG else "pose"
        resolved[section]["checkpoint"] = str(path)
    return resolved


def make_parent_folder(path: Path, flag: str) -> None:
    """Create the folder ``path`` is written into (an ``OutputError`` naming ``flag``)."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{flag} {path}: cannot create its folder {Path(path).parent}: "
                          f"{e.strerror or e}") from e


def summary(writer: TrackWriter, path: Path, fps: float, setup: str) -> str:
    """The end-of-run lines: what the file holds (after the output's score filters)."""
    mean_people = writer.num_annotations / writer.num_frames if writer.num_frames else 0.0
    lifetimes = sorted(writer.frames_per_track.values())
    lines = [f"wrote {writer.num_frames} frames, {len(lifetimes)} tracks to {path} "
             f"({fps:.1f} frames/s)",
             f"people per frame: mean {mean_people:.1f}, max {writer.max_people_in_frame}"]
    if lifetimes:
        short = sum(frames <= SHORT_TRACK_FRAMES for frames in lifetimes)
        lines.append(f"track lifetimes: median {_median(lifetimes):g} frames, longest "
                     f"{lifetimes[-1]}; {short} of {len(lifetimes)} tracks live "
                     f"<= {SHORT_TRACK_FRAMES} frames")
    return "\n".join(lines + [setup])


def _median(values: list) -> float:
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cli.run_main(PROG, args, run, interrupted=lambda: "interrupted before the first "
                        "frame; nothing written")


if __name__ == "__main__":
    sys.exit(main())
