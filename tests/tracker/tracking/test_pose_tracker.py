"""PoseTracker on real motion: re-tracking the ground-truth poses of the Bonn PoseTrack
sequences (every person labelled in every frame) with noise, dropped detections and false
positives must recover the ids."""
import json

import motmetrics as mm
import numpy as np
import pytest

from tests.shared_data import shared_path
from tracker.tracking.pose_tracker import PoseTracker
from tracker.types import Poses
from tracker.pose.zoo import keypoint_sets

SIGMAS = keypoint_sets()["posetrack18"].oks_sigmas
SEQUENCES = ["000001", "000015", "000026", "47476901", "5997927"]


def load_sequence(name):
    path = shared_path("data", "bonn-posetrack", "train", f"{name}_bonn_train.json")
    data = json.loads(path.read_text())
    frames = {image["id"]: [] for image in data["images"]}
    for ann in data["annotations"]:
        frames[ann["image_id"]].append(ann)
    return [frames[image["id"]] for image in data["images"]]


def perturb(frame, rng, noise_px, drop_rate, false_positives):
    """GT annotations -> (Poses, gt ids, origin of each pose: GT index or -1)."""
    keypoints, scores, boxes, origin = [], [], [], []
    for i, ann in enumerate(frame):
        if rng.random() < drop_rate:
            continue
        kpts = np.asarray(ann["keypoints"], np.float32).reshape(-1, 3)
        x, y, w, h = ann["bbox"]
        keypoints.append(kpts[:, :2] + rng.normal(0, noise_px, (len(kpts), 2)))
        scores.append(np.where(kpts[:, 2] > 0, 0.9, 0.0))
        boxes.append([x, y, x + w, y + h])
        origin.append(i)
    for _ in range(false_positives):
        center = rng.uniform([0, 0], [1000, 600])
        keypoints.append(center + rng.normal(0, 40, (17, 2)))
        scores.append(np.full(17, 0.5))
        boxes.append(np.concatenate([center - 60, center + 60]))
        origin.append(-1)
    n = len(keypoints)
    poses = Poses(keypoints=np.reshape(keypoints, (n, 17, 2)), keypoint_scores=np.reshape(
        scores, (n, 17)), boxes_xyxy=np.reshape(boxes, (n, 4)), box_scores=np.ones(n))
    return poses, np.asarray(origin, int)


def retrack(name, tracker, seed=0, **noise):
    rng = np.random.default_rng(seed)
    accumulator = mm.MOTAccumulator(auto_id=True)
    for frame in load_sequence(name):
        poses, origin = perturb(frame, rng, **noise)
        ids = tracker.update(poses)
        gt_ids = [ann["track_id"] for ann in frame]
        distances = np.full((len(gt_ids), len(ids)), np.nan)
        for column, source in enumerate(origin):
            if source >= 0:
                distances[source, column] = 0.0
        accumulator.update(gt_ids, list(ids), distances)
    summary = mm.metrics.create().compute(accumulator, metrics=["mota", "num_switches"])
    return float(summary["mota"].iloc[0]), int(summary["num_switches"].iloc[0])


@pytest.mark.parametrize("similarity", ["oks", "flow_oks", "iou"])
@pytest.mark.parametrize("matcher", ["greedy", "hungarian"])
@pytest.mark.parametrize("sequence", SEQUENCES)
def test_clean_ground_truth_keeps_ids(sequence, matcher, similarity):
    """Exact GT poses keep their ids. In the crowd of 000015 people leave through the left
    border with 2-3 labelled joints and boxes of (almost) zero width: box IoU is then 0 and
    gives 5 switches; OKS (area floored at ``min_area``) keeps all but one."""
    tracker = PoseTracker(oks_sigmas=SIGMAS, similarity=similarity, matcher=matcher)
    mota, switches = retrack(sequence, tracker, noise_px=0.0, drop_rate=0.0, false_positives=0)
    objects = sum(len(f) for f in load_sequence(sequence))
    limit = 0 if sequence != "000015" else (5 if similarity == "iou" else 1)
    assert switches <= limit and mota >= 1.0 - limit / objects - 1e-9


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("similarity", ["flow_oks", "iou"])
@pytest.mark.parametrize("case,noise", [
    ("jitter", dict(noise_px=4.0, drop_rate=0.0, false_positives=0)),
    ("drops", dict(noise_px=2.0, drop_rate=0.15, false_positives=0)),
    ("false_positives", dict(noise_px=2.0, drop_rate=0.0, false_positives=1)),
])
def test_noisy_ground_truth_recovers_ids(sequence, similarity, case, noise):
    """MOTA loses only what the perturbation removes or adds (misses, false positives), and
    id switches stay under 1% of the ground-truth objects (the crowded, small-person
    sequence 000015 is the hard one)."""
    frames = load_sequence(sequence)
    objects = sum(len(f) for f in frames)
    tracker = PoseTracker(oks_sigmas=SIGMAS, similarity=similarity, history_frames=3,
                          max_age_frames=5)
    mota, switches = retrack(sequence, tracker, **noise)
    expected = 1.0 - noise["drop_rate"] - noise["false_positives"] * len(frames) / objects
    assert switches <= 0.01 * objects, f"{case}: {switches} id switches in {objects} objects"
    assert mota >= expected - 0.03, f"{case}: MOTA {mota:.3f}, expected about {expected:.3f}"


def test_ids_are_instance_owned_and_reset():
    first, second = PoseTracker(oks_sigmas=SIGMAS), PoseTracker(oks_sigmas=SIGMAS)
    poses, _ = perturb(load_sequence("000001")[0], np.random.default_rng(0), 0.0, 0.0, 0)
    assert list(first.update(poses)) == list(second.update(poses)) == list(range(len(poses)))
    first.reset()
    assert list(first.update(poses)) == list(range(len(poses)))


def test_empty_frames():
    tracker = PoseTracker(oks_sigmas=SIGMAS)
    assert tracker.update(Poses.empty(17)).shape == (0,)


@pytest.mark.parametrize("kwargs,message", [
    ({"similarity": "cosine"}, "similarity must be one of"),
    ({"matcher": "auction"}, "matcher must be one of"),
    ({"history_frames": 0}, "history_frames"),
    ({"max_age_frames": -1}, "max_age_frames"),
])
def test_invalid_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PoseTracker(oks_sigmas=SIGMAS, **kwargs)
