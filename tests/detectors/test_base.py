"""The detector Protocol and the score filter / sort helper."""
import numpy as np
import pytest

from detectors.base import Detector, check_score_threshold, make_detections
from tracker.types import Detections, Frame


def test_make_detections_filters_and_sorts_stably():
    boxes = np.arange(16, dtype=np.float64).reshape(4, 4)
    dets = make_detections(boxes, [0.2, 0.9, 0.5, 0.9], score_threshold=0.5)
    np.testing.assert_array_equal(dets.scores, np.float32([0.9, 0.9, 0.5]))
    np.testing.assert_array_equal(dets.boxes_xyxy, boxes[[1, 3, 2]].astype(np.float32))
    assert dets.boxes_xyxy.dtype == np.float32 and dets.scores.dtype == np.float32


def test_make_detections_of_nothing():
    dets = make_detections(np.zeros((0, 4)), np.zeros(0))
    assert dets.boxes_xyxy.shape == (0, 4) and dets.scores.shape == (0,)


@pytest.mark.parametrize("value,match", [(float("nan"), "finite"), (None, "a number")])
def test_bad_score_threshold(value, match):
    with pytest.raises(ValueError, match=match):
        check_score_threshold(value)


def test_any_callable_returning_detections_is_a_detector():
    def nobody(frame: Frame) -> Detections:
        return Detections.empty()

    assert isinstance(nobody, Detector)
    frame = Frame(index=0, image=np.zeros((2, 2, 3), np.uint8), name="000000")
    assert len(nobody(frame)) == 0
