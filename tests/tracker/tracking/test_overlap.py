"""run_overlapped gives what run_sequential gives, bounds its look-ahead and cleans up."""
import threading
import time

import numpy as np
import pytest

from tests.tracker.tracking.test_pipeline import SIGMAS, _StaticEstimator
from tracker.tracking.overlap import read_ahead, run_frames, run_overlapped, run_sequential
from tracker.tracking.pipeline import Pipeline
from tracker.tracking.pose_tracker import PoseTracker
from tracker.tracking.robust_tracker import RobustPoseTracker
from tracker.types import Detections, Frame

#: Two walkers' boxes at frame 0 and their motion per frame (px).
START_XYXY = np.array([[10, 10, 50, 90], [100, 20, 140, 100]], np.float64)
STEP_XY = np.array([[3.0, 0.5], [-2.0, 0.0]])


def _scene_frame(index, size=(120, 160)):
    """A frame whose pixels say its index (the detector and flow read it from the image)."""
    image = np.zeros(size + (3,), np.uint8)
    image[0, 0] = index % 256
    image[0, 1] = index // 256
    return Frame(index=index, image=image, name=f"{index:06d}.jpg", timestamp_s=index / 30)


def _index_of(image):
    return int(image[0, 0, 0]) + 256 * int(image[0, 1, 0])


class _ImageDetector:
    """Boxes that depend only on the frame's pixels: walkers, one missed every 5th frame,
    a one-frame false positive every 7th; records the threads it ran in."""

    def __init__(self):
        self.threads = set()

    def __call__(self, frame):
        self.threads.add(threading.current_thread().name)
        index = _index_of(frame.image)
        boxes = START_XYXY + np.tile(STEP_XY * index, 2)
        if index % 5 == 4:
            boxes = boxes[:1]
        if index % 7 == 3:
            boxes = np.concatenate([boxes, [[60, 60, 80, 100]]])
        return Detections(boxes_xyxy=boxes.astype(np.float32),
                          scores=np.linspace(0.9, 0.5, len(boxes)).astype(np.float32))


class _ImageFlow:
    """The walkers' true motion over their regions, from the two frames' indices; records
    the threads it ran in."""

    def __init__(self):
        self.threads = set()

    def __call__(self, previous, current):
        self.threads.add(threading.current_thread().name)
        flow = np.zeros(current.shape[:2] + (2,), np.float32)
        steps = _index_of(current) - _index_of(previous)
        for box, step in zip(START_XYXY + np.tile(STEP_XY * _index_of(previous), 2), STEP_XY):
            x1, y1, x2, y2 = np.clip(box, 0, [current.shape[1], current.shape[0]] * 2).astype(int)
            flow[y1:y2, x1:x2] = step * steps
        return flow


class _WalkingEstimator(_StaticEstimator):
    """A pose spread over each box (so flow-propagated boxes get poses too)."""

    def __init__(self):
        super().__init__(START_XYXY)

    def predict(self, image, boxes_xywh, box_scores=None):
        poses = super().predict(image, boxes_xywh, box_scores)
        boxes = poses.boxes_xyxy
        grid = np.linspace(0, 1, 17)[:, None]
        poses.keypoints[:] = boxes[:, None, :2] + grid * (boxes[:, None, 2:] - boxes[:, None, :2])
        return poses


def _pipeline(tracker_class=PoseTracker, **options):
    return Pipeline(detector=_ImageDetector(), estimator=_WalkingEstimator(),
                    tracker=tracker_class(oks_sigmas=SIGMAS), flow=_ImageFlow(), **options)


def _same(first, second):
    assert len(first) == len(second)
    for (frame_a, a), (frame_b, b) in zip(first, second):
        assert frame_a.index == frame_b.index == a.index == b.index
        np.testing.assert_array_equal(a.track_ids, b.track_ids)
        np.testing.assert_array_equal(a.poses.keypoints, b.poses.keypoints)
        np.testing.assert_array_equal(a.poses.boxes_xyxy, b.poses.boxes_xyxy)
        np.testing.assert_array_equal(a.poses.keypoint_scores, b.poses.keypoint_scores)


