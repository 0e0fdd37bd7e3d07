"""A realistic occlusion simulator on real motion: the Bonn PoseTrack sequences as a scene.

``tests/tracking_sim.py`` replays the Bonn sequences (every person labelled in every frame,
no images) with independent misses. Here the people occlude each other, as on video:

* depth: people are ordered by the bottom of their box (nearer the camera = lower in the
  image); a person's *visible fraction* is the part of their box not covered by the boxes of
  nearer people (narrowed by 15 % on each side: boxes are wider than bodies) nor by an
  occluder; a joint is *covered* when it lies in such a region;
* ``OccludingDetector``: a person under ``min_visible`` visible is not detected; otherwise
  misses come in bursts (a Markov chain per person) more often for small and partly covered
  people, and the box score drops with the covered fraction (partly hidden people get the
  low scores ByteTrack's second stage is for); false positives: one-frame ones, and ghosts
  that stay a few frames (a poster, a reflection);
* ``OccludingPoseEstimator``: the ground-truth pose with noise; covered joints get low
  scores and large errors; a box on two people gives the pose of the nearer one when it is
  about as well covered (a network locks onto the front person: "a hugging couple gets one
  skeleton"); weak random poses where nobody is;
* ``DepthFlow``: each person's box region moves with them, painted far to near (the front
  person's motion wins where boxes overlap); zero flow on the occluder and the black frames;
* rendered frames: each person a block of their clothes' colours (top and bottom, from a
  small palette, so some people look alike), painted far to near, under the occluder; the
  appearance cue sees what the simulator decided is visible.

``Scenario`` adds the harder variants of the issue: every 2nd frame (twice the motion per
frame, half the frame rate), an occluder bar sweeping across, a camera dropout (black
frames). ``run_scenario`` runs any per-frame stack (``Pipeline`` or a box-tracker stack)
over one sequence; ``write_ground_truth`` writes the frames it scored as PoseTrack18 GT, with
head boxes from the head joints where the Bonn file has none (poseval's PCKh needs them).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.tracking_sim import (POSETRACK18, GroundTruthFrame, SequenceClock, load_bonn_sequence,
                                paint_motion)
from tracker.boxes import iou_matrix, xywh_to_xyxy
from tracker.tracking.backfill import backfill_results
from tracker.types import Detections, Frame, Poses

#: Head box of a person without ``bbox_head``: width, height per head length (|head_top -
#: head_bottom|), the medians over the 1,150 Bonn people that have one.
HEAD_BOX_PER_HEAD_LENGTH = (0.78, 0.98)
#: Clothes colours (BGR); top and bottom are drawn from these per person.
PALETTE = np.array([[40, 40, 200], [200, 60, 40], [40, 160, 40], [30, 30, 30], [220, 220, 220],
                    [0, 140, 230], [140, 40, 140], [160, 140, 60], [90, 90, 140],
                    [60, 200, 200]], np.uint8)
BACKGROUND = 100
OCCLUDER_GREY = 128


@dataclass(frozen=True)
class Scenario:
    """A harder variant of a sequence.

    frame_step: keep every ``frame_step``-th frame (timestamps keep their true values).
    bar_width: width of a vertical grey bar, as a fraction of the frame width (0: none),
        sweeping left to right once every ``bar_period_s`` seconds.
    dropout_frames: this many black frames (no detections, zero flow) starting at the
        fraction ``dropout_at`` of the sequence.
    """

    frame_step: int = 1
    bar_width: float = 0.0
    bar_period_s: float = 3.0
    dropout_frames: int = 0
    dropout_at: float = 0.4


SCENARIOS = {"clean": Scenario(), "every_2nd": Scenario(frame_step=2),
             "grey_bar": Scenario(bar_width=0.15), "black_frames": Scenario(dropout_frames=4)}
FPS = 30.0


@dataclass
class SceneFrame:
    """One frame of a scenario: the ground truth, its time, and what the camera sees.

    visible_fraction (N,): part of each person's box not covered; covered (N, 17) bool:
    joints covered by a nearer person, the bar or darkness; depth_order (N,): person indices
    far to near; nearer (N, N) bool: [i, j] person j is in front of person i.
    """

    truth: GroundTruthFrame
    index: int
    name: str
    timestamp_s: float
    dark: bool
    bar_x: tuple[float, float] | None
    visible_fraction: np.ndarray
    covered: np.ndarray
    depth_order: np.ndarray
    nearer: np.ndarray


def _inside(points_xy: np.ndarray, boxes_xyxy: np.ndarray) -> np.ndarray:
    """(P, B) bool: point p inside box b."""
    x, y = points_xy[:, None, 0], points_xy[:, None, 1]
    return ((x >= boxes_xyxy[:, 0]) & (x <= boxes_xyxy[:, 2]) &
            (y >= boxes_xyxy[:, 1]) & (y <= boxes_xyxy[:, 3]))


def body_boxes(boxes_xyxy: np.ndarray, narrow: float = 0.15) -> np.ndarray:
    """The boxes narrowed by ``narrow`` of their width on each side (what occludes)."""
    boxes = np.array(boxes_xyxy, np.float64).reshape(-1, 4)
    margin = (boxes[:, 2] - boxes[:, 0]) * narrow
    boxes[:, 0] += margin
    boxes[:, 2] -= margin
    return boxes


def occlusion(truth: GroundTruthFrame, bar_x, dark: bool, grid: int = 8):
    """(visible_fraction (N,), covered (N, 17), nearer (N, N)) of one frame (see module doc)."""
    n = len(truth.track_ids)
    boxes = truth.boxes_xyxy.reshape(-1, 4)
    bottoms = boxes[:, 3]
    nearer = bottoms[None, :] > bottoms[:, None]                  # [i, j]: j nearer than i
    occluders = body_boxes(boxes)
    visible = np.ones(n)
    covered = np.zeros((n, 17), bool)
    steps = (np.arange(grid) + 0.5) / grid
    for i in range(n):
        x1, y1, x2, y2 = boxes[i]
        gx, gy = np.meshgrid(x1 + steps * (x2 - x1), y1 + steps * (y2 - y1))
        samples = np.stack([gx.ravel(), gy.ravel()], axis=1)
        hidden = _inside(samples, occluders[nearer[i]]).any(axis=1)
        joints = _inside(truth.keypoints[i], occluders[nearer[i]]).any(axis=1)
        if bar_x is not None:
            hidden |= (samples[:, 0] >= bar_x[0]) & (samples[:, 0] <= bar_x[1])
            joints |= (truth.keypoints[i, :, 0] >= bar_x[0]) & \
                (truth.keypoints[i, :, 0] <= bar_x[1])
        visible[i] = 0.0 if dark else 1.0 - hidden.mean()
        covered[i] = True if dark else joints
    return visible, covered, nearer


def scene_frames(path: Path, scenario: Scenario) -> tuple[list[SceneFrame], tuple[int, int]]:
    """The frames of one Bonn sequence under ``scenario``, and the frame size (width, height)."""
    frames, names, size_wh = load_bonn_sequence(path)
    kept = list(range(0, len(frames), scenario.frame_step))
    start = int(round(scenario.dropout_at * len(kept)))
    dark = set(kept[start:start + scenario.dropout_frames])
    scene = []
    for index in kept:
        truth, time_s = frames[index], index / FPS
        bar_x = None
        if scenario.bar_width > 0:
            width = scenario.bar_width * size_wh[0]
            left = (time_s / scenario.bar_period_s) % 1.0 * (size_wh[0] + width) - width
            bar_x = (left, left + width)
        visible, covered, nearer = occlusion(truth, bar_x, index in dark)
        scene.append(SceneFrame(truth=truth, index=index, name=Path(names[index]).name,
                                timestamp_s=time_s, dark=index in dark, bar_x=bar_x,
                                visible_fraction=visible, covered=covered,
                                depth_order=np.argsort(truth.boxes_xyxy[:, 3], kind="stable"),
                                nearer=nearer))
    return scene, size_wh


class SceneClock(SequenceClock):
    """The scene frame being processed, shared by the simulated stages."""

    def __init__(self, scene: list[SceneFrame]) -> None:
        super().__init__([s.truth for s in scene])
        self.scene = scene

    @property
    def frame(self) -> SceneFrame:
        return self.scene[self.index]


def render(frame: SceneFrame, size_wh, colours: dict[int, np.ndarray]) -> np.ndarray:
    """(H, W, 3) uint8: people as blocks of their clothes' colours (top above the hips,
    bottom below), far to near, under the grey bar; black when dark."""
    width, height = size_wh
    image = np.full((height, width, 3), BACKGROUND, np.uint8)
    if frame.dark:
        return image * 0
    truth = frame.truth
    for i in frame.depth_order:
        x1, y1, x2, y2 = np.clip(np.round(body_boxes(truth.boxes_xyxy[i])[0]), 0,
                                 [width, height] * 2).astype(int)
        hips = truth.keypoints[i, 11:13][truth.visible[i, 11:13]]
        waist = int(np.clip(hips[:, 1].mean() if len(hips) else (y1 + y2) / 2, y1, y2))
        top, bottom = colours[int(truth.track_ids[i])]
        image[y1:waist, x1:x2] = top
        image[waist:y2, x1:x2] = bottom
    if frame.bar_x is not None:
        left, right = np.clip(np.round(frame.bar_x), 0, width).astype(int)
        image[:, left:right] = OCCLUDER_GREY
    return image


class OccludingDetector:
    """Detections of the people the camera sees (see module doc)."""

    def __init__(self, clock: SceneClock, frame_size_wh, *, seed: int, miss_start=0.04,
                 miss_continue=0.6, min_visible=0.35, small_height_px=100.0,
                 false_positives_per_frame=0.2, ghost_start=0.02, ghost_continue=0.85,
                 jitter=0.04) -> None:
        self.clock, self.size = clock, np.asarray(frame_size_wh, np.float64)
        self.rng = np.random.default_rng(seed)
        self.miss_start, self.miss_continue, self.min_visible = miss_start, miss_continue, min_visible
        self.small_height_px, self.jitter = small_height_px, jitter
        self.false_positives_per_frame = false_positives_per_frame
        self.ghost_start, self.ghost_continue = ghost_start, ghost_continue
        self._missing: dict[int, bool] = {}
        self._ghosts: list[np.ndarray] = []

    def __call__(self, frame: Frame) -> Detections:
        scene = self.clock.frame
        if scene.dark:
            return Detections(boxes_xyxy=np.zeros((0, 4)), scores=np.zeros(0))
        boxes, scores = [], []
        for i, track_id in enumerate(scene.truth.track_ids.tolist()):
            box, visible = scene.truth.boxes_xyxy[i], scene.visible_fraction[i]
            if visible < self.min_visible:
                self._missing[track_id] = True
                continue
            small = max(0.0, 1.0 - (box[3] - box[1]) / self.small_height_px)
            p = (self.miss_continue if self._missing.get(track_id) else
                 self.miss_start * (1 + 3 * (1 - visible)) * (1 + 2 * small))
            self._missing[track_id] = bool(self.rng.random() < p)
            if self._missing[track_id]:
                continue
            side = np.array([box[2] - box[0], box[3] - box[1]] * 2)
            boxes.append(box + self.rng.normal(0, self.jitter * (2 - visible), 4) * side)
            scores.append(self.rng.uniform(0.5, 1.0) * (0.35 + 0.65 * visible))
        for box in self._false_positives():
            boxes.append(box)
            scores.append(self.rng.uniform(0.3, 0.7))
        return Detections(boxes_xyxy=np.reshape(boxes, (-1, 4)), scores=np.asarray(scores))

    def _random_box(self) -> np.ndarray:
        corner = self.rng.uniform([0, 0], self.size * 0.8)
        return np.concatenate([corner, corner + self.rng.uniform([30, 60], [100, 200])])

    def _false_positives(self) -> list[np.ndarray]:
        """One-frame false positives, and ghosts that stay (drifting a little) for a while."""
        self._ghosts = [g + self.rng.normal(0, 2, 4) for g in self._ghosts
                        if self.rng.random() < self.ghost_continue]
        if self.rng.random() < self.ghost_start:
            self._ghosts.append(self._random_box())
        once = [self._random_box() for _ in range(self.rng.poisson(self.false_positives_per_frame))]
        return once + list(self._ghosts)


def guessed_joints(truth: GroundTruthFrame, person: int) -> np.ndarray:
    """(17, 2) the person's joints, with the unlabelled ones (stored as 0, 0; the Bonn
    files never label nose and ears) where a network would put them: head joints at the
    head's centre, others at the box centre."""
    joints = np.array(truth.keypoints[person], np.float64)
    labelled = truth.visible[person]
    box = truth.boxes_xyxy[person]
    head = joints[1:3][labelled[1:3]]
    head_centre = head.mean(axis=0) if len(head) else np.array([(box[0] + box[2]) / 2, box[1]])
    guess = np.tile((box[:2] + box[2:]) / 2, (17, 1))
    guess[:5] = head_centre
    return np.where(labelled[:, None], joints, guess)


