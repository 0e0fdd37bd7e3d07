"""Tracker identity on harder versions of a real clip: occlusion, camera dropout, half rate.

    python -m benchmarks.video_variants [--videos NAME ...] [--transforms NAME ...]
        [--only TEXT] [--max-frames 300]

Each known video (``VIDEO_CAST``: file under ``<shared>/data/videos`` -> people in it) is
read once; each transform (``TRANSFORMS``) turns its frames, one at a time, into a harder
clip:

* ``clean``: the frames as they are;
* ``grey_bar``: a vertical grey bar (value 128, 1/6 of the frame width) sweeping left to
  right once over the clip, hiding each person for a while as it passes;
* ``black_frames``, ``black_0.5s``: a camera dropout, 4 frames or 0.5 s of black frames 40 %
  into the clip (timestamps unchanged);
* ``every_2nd``: every 2nd frame (0, 2, 4, ...; true timestamps; the peers get half the fps).

Frames keep their index, name and timestamp. RTMDet-nano runs once per (video, transform)
(a black frame is detected as a black frame) and its boxes are replayed to every tracker
variant (``benchmarks.tracker_variants``: ours and the ``trackers`` peers), each with
PP-TinyPose. There is no ground truth; each row gives:

* ``ids``: ids written; ``ids/p``: ids per person of the cast (1.0 at best);
* ``<=3fr``: ids written in at most 3 frames (fragments and ghosts);
* ``cover``: mean span (first to last frame written) of the ``cast`` longest tracks, as a
  fraction of the clip's frames (1.0: each person kept one id over the whole clip; a
  missing track counts 0);
* ``dup fr``: frames in which two written boxes overlap with IoU > 0.7 (one person, two ids);
* ``people/fr``: people written per frame; ``s``: wall time of the stack (not the detector).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from tests.shared_data import SHARED_ROOT
from tests.tracking_sim import track_lengths
from tracker.boxes import iou_matrix
from tracker.types import Frame

VIDEO_DIR = SHARED_ROOT / "data" / "videos"
#: Known videos -> the number of people in them (the "cast").
VIDEO_CAST = {"basketball-2p-426x240.mp4": 2, "indoor-2p-1080p.mp4": 2}
SHORT_TRACK_FRAMES = 3
DUPLICATE_IOU = 0.7
BAR_VALUE = 128


@dataclass(frozen=True)
class Clip:
    """What a transform needs to know of the whole clip: its frame count and rate."""

    num_frames: int
    fps: float


@dataclass(frozen=True)
class Clean:
    """The frames unchanged."""

    def describe(self, clip: Clip) -> str:
        return "frames unchanged"

    def frame(self, frame: Frame, position: int, clip: Clip) -> Frame | None:
        return frame

    def fps(self, fps: float) -> float:
        return fps


@dataclass(frozen=True)
class GreyBar:
    """A vertical bar of ``value`` covering ``width_fraction`` of the frame width, moving
    left to right: from just outside the left edge (first frame) to just outside the right
    edge (last frame), or once every ``sweep_s`` seconds (repeating) when given."""

    width_fraction: float = 1 / 6
    sweep_s: float | None = None
    value: int = BAR_VALUE

    def bar_x(self, position: int, clip: Clip, image_width: int) -> tuple[int, int]:
        """The bar's columns [x1, x2) at ``position`` (may lie partly outside the image)."""
        bar_width = max(1, round(self.width_fraction * image_width))
        if self.sweep_s:
            phase = (position / clip.fps / self.sweep_s) % 1.0
        else:
            phase = position / max(1, clip.num_frames - 1)
        x1 = round(phase * (image_width + bar_width)) - bar_width
        return x1, x1 + bar_width

    def describe(self, clip: Clip) -> str:
        sweep = f"every {self.sweep_s:g} s" if self.sweep_s else "once over the clip"
        return (f"grey ({self.value}) bar {self.width_fraction:.3g} of the width, left to "
                f"right {sweep}")

    def frame(self, frame: Frame, position: int, clip: Clip) -> Frame | None:
        x1, x2 = self.bar_x(position, clip, frame.image.shape[1])
        image = frame.image.copy()
        image[:, max(0, x1):max(0, x2)] = self.value
        return Frame(frame.index, image, frame.name, frame.timestamp_s)

    def fps(self, fps: float) -> float:
        return fps