@pytest.mark.parametrize("tracker_class", [PoseTracker, RobustPoseTracker])
@pytest.mark.parametrize("options", [{}, {"detect_every": 3}, {"pose_every": 2}])
@pytest.mark.parametrize("ahead", [1, 4])
def test_overlapped_results_equal_sequential_ones(tracker_class, options, ahead):
    frames = [_scene_frame(i) for i in range(30)]
    frames[20:] = [_scene_frame(i, size=(100, 150)) for i in range(20, 30)]   # new resolution
    sequential = list(run_sequential(_pipeline(tracker_class, **options), frames))
    pipeline = _pipeline(tracker_class, **options)
    overlapped = list(run_overlapped(pipeline, iter(frames), ahead=ahead))
    _same(sequential, overlapped)
    assert max(len(result) for _, result in sequential) >= 2     # the scene has people
    assert len({int(i) for _, r in sequential for i in r.track_ids}) >= 2
    caller = threading.current_thread().name     # flow (and detection) ran ahead, elsewhere
    assert pipeline.flow.threads and caller not in pipeline.flow.threads
    assert (caller not in pipeline.detector.threads) == pipeline.detects_every_frame


class _BatchDetector(_ImageDetector):
    """``_ImageDetector`` with ``detect_batch``; records the batch sizes."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def detect_batch(self, frames):
        self.batches.append(len(frames))
        return [self(frame) for frame in frames]


@pytest.mark.parametrize("overlap", [False, True])
def test_a_detect_window_batches_frames_and_changes_no_result(overlap):
    frames = [_scene_frame(i) for i in range(11)]
    expected = list(run_frames(_pipeline(RobustPoseTracker), frames, overlap=False))
    pipeline = Pipeline(detector=_BatchDetector(), estimator=_WalkingEstimator(),
                        tracker=RobustPoseTracker(oks_sigmas=SIGMAS), flow=_ImageFlow(),
                        detect_window=4)
    _same(expected, list(run_frames(pipeline, iter(frames), overlap=overlap, ahead=2)))
    assert pipeline.detector.batches == [4, 4, 3]      # 11 frames: the last call gets 3
    assert pipeline.window == 4


def test_a_detect_window_needs_detect_batch_and_is_1_without_every_frame_detected():
    with pytest.raises(ValueError, match="detect_batch"):
        _pipeline(detect_window=2)
    with pytest.raises(ValueError, match="detect_window must be >= 1"):
        Pipeline(detector=_BatchDetector(), estimator=_WalkingEstimator(),
                 tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_ImageFlow(), detect_window=0)
    pipeline = Pipeline(detector=_BatchDetector(), estimator=_WalkingEstimator(),
                        tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_ImageFlow(),
                        detect_window=4, detect_every=2)
    assert pipeline.window == 1
    list(run_frames(pipeline, [_scene_frame(i) for i in range(6)]))
    assert pipeline.detector.batches == []


def test_run_frames_chooses_the_path():
    frames = [_scene_frame(i) for i in range(6)]
    _same(list(run_frames(_pipeline(), frames, overlap=False)),
          list(run_frames(_pipeline(), frames, overlap=True)))


def test_read_ahead_is_bounded_and_raises_the_source_error_in_place():
    pulled = []

    def source():
        for i in range(100):
            pulled.append(i)
            if i == 50:
                raise OSError("frame 50 is corrupt")
            yield i

    stream = read_ahead(source(), ahead=3)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    time.sleep(0.3)
    assert len(pulled) <= 5 + 3 + 1          # queue of 3 plus the one waiting to be put
    got = []
    with pytest.raises(OSError, match="frame 50 is corrupt"):
        for item in stream:
            got.append(item)
    assert got == list(range(5, 50))


def test_closing_early_stops_the_threads_and_the_source():
    pulled = []

    def endless():
        i = 0
        while True:
            pulled.append(i)
            yield _scene_frame(i)
            i += 1

    results = run_overlapped(_pipeline(), endless(), ahead=2)
    assert [frame.index for frame, _ in (next(results) for _ in range(3))] == [0, 1, 2]
    results.close()
    count = len(pulled)
    time.sleep(0.3)
    assert len(pulled) == count              # nothing reads after close
    assert not [t for t in threading.enumerate() if t.name.startswith("posetrack-")]


def test_an_error_while_preparing_reaches_the_caller():
    pipeline = _pipeline()

    def broken_flow(previous, current):
        raise RuntimeError("flow failed")

    pipeline.flow = broken_flow
    results = run_overlapped(pipeline, [_scene_frame(i) for i in range(5)])
    with pytest.raises(RuntimeError, match="flow failed"):
        list(results)
    assert not [t for t in threading.enumerate() if t.name.startswith("posetrack-")]


@pytest.mark.parametrize("ahead", [0, -1])
def test_ahead_must_be_positive(ahead):
    with pytest.raises(ValueError, match="ahead must be >= 1"):
        list(run_overlapped(_pipeline(), [], ahead=ahead))
    with pytest.raises(ValueError, match="ahead must be >= 1"):
        list(read_ahead([], ahead=ahead))


class _WindowEstimator(_WalkingEstimator):
    """``_WalkingEstimator`` with ``predict_frames``; records the frames and boxes of each
    shared call and the boxes posed in each frame's own turn."""

    def __init__(self):
        super().__init__()
        self.shared_calls = []          # (frames, boxes) per predict_frames call
        self.turn_boxes = []            # boxes per predict call

    def predict(self, image, boxes_xywh, box_scores=None):
        self.turn_boxes.append(len(np.asarray(boxes_xywh).reshape(-1, 4)))
        return super().predict(image, boxes_xywh, box_scores)

    def predict_frames(self, images, boxes_xywh, box_scores):
        self.shared_calls.append((len(images), sum(len(b) for b in boxes_xywh)))
        return [_WalkingEstimator.predict(self, image, boxes, scores)
                for image, boxes, scores in zip(images, boxes_xywh, box_scores)]