class OccludingPoseEstimator:
    """Poses of the people the boxes are on, with covered joints weak (see module doc)."""

    keypoint_set = POSETRACK18
    num_keypoints = 17

    def __init__(self, clock: SceneClock, *, seed: int, noise=0.03, box_noise=0.005,
                 covered_noise=0.12) -> None:
        self.clock, self.rng = clock, np.random.default_rng(seed)
        self.seed, self.noise, self.box_noise, self.covered_noise = seed, noise, box_noise, covered_noise

    def predict(self, image, boxes_xywh, box_scores=None) -> Poses:
        scene = self.clock.frame
        truth = scene.truth
        boxes = xywh_to_xyxy(np.asarray(boxes_xywh, np.float64).reshape(-1, 4))
        n = len(boxes)
        keypoints, scores = np.zeros((n, 17, 2)), np.zeros((n, 17))
        overlap = iou_matrix(boxes, truth.boxes_xyxy)
        for i, box in enumerate(boxes):
            side = max(box[2] - box[0], box[3] - box[1], 1.0)
            person = self._person(overlap[i], scene) if not scene.dark else None
            if person is None:
                keypoints[i] = self.rng.uniform(box[:2], box[2:], (17, 2))
                scores[i] = self.rng.uniform(0.0, 0.35, 17)
                continue
            covered = scene.covered[person]
            error = np.where(covered[:, None], self.rng.normal(0, self.covered_noise, (17, 2)),
                             self._error(person))
            keypoints[i] = (guessed_joints(truth, person) + error * side
                            + self.rng.normal(0, self.box_noise * side, (17, 2)))
            seen = truth.visible[person] & ~covered
            scores[i] = np.where(seen, self.rng.uniform(0.6, 1.0, 17),
                                 self.rng.uniform(0.0, 0.3, 17))
        box_scores = np.ones(n) if box_scores is None else np.asarray(box_scores)
        return Poses(keypoints=keypoints, keypoint_scores=scores, boxes_xyxy=boxes,
                     box_scores=box_scores)

    @staticmethod
    def _person(overlap: np.ndarray, scene: SceneFrame) -> int | None:
        """The person a box is posed as: the best overlap, or a nearer person whose overlap
        is at least 60 % of it (the network locks onto the front person)."""
        if not overlap.size or overlap.max() <= 0.3:
            return None
        best = int(overlap.argmax())
        front = np.flatnonzero(scene.nearer[best] & (overlap >= 0.6 * overlap[best]) &
                               (overlap > 0.3))
        return int(front[np.argmax(scene.truth.boxes_xyxy[front, 3])]) if len(front) else best

    def _error(self, person: int) -> np.ndarray:
        """(17, 2) joint errors per person size, the same for every box on that person."""
        truth = self.clock.current
        key = (self.seed, self.clock.index, int(truth.track_ids[person]) % 100003)
        return np.random.default_rng(key).normal(0, self.noise, (17, 2))