@dataclass(frozen=True)
class BlackFrames:
    """``count`` consecutive black frames (or ``seconds`` worth, when given) starting
    ``at_fraction`` into the clip; timestamps unchanged."""

    count: int = 4
    at_fraction: float = 0.4
    seconds: float | None = None

    def positions(self, clip: Clip) -> range:
        """Positions in the clip (0-based) replaced by black frames."""
        count = max(1, round(self.seconds * clip.fps)) if self.seconds else self.count
        start = int(self.at_fraction * clip.num_frames)
        return range(start, min(clip.num_frames, start + count))

    def describe(self, clip: Clip) -> str:
        black = self.positions(clip)
        return f"{len(black)} black frames at positions {black.start}..{black.stop - 1}"

    def frame(self, frame: Frame, position: int, clip: Clip) -> Frame | None:
        if position not in self.positions(clip):
            return frame
        return Frame(frame.index, np.zeros_like(frame.image), frame.name, frame.timestamp_s)

    def fps(self, fps: float) -> float:
        return fps


@dataclass(frozen=True)
class EveryNth:
    """Every ``step``-th frame (positions 0, step, 2 step, ...), true timestamps kept."""

    step: int = 2

    def describe(self, clip: Clip) -> str:
        return f"1 frame in {self.step} (positions 0, {self.step}, ...), true timestamps"

    def frame(self, frame: Frame, position: int, clip: Clip) -> Frame | None:
        return frame if position % self.step == 0 else None

    def fps(self, fps: float) -> float:
        return fps / self.step


TRANSFORMS = {"clean": Clean(), "grey_bar": GreyBar(), "black_frames": BlackFrames(count=4),
              "black_0.5s": BlackFrames(seconds=0.5), "every_2nd": EveryNth(2)}


def apply(transform, frames: Iterable[Frame], clip: Clip) -> Iterator[Frame]:
    """The transformed frames, one at a time (``position``: 0-based order in ``frames``)."""
    for position, frame in enumerate(frames):
        changed = transform.frame(frame, position, clip)
        if changed is not None:
            yield changed


# -- metrics on a list of FrameResult (one per transformed frame, in order) -------------------

def ids_per_person(results, cast: int) -> float:
    """Distinct ids written per person of the cast."""
    return len(track_lengths(results)) / max(1, cast)


def short_tracks(results, max_frames: int = SHORT_TRACK_FRAMES) -> int:
    """Ids written in at most ``max_frames`` frames."""
    return sum(1 for n in track_lengths(results).values() if n <= max_frames)