@pytest.mark.parametrize("tracker_class", [PoseTracker, RobustPoseTracker])
@pytest.mark.parametrize("max_people", [0, 2])
@pytest.mark.parametrize("overlap", [False, True])
def test_a_pose_window_poses_the_detector_boxes_ahead_and_changes_no_result(
        tracker_class, max_people, overlap):
    frames = [_scene_frame(i) for i in range(11)]      # every 7th: a third box (cap 2 drops it)
    alone = _WindowEstimator()
    expected = list(run_frames(Pipeline(detector=_ImageDetector(), estimator=alone,
                                        tracker=tracker_class(oks_sigmas=SIGMAS),
                                        flow=_ImageFlow(), max_people=max_people),
                               frames, overlap=False))
    estimator = _WindowEstimator()
    pipeline = Pipeline(detector=_ImageDetector(), estimator=estimator,
                        tracker=tracker_class(oks_sigmas=SIGMAS), flow=_ImageFlow(),
                        max_people=max_people, pose_window=4)
    _same(expected, list(run_frames(pipeline, iter(frames), overlap=overlap, ahead=2)))
    assert pipeline.window == 4
    assert [calls for calls, _ in estimator.shared_calls] == [4, 4, 3]
    detected = sum(min(len(_ImageDetector()(f)), max_people or 99) for f in frames)
    assert sum(boxes for _, boxes in estimator.shared_calls) == detected
    assert not alone.shared_calls and sum(alone.turn_boxes) > detected   # + propagated boxes
    # the frames' own turns pose only the boxes that propagation added
    assert len(estimator.turn_boxes) == 11
    assert sum(estimator.turn_boxes) == sum(alone.turn_boxes) - detected


def test_a_pose_window_batches_detections_by_detect_window_and_needs_every_frame_detected():
    with pytest.raises(ValueError, match="pose_window must be >= 1"):
        _pipeline(pose_window=0)
    pipeline = Pipeline(detector=_BatchDetector(), estimator=_WindowEstimator(),
                        tracker=PoseTracker(oks_sigmas=SIGMAS), flow=_ImageFlow(),
                        detect_window=2, pose_window=4)
    list(run_frames(pipeline, [_scene_frame(i) for i in range(11)], overlap=False))
    assert pipeline.detector.batches == [2, 2, 2, 2, 2]    # the 11th frame alone: detector()
    assert [calls for calls, _ in pipeline.estimator.shared_calls] == [4, 4, 3]
    pipeline = _pipeline(pose_window=4, pose_every=2)
    assert pipeline.window == 1                         # detection depends on the tracks