class DepthFlow:
    """Flow F(k-1 -> k): each person's box region moves with them, near over far."""

    def __init__(self, clock: SceneClock, *, seed: int, noise_px=1.0) -> None:
        self.clock, self.rng, self.noise_px = clock, np.random.default_rng(seed), noise_px

    def __call__(self, previous_bgr, current_bgr) -> np.ndarray:
        flow = np.zeros(current_bgr.shape[:2] + (2,), np.float32)
        before, after = self.clock.scene[self.clock.index - 1], self.clock.frame
        if before.dark or after.dark:
            return flow
        paint_motion(flow, before.truth, after.truth, body_boxes(before.truth.boxes_xyxy),
                     before.depth_order, self.rng, self.noise_px)
        if after.bar_x is not None:
            left, right = np.clip(np.round(after.bar_x), 0, flow.shape[1]).astype(int)
            flow[:, left:right] = 0
        return flow


def clothes(track_ids, seed: int) -> dict[int, np.ndarray]:
    """Track id -> (2, 3) uint8 top and bottom colours, drawn from ``PALETTE``."""
    return {int(t): PALETTE[np.random.default_rng((seed, int(t))).choice(len(PALETTE), 2)]
            for t in track_ids}


def run_scenario(path: Path, build_stack, scenario: Scenario, *, seed: int = 0,
                 detector_options: dict | None = None):
    """Run a per-frame stack over one sequence under ``scenario``.

    ``build_stack(detector, estimator, flow)`` gets the simulated stages (the same ``seed``
    gives the same detections for every stack) and returns ``Frame -> FrameResult``.

    Returns:
        (scene frames, list of ``FrameResult``).
    """
    scene, size_wh = scene_frames(path, scenario)
    clock = SceneClock(scene)
    stack = build_stack(OccludingDetector(clock, size_wh, seed=seed, **(detector_options or {})),
                        OccludingPoseEstimator(clock, seed=seed + 1),
                        DepthFlow(clock, seed=seed + 2))
    colours = clothes(np.unique(np.concatenate([s.truth.track_ids for s in scene])), seed)
    results = []
    for position, frame in enumerate(scene):
        clock.index = position
        results.append(stack(Frame(index=position, image=render(frame, size_wh, colours),
                                   name=frame.name, timestamp_s=frame.timestamp_s)))
    return scene, backfill_results(results)   # as posetrack-run writes them