def track_spans(results) -> dict[int, int]:
    """Track id -> frames from its first to its last written frame (positions in
    ``results``, inclusive)."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for position, result in enumerate(results):
        for track_id in np.asarray(result.track_ids).tolist():
            first.setdefault(track_id, position)
            last[track_id] = position
    return {track_id: last[track_id] - first[track_id] + 1 for track_id in first}


def coverage(results, cast: int) -> float:
    """Mean span of the ``cast`` longest tracks / frames in the clip (missing tracks: 0)."""
    if not results or cast < 1:
        return 0.0
    spans = sorted(track_spans(results).values(), reverse=True)[:cast]
    return sum(spans) / (cast * len(results))


def duplicate_frames(results, min_iou: float = DUPLICATE_IOU) -> int:
    """Frames in which two written boxes overlap with IoU > ``min_iou``."""
    count = 0
    for result in results:
        iou = iou_matrix(result.poses.boxes_xyxy, result.poses.boxes_xyxy)
        count += bool((np.triu(iou, k=1) > min_iou).any())
    return count


def people_per_frame(results) -> float:
    return float(np.mean([len(r.track_ids) for r in results])) if results else 0.0


HEADER = (f"{'variant':44s} {'ids':>5s} {'ids/p':>6s} {'<=3fr':>5s} {'cover':>6s} "
          f"{'dup fr':>6s} {'people/fr':>9s} {'s':>6s}")


def row(name: str, results, cast: int, seconds: float) -> str:
    """One table line of ``HEADER``."""
    return (f"{name:44s} {len(track_lengths(results)):5d} {ids_per_person(results, cast):6.2f} "
            f"{short_tracks(results):5d} {coverage(results, cast):6.2f} "
            f"{duplicate_frames(results):6d} {people_per_frame(results):9.2f} {seconds:6.1f}")


# -- running ------------------------------------------------------------------------------

def detect_all(detector, frames: Iterable[Frame]):
    """A new replayed cache of ``detector`` (a raw ``Frame -> Detections``) filled on
    ``frames``; returns the cache."""
    from benchmarks.tracker_variants import ReplayedDetector

    replayed = ReplayedDetector(detector)
    for frame in frames:
        replayed(frame)
    return replayed


def detector_line(replayed, num_frames: int) -> str:
    scores = [d.scores for d in replayed.cache.values()]
    scores = np.concatenate(scores) if scores else np.zeros(0)
    spread = np.percentile(scores, [10, 50, 90]).round(2).tolist() if len(scores) else []
    return (f"detector: {len(scores) / max(1, num_frames):.2f} boxes/frame, scores {spread} "
            f"(10/50/90 %), {replayed.seconds:.1f} s once for all variants")


def run_transform(variants: dict, stages: tuple, images: list[Frame], clip: Clip,
                  transform, cast: int) -> None:
    """Detect once on the transformed clip, then print one row per tracker variant."""
    from benchmarks.tracker_variants import video_stack
    from tracker.tracking.backfill import backfill_results

    config, raw_detector, estimator = stages
    replayed = detect_all(raw_detector, apply(transform, images, clip))
    num_frames = len(replayed.cache)
    print(f"{num_frames} frames at {transform.fps(clip.fps):.3g} fps; "
          f"{detector_line(replayed, num_frames)}")
    print(HEADER)
    for name, variant in variants.items():
        stack = video_stack(variant, config, replayed, estimator, transform.fps(clip.fps))
        start = time.perf_counter()
        results = backfill_results([stack(frame) for frame in apply(transform, images, clip)])
        print(row(name, results, cast, time.perf_counter() - start), flush=True)


def section_video_variants(variants: dict, videos: dict[Path, int], max_frames: int,
                           transforms: dict | None = None) -> None:
    """For each video (path -> cast) and transform (default ``TRANSFORMS``), one table of
    the tracker ``variants`` (display name -> ``OurVariant`` or ``PeerVariant``)."""
    from benchmarks.tracker_variants import video_stages
    from tracker.io.video import open_source

    config, replayed, estimator = video_stages()
    stages = (config, replayed.detector, estimator)
    for video, cast in videos.items():
        with open_source(video, max_frames=max_frames) as source:
            images = list(source)
            clip = Clip(len(images), float(source.fps))
        print(f"\n== {video.name}: {clip.num_frames} frames at {clip.fps:.3g} fps, cast "
              f"{cast}, RTMDet-nano + PP-TinyPose (no flip), no ground truth ==")
        for label, transform in (transforms or TRANSFORMS).items():
            print(f"\n-- {video.name} / {label}: {transform.describe(clip)} --")
            run_transform(variants, stages, images, clip, transform, cast)


def main(argv=None) -> int:
    from benchmarks.tracker_variants import our_variants
    from benchmarks.peer_trackers import peer_variants

    parser = argparse.ArgumentParser(prog="video_variants", description=__doc__.splitlines()[0])
    parser.add_argument("--videos", nargs="+", default=list(VIDEO_CAST), metavar="NAME",
                        choices=list(VIDEO_CAST), help=f"of {list(VIDEO_CAST)}")
    parser.add_argument("--transforms", nargs="+", default=list(TRANSFORMS), metavar="NAME",
                        choices=list(TRANSFORMS), help=f"of {list(TRANSFORMS)}")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the variants whose name contains TEXT (repeatable)")
    parser.add_argument("--max-frames", type=int, default=300)
    args = parser.parse_args(argv)
    if args.max_frames < 1:
        parser.error(f"--max-frames: expected a positive number of frames, got {args.max_frames}")
    variants = {name: variant for name, variant in {**our_variants([]),
                                                    **peer_variants()}.items()
                if not args.only or any(text in name for text in args.only)}
    if not variants:
        parser.error(f"no variant name contains any of {args.only}")
    videos = {VIDEO_DIR / name: VIDEO_CAST[name] for name in args.videos}
    missing = [str(path) for path in videos if not path.is_file()]
    if missing:
        print(f"video_variants: error: video(s) not found: {', '.join(missing)}",
              file=sys.stderr)
        return 1
    start = time.perf_counter()
    section_video_variants(variants, videos, args.max_frames,
                           {name: TRANSFORMS[name] for name in args.transforms})
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
