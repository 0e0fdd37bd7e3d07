"""Time per stage of posetrack-run on the shared videos with the real ONNX models.

    python -m benchmarks.bench_pipeline [--frames 60] [--device cpu] [--videos NAME ...]

For each video and each variant it prints milliseconds per frame spent in decode, detect,
flow, pose, associate and write, end-to-end frames/s, and the ratio of each variant's
frames/s to the first variant (greedy box-IoU without flow, mmpose's demo tracker), all
measured in this process, and the number of track ids created (on a video with a fixed
cast, fewer ids = fewer broken tracks).

    python -m benchmarks.bench_pipeline --association [--association-frames 200] [--people 15]
    python -m benchmarks.bench_pipeline --overlap [--frames 60] [--videos NAME ...]
    python -m benchmarks.bench_pipeline --overlap --device cuda --pose-checkpoint res50.pth

The association table (printed after the video tables, or alone with ``--association``)
times the trackers alone, without any network: per frame ``tracker.warp(flow)`` (in the
Pipeline's "flow" stage) and ``tracker.update(poses, propagated, frame=frame)`` (its
"associate" stage), for the paper's ``PoseTracker`` (flow_oks, greedy) and
``RobustPoseTracker`` with its defaults (colour-histogram appearance, computed because the
frame is passed) and with ``appearance_weight=0``. The scene: ``--people`` walking people
per frame (17 keypoints, PoseTrack18 OKS sigmas, jittered keypoints, some occluded, some
boxes scored low) on 1280x720 frames of street-crowd-720p.avi (noise when the shared data is
absent), with a few more people than are shown so that people leave and come back (lost
tracks), and the flow as DenseFlow gives it at 720p (a 640x360 ``FlowField``; ``--flow
full`` passes a full (720, 1280, 2) array). It prints median and 95th-percentile ms per frame,
the ratio to the paper's tracker and whether warp + update stays under the 5 ms budget.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from tests.shared_data import SHARED_ROOT
from tracker.io.posetrack18 import TrackWriter, sequence_name_for
from apps.config import build_stages, load_run_config
from tracker.io.video import open_source
from tracker.pose.zoo import keypoint_sets
from tracker.tracking.flow import FlowField, flow_size_wh
from tracker.tracking.pose_tracker import PoseTracker
from tracker.tracking.robust_tracker import RobustPoseTracker
from tracker.types import Frame, Poses

VIDEOS = ("basketball-2p-426x240.mp4", "indoor-2p-1080p.mp4", "street-crowd-720p.avi")
VARIANTS = {
    "iou, no flow (baseline)": {"flow": None, "pipeline": {"propagate": False},
                                "tracker": {"similarity": "iou", "min_similarity": 0.3}},
    "flow_oks + propagation, DIS fast": {},
    "flow_oks + propagation, DIS ultrafast": {"flow": {"dis_preset": "ultrafast"}},
    "flow_oks, detect every 3rd frame": {"pipeline": {"detect_every": 3}},
    "flow_oks + propagation, Farneback": {"flow": {"method": "farneback"}},
    "oks, no flow": {"flow": None, "pipeline": {"propagate": False},
                     "tracker": {"similarity": "oks"}},
    "default, no flip test": {"pose": {"flip_test": False}},
}
STAGES = ("decode", "detect", "flow", "pose", "associate", "write")


def bench_one(video: Path, overrides: dict, frames: int, device: str) -> dict:
    models = SHARED_ROOT / "models"
    config = load_run_config(None, {
        "device": device,
        "detector": {"checkpoint": str(models / "rtmdet-nano-person" / "end2end.onnx")},
        "pose": {"name": "pp_tinypose_256x192",
                 "checkpoint": str(models / "pp-tinypose-256x192" / "pp_tinypose_256x192.onnx"),
                 **overrides.get("pose", {})},
        **{k: v for k, v in overrides.items() if k != "pose"}})
    stages = build_stages(config, progress=False)
    seconds = dict.fromkeys(STAGES, 0.0)
    with tempfile.TemporaryDirectory() as folder, open_source(video, max_frames=frames) as source:
        writer = TrackWriter(Path(folder) / "t.json",
                             keypoint_names=stages.estimator.keypoint_set.names,
                             sequence_name=sequence_name_for(video))
        started = time.perf_counter()
        count = 0
        iterator = iter(source)
        while True:
            tick = time.perf_counter()
            frame = next(iterator, None)
            seconds["decode"] += time.perf_counter() - tick
            if frame is None:
                break
            result = stages.pipeline(frame)
            tick = time.perf_counter()
            writer.add(result)
            seconds["write"] += time.perf_counter() - tick
            count += 1
        tick = time.perf_counter()
        writer.close()
        seconds["write"] += time.perf_counter() - tick
        total = time.perf_counter() - started
    for stage, value in stages.pipeline.stage_seconds.items():
        seconds[stage] = value
    return {"frames": count, "fps": count / total, "tracks": writer.max_track_id + 1,
            **{stage: 1000 * value / max(count, 1) for stage, value in seconds.items()}}


def video_tables(videos: list[str], frames: int, device: str) -> int:
    """The per-stage table of every variant on each shared video; 1 when a video is missing."""
    for name in videos:
        video = SHARED_ROOT / "data" / "videos" / name
        if not video.is_file():
            print(f"missing {video}", file=sys.stderr)
            return 1
        print(f"\n{name}, {frames} frames, device {device} (ms per frame)")
        print(f"{'variant':40s}" + "".join(f"{s:>9s}" for s in STAGES)
              + "   frames/s  ratio  track ids")
        baseline = None
        for variant, overrides in VARIANTS.items():
            numbers = bench_one(video, overrides, frames, device)
            baseline = baseline or numbers["fps"]
            print(f"{variant:40s}" + "".join(f"{numbers[s]:9.1f}" for s in STAGES)
                  + f"   {numbers['fps']:8.2f}  {numbers['fps'] / baseline:5.2f}x"
                  + f"  {numbers['tracks']:9d}")
    return 0


# -- association micro-benchmark ---------------------------------------------------------------

#: The issue's budget for warp + update per frame (15 people, 2-core CPU, appearance included).
ASSOCIATION_BUDGET_MS = 5.0
ASSOCIATION_VIDEO = "street-crowd-720p.avi"
FRAME_SIZE_WH = (1280, 720)
SCENE_FPS = 30.0
#: People of the cast not shown at a time: they leave and come back (lost tracks).
HIDDEN_PEOPLE = 3
#: Chance per frame that a hidden person comes back while a shown one leaves.
SWAP_PROBABILITY = 0.1
#: Chance that a pose's box is scored below RobustPoseTracker's high_score (its second stage).
LOW_SCORE_PROBABILITY = 0.1
#: Distinct frame images and flow fields, cycled (memory stays small, caches stay cold).
DISTINCT_IMAGES, DISTINCT_FLOWS = 20, 4
#: A standing person's 17 PoseTrack18 keypoints, (x, y) as fractions of their box.
BODY_FRACTIONS_XY = np.array([
    (0.50, 0.07), (0.50, 0.14), (0.50, 0.00), (0.56, 0.06), (0.44, 0.06),   # head
    (0.68, 0.20), (0.32, 0.20), (0.78, 0.36), (0.22, 0.36), (0.82, 0.50), (0.18, 0.50),
    (0.62, 0.52), (0.38, 0.52), (0.62, 0.74), (0.38, 0.74), (0.62, 0.97), (0.38, 0.97)],
    np.float32)
#: x swing (fraction of box width per unit of sin(walking phase)) of each keypoint.
WALK_SWING_X = np.array([0, 0, 0, 0, 0, 0, 0, -0.04, 0.04, -0.08, 0.08,
                         0, 0, 0.05, -0.05, 0.10, -0.10], np.float32)
ASSOCIATION_TRACKERS: dict[str, Callable] = {
    "PoseTracker (paper, flow_oks)": lambda sigmas: PoseTracker(oks_sigmas=sigmas),
    "RobustPoseTracker (defaults)": lambda sigmas: RobustPoseTracker(oks_sigmas=sigmas),
    "RobustPoseTracker, appearance_weight=0":
        lambda sigmas: RobustPoseTracker(oks_sigmas=sigmas, appearance_weight=0.0),
}


class SceneFrame(NamedTuple):
    """What the Pipeline hands the tracker for one frame."""
    frame: Frame
    poses: Poses
    propagated: np.ndarray          # (N,) bool
    flow: object                    # FlowField or (H, W, 2) float32 frame-pixel flow


def scene_images(count: int, rng: np.random.Generator) -> tuple[list[np.ndarray], str]:
    """``count`` 1280x720 BGR images: frames of the shared street video, else noise."""
    video = SHARED_ROOT / "data" / "videos" / ASSOCIATION_VIDEO
    if video.is_file():
        with open_source(video, max_frames=count) as source:
            images = [f.image for f in source if f.image.shape[1::-1] == FRAME_SIZE_WH]
        if images:
            return images, f"{ASSOCIATION_VIDEO} frames"
    width, height = FRAME_SIZE_WH
    return [rng.integers(0, 256, (height, width, 3), np.uint8) for _ in range(count)], "noise"


def scene_flows(kind: str, count: int, rng: np.random.Generator) -> tuple[list, str]:
    """``count`` flows of a slow camera pan with noise: as ``DenseFlow`` gives them at 720p
    (``kind`` "field": a 640x360 ``FlowField``) or full (720, 1280, 2) float32 arrays."""
    width, height = FRAME_SIZE_WH
    size_wh = flow_size_wh(FRAME_SIZE_WH, 640) if kind == "field" else FRAME_SIZE_WH
    flows = []
    for _ in range(count):
        vectors = (np.array([0.8, -0.3], np.float32)
                   + rng.normal(0, 0.3, (size_wh[1], size_wh[0], 2)).astype(np.float32))
        flows.append(FlowField(vectors, scale=width / size_wh[0]) if kind == "field"
                     else vectors)
    scale = width / size_wh[0]
    return flows, f"flow {size_wh[0]}x{size_wh[1]}" + (f" x{scale:g}" if kind == "field" else "")


def _walking_poses(cast: dict, shown: np.ndarray, step: int,
                   rng: np.random.Generator) -> tuple[Poses, np.ndarray]:
    """Poses (in a random order, as a detector gives them) of the ``shown`` people of the
    cast at ``step``, and the (N,) propagated flags."""
    shown = rng.permutation(shown)
    n, heights = len(shown), cast["heights"][shown]
    sizes_wh = np.column_stack([0.45 * heights, heights])                          # (N, 2)
    swing = np.sin(cast["phases"][shown] + 0.25 * step)[:, None] * WALK_SWING_X    # (N, 17)
    fractions = BODY_FRACTIONS_XY[None] - 0.5 + np.stack([swing, np.zeros_like(swing)], 2)
    keypoints = (cast["centres_xy"][shown][:, None] + fractions * sizes_wh[:, None]
                 + rng.normal(0, 1, (n, 17, 2)) * 0.01 * heights[:, None, None])
    scores = rng.uniform(0.5, 0.95, (n, 17))
    occluded = rng.random((n, 17)) < 0.1
    scores[occluded] = rng.uniform(0.05, 0.3, occluded.sum())
    low, high = keypoints.min(axis=1), keypoints.max(axis=1)
    margin = 0.1 * (high - low)
    box_scores = np.clip(cast["box_scores"][shown] + rng.normal(0, 0.03, n), 0.05, 1.0)
    uncertain = rng.random(n) < LOW_SCORE_PROBABILITY       # half hidden: a weak box
    box_scores[uncertain] = rng.uniform(0.15, 0.3, uncertain.sum())
    poses = Poses(keypoints=keypoints.astype(np.float32), keypoint_scores=scores.astype(np.float32),
                  boxes_xyxy=np.concatenate([low - margin, high + margin], 1).astype(np.float32),
                  box_scores=box_scores.astype(np.float32))
    return poses, rng.random(n) < 0.2


def _move_cast(cast: dict) -> None:
    """One frame of walking; people turn back at the left and right borders."""
    cast["centres_xy"] += cast["velocities_xy"]
    x = cast["centres_xy"][:, 0]
    turn = (x < 60) & (cast["velocities_xy"][:, 0] < 0) | \
        (x > FRAME_SIZE_WH[0] - 60) & (cast["velocities_xy"][:, 0] > 0)
    cast["velocities_xy"][turn, 0] *= -1


def association_scene(frames: int, people: int, flow_kind: str = "field",
                      seed: int = 0) -> tuple[list[SceneFrame], str]:
    """``frames`` frames of ``people`` walking people (of a cast of ``people +
    HIDDEN_PEOPLE``, the others hidden for a while), and a description of the scene."""
    rng = np.random.default_rng(seed)
    width, height = FRAME_SIZE_WH
    total = people + HIDDEN_PEOPLE
    cast = {"heights": rng.uniform(180, 380, total),
            "centres_xy": np.column_stack([rng.uniform(80, width - 80, total),
                                           rng.uniform(0.35 * height, 0.65 * height, total)]),
            "velocities_xy": np.column_stack([rng.uniform(-3, 3, total),
                                              rng.uniform(-0.5, 0.5, total)]),
            "phases": rng.uniform(0, 2 * np.pi, total),
            "box_scores": rng.uniform(0.4, 0.95, total)}
    images, image_text = scene_images(DISTINCT_IMAGES, rng)
    flows, flow_text = scene_flows(flow_kind, DISTINCT_FLOWS, rng)
    hidden = set(rng.choice(total, HIDDEN_PEOPLE, replace=False).tolist())
    scene = []
    for step in range(frames):
        if hidden and rng.random() < SWAP_PROBABILITY:
            back = rng.choice(sorted(hidden))
            gone = rng.choice(sorted(set(range(total)) - hidden))
            hidden = (hidden - {back}) | {gone}
        poses, propagated = _walking_poses(
            cast, np.array(sorted(set(range(total)) - hidden)), step, rng)
        frame = Frame(index=step, image=images[step % len(images)], name=f"{step:06d}",
                      timestamp_s=step / SCENE_FPS)
        scene.append(SceneFrame(frame, poses, propagated, flows[step % len(flows)]))
        _move_cast(cast)
    return scene, (f"{people} people x {frames} frames at {width}x{height} ({image_text}), "
                   f"{flow_text}")


def _run_tracker(tracker, scene: list[SceneFrame]) -> dict:
    """Warp and update ms of every frame, as the Pipeline calls them (no warp on frame 0)."""
    tracker.reset()
    warp_ms, update_ms, alive, ids = [], [], [], 0
    for step, item in enumerate(scene):
        start = time.perf_counter()
        if step:
            tracker.warp(item.flow)
        warped = time.perf_counter()
        track_ids = tracker.update(item.poses, propagated=item.propagated, frame=item.frame)
        done = time.perf_counter()
        warp_ms.append(1000 * (warped - start))
        update_ms.append(1000 * (done - warped))
        alive.append(tracker.num_tracks)
        ids = max(ids, int(track_ids.max(initial=-1)) + 1)
    return {"warp": np.array(warp_ms), "update": np.array(update_ms),
            "alive": float(np.mean(alive)), "ids": ids}


def time_association(make_tracker: Callable, scene: list[SceneFrame],
                     oks_sigmas: np.ndarray) -> dict:
    """Median and 95th percentile ms per frame of warp, update and both, after one untimed
    pass over the scene (imports, caches), plus mean tracks alive and ids given."""
    tracker = make_tracker(oks_sigmas)
    _run_tracker(tracker, scene)
    runs = _run_tracker(tracker, scene)
    total = runs["warp"] + runs["update"]
    return {"warp": float(np.median(runs["warp"])),
            "update": float(np.median(runs["update"])),
            "update_p95": float(np.percentile(runs["update"], 95)),
            "total": float(np.median(total)), "total_p95": float(np.percentile(total, 95)),
            "alive": runs["alive"], "ids": runs["ids"]}


def _verdict(numbers: dict) -> str:
    if numbers["total_p95"] < ASSOCIATION_BUDGET_MS:
        return "yes"
    return "median only" if numbers["total"] < ASSOCIATION_BUDGET_MS else "NO"


def association_table(frames: int, people: int, flow_kind: str) -> list[dict]:
    """Print the association table; returns its rows (``time_association`` numbers + name)."""
    scene, description = association_scene(frames, people, flow_kind)
    sigmas = np.asarray(keypoint_sets()["posetrack18"].oks_sigmas, np.float64)
    print(f"\nassociation, {description} (ms per frame; update = the Pipeline's associate "
          f"stage, warp = its share of the flow stage)")
    print(f"{'tracker':40s}{'warp':>7s}{'update':>8s}{'upd p95':>8s}{'w+u':>7s}{'w+u p95':>8s}"
          f"{'ratio':>7s}{'ids':>5s}{'alive':>7s}   under {ASSOCIATION_BUDGET_MS:g} ms (w+u p95)")
    rows, baseline = [], None
    for name, make_tracker in ASSOCIATION_TRACKERS.items():
        numbers = {"name": name, **time_association(make_tracker, scene, sigmas)}
        baseline = baseline or numbers["total"]
        print(f"{name:40s}{numbers['warp']:7.2f}{numbers['update']:8.2f}"
              f"{numbers['update_p95']:8.2f}{numbers['total']:7.2f}{numbers['total_p95']:8.2f}"
              f"{numbers['total'] / baseline:6.2f}x{numbers['ids']:5d}{numbers['alive']:7.1f}"
              f"   {_verdict(numbers)}")
        rows.append(numbers)
    return rows


def _positive_int(text: str) -> int:
    value = int(text) if text.strip().lstrip("+").isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=_positive_int, default=60)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--videos", nargs="*", default=list(VIDEOS))
    parser.add_argument("--association", action="store_true",
                        help="only the association table (no video, no network)")
    parser.add_argument("--association-frames", type=_positive_int, default=200)
    parser.add_argument("--people", type=_positive_int, default=15,
                        help="people per frame of the association table")
    parser.add_argument("--flow", choices=("field", "full"), default="field",
                        help="association flow: DenseFlow's 640x360 FlowField or a full array")
    parser.add_argument("--overlap", action="store_true", help="only the overlapped vs "
                        "sequential frames/s table (benchmarks/overlap_table.py)")
    parser.add_argument("--pose-checkpoint", help="--overlap: the PoseTrack18 ResNet-50 with "
                        "these weights and flip test instead of PP-TinyPose (for a GPU)")
    args = parser.parse_args(argv)
    if args.overlap:
        from benchmarks.overlap_table import overlap_table
        return overlap_table(args.videos, args.frames, args.device,
                             pose_checkpoint=args.pose_checkpoint)
    if not args.association:
        status = video_tables(args.videos, args.frames, args.device)
        if status:
            return status
    association_table(args.association_frames, args.people, args.flow)
    return 0


if __name__ == "__main__":
    sys.exit(main())
