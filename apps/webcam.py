"""posetrack-webcam: live pose tracking from a camera, stream or video file, in a window.

    posetrack-webcam                                   # camera 0, configs/webcam.yaml defaults
    posetrack-webcam --source clip.mp4 --record out.mp4 --save tracks.json
    posetrack-webcam --source rtsp://cam/stream --no-display --stats stats.json

The camera is read on its own thread and the pipeline always gets the newest frame (older
unprocessed frames are dropped, so latency stays bounded). A video file plays as a camera at
its own frame rate (``--no-realtime``: every frame processed, as fast as possible). Keys in
the window: q or Esc quit, space pause, s snapshot (PNG next to the --record file, or in the
current folder).

Exit codes: 0 done (q/Esc, --max-frames reached, or a video file ended after frames were
processed), 1 the source could not be opened, was lost mid-run (what was recorded is kept)
or another error (one line ``posetrack-webcam: error: ...`` naming the file or source; the
traceback too with --verbose), 2 bad command line, 130 Ctrl-C (outputs are closed properly).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import cv2

from apps import cli
from apps.config import POSE_PRECISIONS, build_stages, flag_overrides, load_run_config
from tracker.errors import OutputError
from tracker.files import CONFIG_DIR, write_json_atomically
from tracker.io.live import LatencyStats, LatestFrameReader, RateMeter, RealTimeRecorder
from tracker.io.posetrack18 import TrackWriter, sequence_name_for
from tracker.io.render import draw_poses, draw_text_overlay
from tracker.io.video import CameraSource, SourceError, StreamSource, open_source

PROG = "posetrack-webcam"
WEBCAM_CONFIG = CONFIG_DIR / "webcam.yaml"
WINDOW = PROG
QUIT_KEY = ord("q")
QUIT_KEYS = {QUIT_KEY, 27}          # q, Esc
PAUSE_KEY, SNAPSHOT_KEY = ord(" "), ord("s")
POLL_S = 0.03                       # how often the window is serviced while waiting
REPORT_EVERY_S = 1.0                # --no-display status lines


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--source", default="0", help="camera index, video file or "
                        "rtsp/http URL (default: camera 0)")
    parser.add_argument("--config", type=Path, help="YAML overriding configs/webcam.yaml")
    parser.add_argument("--detector-checkpoint", help="RTMDet-nano .onnx file")
    parser.add_argument("--pose-model", help="pose zoo name or model YAML")
    parser.add_argument("--pose-checkpoint", help="pose .onnx or .pth file")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or auto (default: auto)")
    parser.add_argument("--detect-every", type=int, help="run the detector every N frames")
    parser.add_argument("--precision", choices=POSE_PRECISIONS, help="pose "
                        "network floats: bfloat16 ~2x on a CPU with native bf16 (README)")
    parser.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=True,
                        help="play a video file at its frame rate like a camera, dropping the "
                        "frames processing cannot keep up with (default); --no-realtime "
                        "processes every frame")
    parser.add_argument("--record", type=Path, help="write the displayed video (.mp4) here")
    parser.add_argument("--save", type=Path, help="write the processed frames' tracks here "
                        "(PoseTrack18 JSON)")
    parser.add_argument("--stats", type=Path, help="write frame counts, FPS and latency here "
                        "(JSON) at exit")
    parser.add_argument("--no-display", action="store_true", help="no window; print FPS and "
                        "latency once a second")
    parser.add_argument("--max-frames", type=int, help="stop after processing this many frames")
    parser.add_argument("--quiet", action="store_true", help="no status lines or progress bars")
    cli.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if args.max_frames is not None and args.max_frames < 1:
        parser.error(f"--max-frames must be >= 1, got {args.max_frames}")
    cli.check_output_paths(
        parser, {"--record": args.record, "--save": args.save, "--stats": args.stats},
        {"--source": args.source, "--config": args.config,
         "--detector-checkpoint": args.detector_checkpoint,
         "--pose-checkpoint": args.pose_checkpoint})
    return args


def load_config(args) -> dict:
    """configs/webcam.yaml (over default.yaml) < --config FILE < command-line flags."""
    return load_run_config(args.config, flag_overrides(
        detector_checkpoint=args.detector_checkpoint, pose_model=args.pose_model,
        pose_checkpoint=args.pose_checkpoint, detect_every=args.detect_every,
        device=args.device, precision=args.precision), defaults=WEBCAM_CONFIG)


class _Outputs:
    """--record video, --save tracks and snapshots; ``close`` finishes what was started.

    The video is written in real time (``RealTimeRecorder``): each displayed image is held
    until the next one, so a recording of a session that dropped frames lasts as long as the
    session did instead of playing too fast.
    """

    def __init__(self, args, fps: float, keypoint_names, writer_options) -> None:
        self.record_path = args.record
        self.video = RealTimeRecorder(args.record, fps) if args.record else None
        self.tracks = (TrackWriter(args.save, keypoint_names=keypoint_names,
                                   sequence_name=sequence_name_for(args.source), **writer_options)
                       if args.save else None)
        self.ended_at = None     # wall-clock end of the video (the last display), if timed so

    def add(self, result, canvas, shown_at: float) -> None:
        """One processed frame; ``shown_at``: its time in seconds (see ``_frame_time``)."""
        if self.tracks is not None:
            self.tracks.add(result)
        if self.video is not None:
            self.video.add(canvas, shown_at)

    def snapshot(self, canvas, frame_index: int) -> None:
        """Write ``canvas`` as a PNG and print its name (a failure is a warning)."""
        folder = self.record_path.parent if self.record_path is not None else Path.cwd()
        path = folder / f"snapshot-{time.strftime('%Y%m%d-%H%M%S')}-{frame_index:06d}.png"
        written = cv2.imwrite(str(path), canvas)
        print(f"snapshot: {path}" if written else f"warning: cannot write snapshot {path}",
              file=sys.stderr)

    def close(self, written: list) -> None:
        """Finish both files (the second even if the first fails); ``written`` gets a line each."""
        try:
            if self.video is not None and self.video.frames_added:
                self.video.close(self.ended_at)
                written.append(f"{self.video.frames_written} frames ({self.video.duration_s:.1f}"
                               f" s, {self.video.frames_added} processed) to {self.record_path}")
        finally:
            if self.tracks is not None:
                path = self.tracks.close()
                written.append(f"{self.tracks.num_frames} frames of tracks to {path}")


class _Window:
    """The OpenCV window; ``show`` returns the key pressed (-1 for none)."""

    def __init__(self) -> None:
        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
            raise OSError("no display (DISPLAY is not set): use --no-display")
        cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)

    def show(self, canvas) -> int:
        cv2.imshow(WINDOW, canvas)
        return self.poll()

    def poll(self, wait_ms: int = 1) -> int:
        key = cv2.waitKey(wait_ms)
        if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
            return QUIT_KEY  # the user closed the window
        return key & 0xFF if key >= 0 else -1

    def close(self) -> None:
        cv2.destroyWindow(WINDOW)
        cv2.waitKey(1)


@dataclass
class _Session:
    """What a run did so far (read by the exit report and --stats)."""

    processed: int = 0
    quit: bool = False
    started: Optional[float] = None      # perf_counter before the first frame's processing
    finished: Optional[float] = None     # ... after the last one's display
    latency: LatencyStats = field(default_factory=LatencyStats)
    reader: Optional[LatestFrameReader] = None
    written: list = field(default_factory=list)

    def stats(self) -> dict:
        read = self.reader.frames_read if self.reader else 0
        elapsed = (self.finished or 0.0) - (self.started or 0.0)
        return {"frames_read": read, "frames_processed": self.processed,
                # read but never processed: replaced by a newer frame, or pending at the stop
                "frames_dropped": read - self.processed,
                "fps": round(self.processed / elapsed, 3) if elapsed > 0 else 0.0,
                "latency_ms_p50": self.latency.percentile_ms(50),
                "latency_ms_p95": self.latency.percentile_ms(95)}


def run(args, session: _Session) -> int:
    config = load_config(args)
    for path in (args.record, args.save, args.stats):
        if path is not None and not path.parent.is_dir():
            raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    with ExitStack() as stack:
        source = stack.enter_context(open_source(args.source))
        live = isinstance(source, (CameraSource, StreamSource))
        window = None if args.no_display else _Window()
        if window is not None:
            stack.callback(window.close)
        stages = build_stages(config, progress=not args.quiet)
        outputs = _Outputs(args, source.fps, stages.estimator.keypoint_set.names,
                           stages.writer_options)
        stack.callback(outputs.close, session.written)
        session.reader = LatestFrameReader(source, pace=args.realtime and not live,
                                           drop_stale=args.realtime or live)
        stack.enter_context(session.reader)
        _loop(args, stages, session, outputs, window)
    if session.quit or session.processed == args.max_frames:
        return 0
    if live:
        raise SourceError(f"lost {source.name} after {session.reader.frames_read} frames "
                          "(the outputs hold what was processed)")
    if session.processed == 0:
        raise SourceError(f"{source.name}: no frame could be read")
    print(f"end of {source.name}", file=sys.stderr)
    return 0


def _loop(args, stages, session: _Session, outputs: _Outputs, window) -> None:
    reader, meter = session.reader, RateMeter()
    draw = window is not None or args.record is not None
    paused, canvas, next_report = False, None, time.perf_counter() + REPORT_EVERY_S
    while args.max_frames is None or session.processed < args.max_frames:
        captured = None if paused else _next_frame(reader, POLL_S if window else None)
        if captured is None:
            if reader.ended:
                return
            key = window.poll(int(POLL_S * 1000) if paused else 1)
        else:
            session.started = session.started or time.perf_counter()
            frame = captured.frame
            result = stages.pipeline(frame)
            lines = _status_lines(meter, session.latency, len(result))
            if draw:
                canvas = draw_text_overlay(draw_poses(frame.image, result.poses, result.track_ids,
                                                      stages.estimator.keypoint_set.names), lines)
            outputs.add(result, canvas, _frame_time(captured, reader))
            key = window.show(canvas) if window is not None else -1
            session.finished = time.perf_counter()
            if reader.drop_stale:    # the recording's clock (see _frame_time)
                outputs.ended_at = session.finished
            session.latency.add(session.finished - captured.captured_at)
            session.processed += 1
            meter.tick(session.finished)
            if window is None and not args.quiet and session.finished >= next_report:
                print(", ".join(lines) + f", {reader.frames_dropped} dropped", file=sys.stderr)
                next_report = session.finished + REPORT_EVERY_S
        if key in QUIT_KEYS:
            session.quit = True
            return
        if key == PAUSE_KEY:
            paused = not paused
        elif key == SNAPSHOT_KEY and canvas is not None:
            outputs.snapshot(canvas, frame.index)


def _frame_time(captured, reader: LatestFrameReader) -> float:
    """When a processed frame happened, for the recording: the wall clock when frames are
    dropped (a camera, or a file played as one), else the file's own time (every frame)."""
    return captured.captured_at if reader.drop_stale else captured.frame.timestamp_s


def _next_frame(reader: LatestFrameReader, timeout):
    try:
        return reader.get(timeout)
    except Exception as error:  # whatever the capture raised: the source is gone
        raise SourceError(f"lost {reader.source.name} after {reader.frames_read} frames: "
                          f"{error}") from error


def _status_lines(meter: RateMeter, latency: LatencyStats, people: int) -> list[str]:
    last = latency.last_ms
    return [f"{meter.rate():.1f} FPS", "latency " + ("-" if last is None else f"{last:.0f} ms"),
            f"{people} people"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    session = _Session()
    code = cli.run_main(PROG, args, lambda args: run(args, session),
                        interrupted=lambda: f"interrupted after {session.processed} frames")
    for line in session.written:
        print(f"wrote {line}", file=sys.stderr)
    if args.stats is not None:
        try:
            write_json_atomically(args.stats, session.stats())
        except cli.EXPECTED_ERRORS as e:
            cli.report_error(PROG, e, args.verbose, context=f"cannot write {args.stats}")
            code = code or 1
    if session.processed and not args.quiet:
        print(f"processed {session.processed} frames, latency p50 "
              f"{session.latency.percentile_ms(50):.0f} ms, p95 "
              f"{session.latency.percentile_ms(95):.0f} ms", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
