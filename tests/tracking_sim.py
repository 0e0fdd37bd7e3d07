"""Replay real multi-person motion through the full ``Pipeline`` with simulated stages.

The Bonn PoseTrack sequences (``../shared/data/bonn-posetrack/train``) label every person in
every frame but come without images. This module turns one sequence into:

* blank frames of the sequence's size (the stages below never look at pixels);
* ``SimulatedDetector``: the ground-truth boxes, each jittered, missed in bursts (a two-state
  Markov chain per person: misses start with ``miss_start`` and go on with ``miss_continue``,
  like short occlusions) and joined by false positives;
* ``SimulatedPoseEstimator``: for a box, the ground-truth pose of the person it overlaps most
  (IoU > 0.3) with Gaussian joint noise proportional to the person's size; otherwise a
  low-confidence random pose (nobody there);
* ``OracleFlow``: a dense flow field that moves each person's box region by the mean motion
  of their joints between the two frames (plus noise), zero elsewhere: optical flow that
  works, so the tracker's use of flow is tested, not a flow algorithm.

The detector, estimator and flow share a ``SequenceClock`` that the driver advances, because
the simulated stages need the frame index to look up the ground truth.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracker.boxes import iou_matrix, xywh_to_xyxy
from tracker.io.posetrack18 import TrackWriter
from tracker.pose.zoo import keypoint_sets
from tracker.types import Detections, Frame, Poses

POSETRACK18 = keypoint_sets()["posetrack18"]


@dataclass
class GroundTruthFrame:
    """People labelled in one frame: keypoints (N, 17, 2), visible (N, 17) bool,
    boxes_xyxy (N, 4), track_ids (N,)."""

    keypoints: np.ndarray
    visible: np.ndarray
    boxes_xyxy: np.ndarray
    track_ids: np.ndarray


def load_bonn_sequence(path: Path) -> tuple[list[GroundTruthFrame], list[str], tuple[int, int]]:
    """Frames, image file names and a frame size (width, height) covering every joint."""
    data = json.loads(Path(path).read_text())
    by_image = {image["id"]: [] for image in data["images"]}
    for annotation in data["annotations"]:
        by_image[annotation["image_id"]].append(annotation)
    frames = []
    for image in data["images"]:
        people = by_image[image["id"]]
        xyv = np.array([a["keypoints"] for a in people], np.float64).reshape(-1, 17, 3)
        boxes = np.array([a["bbox"] for a in people], np.float64).reshape(-1, 4)
        frames.append(GroundTruthFrame(keypoints=xyv[..., :2], visible=xyv[..., 2] > 0,
                                       boxes_xyxy=xywh_to_xyxy(boxes),
                                       track_ids=np.array([a["track_id"] for a in people])))
    extent = max((f.keypoints[f.visible].max(axis=0) for f in frames if f.visible.any()),
                 key=lambda v: v[0] * v[1], default=np.array([640.0, 480.0]))
    size = (int(max(640, np.ceil(extent[0] + 20))), int(max(480, np.ceil(extent[1] + 20))))
    return frames, [image["file_name"] for image in data["images"]], size


class SequenceClock:
    """The index of the frame being processed, shared by the simulated stages."""

    def __init__(self, frames: list[GroundTruthFrame]) -> None:
        self.frames = frames
        self.index = 0

    @property
    def current(self) -> GroundTruthFrame:
        return self.frames[self.index]


class SimulatedDetector:
    """Ground-truth boxes with jitter, bursty misses and false positives (see module doc)."""

    def __init__(self, clock: SequenceClock, frame_size_wh, *, seed: int, miss_start=0.08,
                 miss_continue=0.6, false_positives_per_frame=0.3, jitter=0.05) -> None:
        self.clock, self.size = clock, np.asarray(frame_size_wh, np.float64)
        self.rng = np.random.default_rng(seed)
        self.miss_start, self.miss_continue = miss_start, miss_continue
        self.false_positives_per_frame, self.jitter = false_positives_per_frame, jitter
        self._missing: dict[int, bool] = {}

    def __call__(self, frame: Frame) -> Detections:
        truth = self.clock.current
        boxes, scores = [], []
        for box, track_id in zip(truth.boxes_xyxy, truth.track_ids.tolist()):
            p = self.miss_continue if self._missing.get(track_id) else self.miss_start
            self._missing[track_id] = bool(self.rng.random() < p)
            if self._missing[track_id]:
                continue
            side = np.array([box[2] - box[0], box[3] - box[1]] * 2)
            boxes.append(box + self.rng.normal(0, self.jitter, 4) * side)
            scores.append(self.rng.uniform(0.5, 1.0))
        for _ in range(self.rng.poisson(self.false_positives_per_frame)):
            corner = self.rng.uniform([0, 0], self.size * 0.8)
            boxes.append(np.concatenate([corner, corner + self.rng.uniform(40, 160, 2)]))
            scores.append(self.rng.uniform(0.3, 0.7))
        return Detections(boxes_xyxy=np.reshape(boxes, (-1, 4)), scores=np.asarray(scores))


class SimulatedPoseEstimator:
    """Ground-truth poses with noise for boxes on a person, weak random poses elsewhere.

    The joint error of a person in a frame is drawn once (``noise`` x person size, the same
    for every box on that person) plus a small per-box part (``box_noise``).
    """

    keypoint_set = POSETRACK18
    num_keypoints = 17

    def __init__(self, clock: SequenceClock, *, seed: int, noise=0.03, box_noise=0.005) -> None:
        self.clock, self.rng = clock, np.random.default_rng(seed)
        self.seed, self.noise, self.box_noise = seed, noise, box_noise

    def predict(self, image, boxes_xywh, box_scores=None) -> Poses:
        truth = self.clock.current
        boxes = xywh_to_xyxy(np.asarray(boxes_xywh, np.float64).reshape(-1, 4))
        n = len(boxes)
        keypoints = np.zeros((n, 17, 2))
        scores = np.zeros((n, 17))
        overlap = iou_matrix(boxes, truth.boxes_xyxy)
        for i, box in enumerate(boxes):
            side = max(box[2] - box[0], box[3] - box[1], 1.0)
            if overlap.shape[1] and overlap[i].max() > 0.3:
                person = int(overlap[i].argmax())
                keypoints[i] = (truth.keypoints[person] + self._error(person) * side
                                + self.rng.normal(0, self.box_noise * side, (17, 2)))
                scores[i] = np.where(truth.visible[person], self.rng.uniform(0.6, 1.0, 17),
                                     self.rng.uniform(0.0, 0.2, 17))
            else:
                keypoints[i] = self.rng.uniform(box[:2], box[2:], (17, 2))
                scores[i] = self.rng.uniform(0.0, 0.35, 17)
        box_scores = np.ones(n) if box_scores is None else np.asarray(box_scores)
        return Poses(keypoints=keypoints, keypoint_scores=scores, boxes_xyxy=boxes,
                     box_scores=box_scores)


    def _error(self, person: int) -> np.ndarray:
        """(17, 2) joint errors of one person in the current frame, relative to its size:
        the same for every box on that person (a network sees nearly the same crop), so two
        boxes on one person give nearly the same pose, as real models do."""
        truth = self.clock.current
        key = (self.seed, self.clock.index, int(truth.track_ids[person]) % 100003)
        return np.random.default_rng(key).normal(0, self.noise, (17, 2))


def paint_motion(flow: np.ndarray, before, after, regions_xyxy: np.ndarray, order, rng,
                 noise_px: float) -> None:
    """Fill ``flow`` (H, W, 2) in place: each person of ``before`` found in ``after`` (both
    with ``track_ids``, ``keypoints``, ``visible``) moves their region (``regions_xyxy``, one
    xyxy per person of ``before``) by the mean motion of the joints visible in both, plus
    Gaussian noise; people are painted in ``order`` (later ones over earlier ones)."""
    height, width = flow.shape[:2]
    for i in order:
        later = np.flatnonzero(after.track_ids == before.track_ids[i])
        if not len(later):
            continue
        both = before.visible[i] & after.visible[later[0]]
        if not both.any():
            continue
        motion = (after.keypoints[later[0]][both] - before.keypoints[i][both]).mean(axis=0)
        x1, y1, x2, y2 = np.clip(np.round(regions_xyxy[i]), 0, [width, height] * 2).astype(int)
        flow[y1:y2, x1:x2] = motion + rng.normal(0, noise_px, 2)


class OracleFlow:
    """Flow F(k-1 -> k) from the ground-truth motion of each person (see module doc)."""

    def __init__(self, clock: SequenceClock, *, seed: int, noise_px=1.0) -> None:
        self.clock, self.rng, self.noise_px = clock, np.random.default_rng(seed), noise_px

    def __call__(self, previous_bgr, current_bgr) -> np.ndarray:
        flow = np.zeros(current_bgr.shape[:2] + (2,), np.float32)
        before, after = self.clock.frames[self.clock.index - 1], self.clock.current
        paint_motion(flow, before, after, before.boxes_xyxy, range(len(before.track_ids)),
                     self.rng, self.noise_px)
        return flow


def simulate(sequence_path: Path, *, tracker_options: dict, pipeline_options: dict,
             use_flow: bool, seed: int = 0, detector_options: dict | None = None,
             tracker_class=None):
    """Run the real ``Pipeline`` and ``PoseTracker`` (or ``tracker_class``, e.g.
    ``RobustPoseTracker``) over one simulated Bonn sequence.

    Returns:
        (frames of ground truth, image file names, list of ``FrameResult``).
    """
    from tracker.tracking.backfill import backfill_results
    from tracker.tracking.pipeline import Pipeline
    from tracker.tracking.pose_tracker import PoseTracker

    frames, names, size_wh = load_bonn_sequence(sequence_path)
    clock = SequenceClock(frames)
    pipeline = Pipeline(
        detector=SimulatedDetector(clock, size_wh, seed=seed, **(detector_options or {})),
        estimator=SimulatedPoseEstimator(clock, seed=seed + 1),
        tracker=(tracker_class or PoseTracker)(oks_sigmas=POSETRACK18.oks_sigmas,
                                               **tracker_options),
        flow=OracleFlow(clock, seed=seed + 2) if use_flow else None, **pipeline_options)
    image = np.zeros((size_wh[1], size_wh[0], 3), np.uint8)
    results = []
    for index in range(len(frames)):
        clock.index = index
        results.append(pipeline(Frame(index=index, image=image, name=Path(names[index]).name,
                                      timestamp_s=index / 30.0)))
    return frames, names, backfill_results(results)   # as posetrack-run writes them


def box_mota(frames: list[GroundTruthFrame], results, iou_threshold: float = 0.5) -> dict:
    """CLEAR-MOT numbers of the boxes around the output joints (score > 0.5) against the
    ground-truth boxes (tight around the joints and head; motmetrics, IoU >= ``iou_threshold``): mota, num_switches, num_misses, num_false_positives."""
    import motmetrics as mm

    from tracker.tracking.flow import boxes_around_keypoints

    accumulator = mm.MOTAccumulator(auto_id=True)
    for truth, result in zip(frames, results):
        poses = result.poses
        # the tight box around the output joints, like the ground-truth boxes
        boxes = boxes_around_keypoints(poses.keypoints, poses.keypoint_scores, 0.5, enlarge=0.0)
        shown = np.isfinite(boxes).all(axis=1)     # people with no joint above 0.5 are not output
        overlap = iou_matrix(truth.boxes_xyxy, boxes[shown])
        distances = np.where(overlap >= iou_threshold, 1.0 - overlap, np.nan)
        accumulator.update(truth.track_ids.tolist(), result.track_ids[shown].tolist(), distances)
    names = ["mota", "num_switches", "num_misses", "num_false_positives", "num_objects"]
    summary = mm.metrics.create().compute(accumulator, metrics=names)
    return {name: float(summary[name].iloc[0]) for name in names}


#: The Bonn sequences whose people have head boxes, which poseval's PCKh needs.
HEAD_BOX_SEQUENCES = ("000001", "000026", "47476901", "5997927", "8454334")

VARIANTS = {
    "greedy IoU (mmpose demo)": (dict(similarity="iou", min_similarity=0.3, max_age_frames=0),
                                 dict(propagate=False), False),
    "greedy OKS": (dict(similarity="oks"), dict(propagate=False), False),
    "greedy flow-OKS": (dict(similarity="flow_oks"), dict(propagate=False), True),
    "IoU + propagation": (dict(similarity="iou", min_similarity=0.3), dict(), True),
    "flow-OKS + propagation (default)": (dict(similarity="flow_oks"), dict(), True),
    "multi-flow L=3 + propagation": (dict(similarity="flow_oks", history_frames=3), dict(),
                                     True),
    "hungarian flow-OKS + propagation": (dict(similarity="flow_oks", matcher="hungarian"),
                                         dict(), True),
}


def poseval_scores(folder: Path, tracker_options, pipeline_options, use_flow, seed: int,
                   min_person_score: float = 0.5, min_keypoint_score: float = 0.4):
    """PoseTrack18 AP / MOTA (``tracker.eval``, equal to poseval) of one variant on the
    sequences with head boxes; the output thresholds are the paper's (0.5 box, 0.4 joint)."""
    from tracker.eval import evaluate

    with tempfile.TemporaryDirectory() as temporary:
        gt_dir, pred_dir = Path(temporary, "gt"), Path(temporary, "pred")
        gt_dir.mkdir()
        pred_dir.mkdir()
        for name in HEAD_BOX_SEQUENCES:
            path = folder / f"{name}_bonn_train.json"
            shutil.copy(path, gt_dir / path.name)
            _, names, results = simulate(path, tracker_options=tracker_options,
                                         pipeline_options=pipeline_options, use_flow=use_flow,
                                         seed=seed)
            writer = TrackWriter(pred_dir / path.name, keypoint_names=POSETRACK18.names,
                                 sequence_name=str(Path(names[0]).parent),
                                 min_person_score=min_person_score,
                                 min_keypoint_score=min_keypoint_score)
            for result in results:
                writer.add(result)
            writer.close()
        return evaluate(gt_dir, pred_dir)


# -- helpers of the benchmarks ------------------------------------------------------------

def track_lengths(results) -> dict[int, int]:
    """Frames in which each written track id appears."""
    lengths: dict[int, int] = {}
    for result in results:
        for track_id in np.asarray(result.track_ids).tolist():
            lengths[track_id] = lengths.get(track_id, 0) + 1
    return lengths
