"""Pipeline: the whole frame loop on real motion (Bonn PoseTrack
sequences replayed through simulated detector, pose network and flow, tests/tracking_sim)."""
import numpy as np
import pytest

import time

from tests.shared_data import shared_path
from tests.tracking_sim import box_mota, simulate
from tracker.pose.zoo import keypoint_sets
from tracker.tracking.pipeline import Pipeline
from tracker.tracking.pose_tracker import PoseTracker
from tracker.types import Detections, Frame, Poses

SIGMAS = np.array(keypoint_sets()["coco"].oks_sigmas)


def _bonn(name):
    return shared_path("data", "bonn-posetrack", "train", f"{name}_bonn_train.json")


class _CountingDetector:
    def __init__(self, boxes):
        self.boxes, self.calls = boxes, 0

    def __call__(self, frame):
        self.calls += 1
        return Detections(boxes_xyxy=self.boxes, scores=np.full(len(self.boxes), 0.9))


class _StaticEstimator:
    """People standing still: a box gets the pose of the person nearest its center, like a
    network that finds the same person whatever the exact box."""

    keypoint_set = keypoint_sets()["coco"]
    num_keypoints = 17

    def __init__(self, boxes_xyxy):
        grid = np.linspace(0, 1, 17)[:, None]
        boxes = np.asarray(boxes_xyxy, np.float64)
        self.people = boxes[:, None, :2] + grid * (boxes[:, None, 2:] - boxes[:, None, :2])

    def predict(self, image, boxes_xywh, box_scores=None):
        boxes = np.asarray(boxes_xywh, np.float64).reshape(-1, 4)
        centers = boxes[:, :2] + boxes[:, 2:] / 2
        distance = np.linalg.norm(centers[:, None] - self.people.mean(axis=1)[None], axis=2)
        keypoints = self.people[distance.argmin(axis=1)] if len(boxes) else np.zeros((0, 17, 2))
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        return Poses(keypoints=keypoints, keypoint_scores=np.full((len(boxes), 17), 0.9),
                     boxes_xyxy=xyxy, box_scores=np.ones(len(boxes)) if box_scores is None
                     else box_scores)


def _zero_flow(previous, current):
    return np.zeros(current.shape[:2] + (2,), np.float32)


def _frames(n, size=(120, 160)):
    return [Frame(index=i, image=np.zeros(size + (3,), np.uint8), name=f"{i:06d}.jpg")
            for i in range(n)]


def test_detect_every_runs_the_detector_on_every_nth_frame_and_keeps_ids():
    detector = _CountingDetector(np.array([[10, 10, 50, 90], [80, 10, 120, 90]], np.float32))
    pipeline = Pipeline(detector=detector, estimator=_StaticEstimator(detector.boxes),
                        tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_zero_flow, detect_every=3)
    results = [pipeline(frame) for frame in _frames(9)]
    assert detector.calls == 3
    assert all(sorted(r.track_ids.tolist()) == [0, 1] for r in results)
    assert set(pipeline.stage_seconds) == {"detect", "flow", "pose", "associate"}


def test_stage_seconds_time_each_stage():
    """Each stage's time lands in its own counter: a detector taking 20 ms on each of 3
    detection frames and a pose network taking 10 ms on each of 9 frames."""
    class _SlowDetector(_CountingDetector):
        def __call__(self, frame):
            time.sleep(0.02)
            return super().__call__(frame)

    detector = _SlowDetector(np.array([[10, 10, 50, 90]], np.float32))
    estimator = _StaticEstimator(detector.boxes)
    original = estimator.predict
    estimator.predict = lambda *a, **k: time.sleep(0.01) or original(*a, **k)
    pipeline = Pipeline(detector=detector, estimator=estimator,
                        tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_zero_flow, detect_every=3)
    for frame in _frames(9):
        pipeline(frame)
    seconds = pipeline.stage_seconds
    assert 0.06 <= seconds["detect"] < 0.09 + 0.06    # 3 calls, not 9, not in "pose"
    assert 0.09 <= seconds["pose"] < 0.06 + 0.09 + 0.06
    assert 0 < seconds["flow"] < 0.05 and 0 < seconds["associate"] < 0.05