def head_box_xywh(keypoints_xyv: np.ndarray, bbox_xywh) -> list[float]:
    """A head box from head_top and head_bottom (``HEAD_BOX_PER_HEAD_LENGTH``), or from a
    seventh of the person's box height when either is missing."""
    top, bottom = keypoints_xyv[2], keypoints_xyv[1]
    if top[2] > 0 and bottom[2] > 0:
        length, centre = float(np.hypot(*(top[:2] - bottom[:2]))), (top[:2] + bottom[:2]) / 2
    else:
        length = float(bbox_xywh[3]) / 7
        centre = np.array([bbox_xywh[0] + bbox_xywh[2] / 2, bbox_xywh[1] + length / 2])
    w, h = (max(1.0, f * length) for f in HEAD_BOX_PER_HEAD_LENGTH)
    return [float(centre[0] - w / 2), float(centre[1] - h / 2), w, h]


def write_ground_truth(path: Path, scene: list[SceneFrame], out: Path) -> None:
    """The Bonn file restricted to the frames of ``scene``, with head boxes for everyone."""
    data = json.loads(Path(path).read_text())
    names = {s.name for s in scene}
    images = [image for image in data["images"] if Path(image["file_name"]).name in names]
    kept = {image["id"] for image in images}
    annotations = []
    for annotation in data["annotations"]:
        if annotation["image_id"] not in kept:
            continue
        if len(annotation.get("bbox_head") or []) != 4:
            xyv = np.asarray(annotation["keypoints"], np.float64).reshape(17, 3)
            annotation = dict(annotation, bbox_head=head_box_xywh(xyv, annotation["bbox"]))
        annotations.append(annotation)
    out.write_text(json.dumps(dict(data, images=images, annotations=annotations)))