def test_resolution_change_starts_new_tracks():
    """A stream that changes resolution starts over: the person of the first frame is not
    propagated into the second (its pixels mean nothing there), ids restart from 0."""
    before, after = [10, 10, 50, 90], [55, 10, 95, 90]
    detector = _CountingDetector(np.array([before], np.float32))
    pipeline = Pipeline(detector=detector, estimator=_StaticEstimator([before, after]),
                        tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_zero_flow)
    first = pipeline(_frames(1)[0])
    detector.boxes = np.array([after], np.float32)
    second = pipeline(_frames(1, size=(100, 100))[0])
    assert first.track_ids.tolist() == [0] and second.track_ids.tolist() == [0]
    np.testing.assert_allclose(second.poses.boxes_xyxy, [after])
    assert pipeline.tracker.num_tracks == 1
    # the same change of person without a change of resolution: a second track
    pipeline.reset()
    detector.boxes = np.array([before], np.float32)
    pipeline(_frames(1)[0])
    detector.boxes = np.array([after], np.float32)
    assert sorted(pipeline(_frames(1)[0]).track_ids.tolist()) == [0, 1]


def test_no_people_gives_empty_results():
    pipeline = Pipeline(detector=_CountingDetector(np.zeros((0, 4), np.float32)),
                        estimator=_StaticEstimator(np.zeros((1, 4))),
                        tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_zero_flow)
    for frame in _frames(3):
        result = pipeline(frame)
        assert len(result) == 0 and result.track_ids.shape == (0,)
        assert result.poses.keypoints.shape == (0, 17, 2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(flow=None), "need optical flow"),
    (dict(detect_every=0), "detect_every"),
    (dict(detect_every=2, propagate=False, flow=_zero_flow), "needs propagate"),
    (dict(nms_threshold=1.5), "nms_threshold"),
    (dict(max_propagated_frames=-1), "max_propagated_frames"),
])
def test_invalid_parameters(kwargs, message):
    options = dict(detector=_CountingDetector(np.zeros((0, 4))),
                   estimator=_StaticEstimator(np.zeros((1, 4))),
                   tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_zero_flow)
    with pytest.raises(ValueError, match=message):
        Pipeline(**{**options, **kwargs})


def _run(sequence, tracker_options, pipeline_options, use_flow, seed=0):
    frames, _, results = simulate(_bonn(sequence), tracker_options=tracker_options,
                                  pipeline_options=pipeline_options, use_flow=use_flow, seed=seed)
    return box_mota(frames, results)


@pytest.mark.parametrize("sequence", ["000001", "000015", "000026"])
def test_flow_propagation_beats_greedy_iou_tracking_on_real_motion(sequence):
    """The paper's claims on real motion with bursty missed detections: box propagation
    recovers most missed people, and flow-OKS keeps ids better than box IoU (mmpose's demo
    tracker: greedy IoU >= 0.3, no flow)."""
    baseline = _run(sequence, dict(similarity="iou", min_similarity=0.3, max_age_frames=0),
                    dict(propagate=False), use_flow=False)
    paper = _run(sequence, dict(similarity="flow_oks"), dict(), use_flow=True)
    assert paper["num_misses"] < 0.35 * baseline["num_misses"]
    assert paper["num_switches"] < baseline["num_switches"]
    assert paper["mota"] > baseline["mota"] + 0.05


def test_propagation_stops_when_nobody_is_left():
    """After the last detection of a person, propagated poses die out: poses in empty boxes
    are low-confidence and dropped, and max_propagated_frames bounds the rest."""
    detector = _CountingDetector(np.array([[10, 10, 50, 90]], np.float32))

    class _Vanishing(_StaticEstimator):
        def predict(self, image, boxes_xywh, box_scores=None):
            poses = super().predict(image, boxes_xywh, box_scores)
            if detector.boxes.size == 0:            # the person left: weak heatmaps
                poses.keypoint_scores[:] = 0.1
            return poses

    pipeline = Pipeline(detector=detector, estimator=_Vanishing(detector.boxes),
                        tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_zero_flow)
    frames = _frames(6)
    assert len(pipeline(frames[0])) == 1
    detector.boxes = np.zeros((0, 4), np.float32)
    assert [len(pipeline(f)) for f in frames[1:]] == [0] * 5


def test_max_propagated_frames_bounds_a_track_kept_alive_by_flow_only():
    detector = _CountingDetector(np.array([[10, 10, 50, 90]], np.float32))
    pipeline = Pipeline(detector=detector, estimator=_StaticEstimator(detector.boxes),
                        tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_zero_flow,
                        max_propagated_frames=3)
    frames = _frames(8)
    pipeline(frames[0])
    detector.boxes = np.zeros((0, 4), np.float32)
    counts = [len(pipeline(f)) for f in frames[1:]]
    assert counts == [1, 1, 1, 0, 0, 0, 0]


def test_paper_tracking_beats_mmpose_demo_tracking_in_poseval_numbers():
    """Scored like the challenge (PoseTrack18 MOTA, poseval's numbers via tracker.eval) on
    the Bonn sequences with head boxes, the paper's thresholds for output."""
    from tests.tracking_sim import VARIANTS, poseval_scores

    folder = _bonn("000001").parent
    demo = poseval_scores(folder, *VARIANTS["greedy IoU (mmpose demo)"], seed=0)
    paper = poseval_scores(folder, *VARIANTS["flow-OKS + propagation (default)"], seed=0)
    assert paper.mota["total"] > demo.mota["total"] + 10
    assert paper.recall > demo.recall + 10 and paper.ap["total"] > demo.ap["total"] + 5


def test_max_people_poses_the_best_detections_first():
    boxes = np.array([[0, 0, 20, 40], [30, 0, 50, 40], [60, 0, 80, 40]], np.float32)

    class _Scored(_CountingDetector):
        def __call__(self, frame):
            self.calls += 1
            return Detections(boxes_xyxy=self.boxes, scores=np.array([0.4, 0.9, 0.6]))

    detector = _Scored(boxes)
    pipeline = Pipeline(detector=detector, estimator=_StaticEstimator(boxes),
                        tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_zero_flow, max_people=2)
    result = pipeline(_frames(1)[0])
    np.testing.assert_allclose(np.sort(result.poses.box_scores), [0.6, 0.9])
    with pytest.raises(ValueError, match="max_people"):
        Pipeline(detector=detector, estimator=_StaticEstimator(boxes),
                 tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_zero_flow, max_people=-1)


def test_pose_every_moves_poses_by_flow_in_between():
    """pose_every=2: detector and pose network on frames 0, 2, 4; frames 1, 3, 5 get each
    track's pose moved by the flow (here 3 px to the right per frame), same ids."""
    boxes = np.array([[10, 10, 50, 90], [80, 10, 120, 90]], np.float32)
    detector = _CountingDetector(boxes)
    estimator = _StaticEstimator(boxes)
    calls = []
    original = estimator.predict
    estimator.predict = lambda *a, **k: calls.append(1) or original(*a, **k)

    def shift_flow(previous, current):
        flow = np.zeros(current.shape[:2] + (2,), np.float32)
        flow[..., 0] = 3.0
        return flow

    pipeline = Pipeline(detector=detector, estimator=estimator,
                        tracker=PoseTracker(oks_sigmas=SIGMAS), flow=shift_flow, pose_every=2)
    results = [pipeline(frame) for frame in _frames(6)]
    assert len(calls) == 3 and detector.calls == 3
    assert all(sorted(r.track_ids.tolist()) == [0, 1] for r in results)
    for before, after in zip(results[0::2], results[1::2]):
        order_b, order_a = np.argsort(before.track_ids), np.argsort(after.track_ids)
        np.testing.assert_allclose(after.poses.keypoints[order_a] - before.poses.keypoints[order_b],
                                   np.broadcast_to([3.0, 0.0], (2, 17, 2)), atol=1e-4)
        np.testing.assert_allclose(after.poses.boxes_xyxy[order_a] - before.poses.boxes_xyxy[order_b],
                                   np.broadcast_to([3.0, 0.0, 3.0, 0.0], (2, 4)), atol=1e-4)
    with pytest.raises(ValueError, match="pose_every"):
        Pipeline(detector=detector, estimator=estimator, tracker=PoseTracker(
            oks_sigmas=SIGMAS, similarity="oks"), flow=None, propagate=False, pose_every=2)
