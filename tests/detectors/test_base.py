"""The detector Protocol, the score filter / sort helper and the table of named detectors."""
import json

import numpy as np
import pytest

from detectors import DETECTORS, MMDET_API_OPTIONS, load_detector
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


def test_load_detector_names_the_valid_detectors():
    with pytest.raises(ValueError, match=r"unknown detector 'yolo9000'; valid names are: "
                                         r"rtmdet-nano, detections, posetrack-gt, .*"
                                         r"or mmdet:CONFIG:CHECKPOINT"):
        load_detector("yolo9000")
    with pytest.raises(ValueError, match="detector 'detections' needs checkpoint= the path"):
        load_detector("detections")


def test_load_detector_builds_from_the_table_and_ignores_progress_for_files(tmp_path):
    annotations = tmp_path / "gt.json"
    annotations.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "images/val/seq/000000.jpg"}],
        "annotations": [{"image_id": 7, "bbox": [10, 20, 30, 40], "category_id": 1,
                         "keypoints": [15, 25, 1] * 17, "track_id": 0}]}))
    detector = load_detector("posetrack-gt", annotations, progress=False, padding=1.0)
    assert isinstance(detector, DETECTORS["posetrack-gt"].detector_class)
    frame = Frame(index=0, image=np.zeros((100, 100, 3), np.uint8), name="000000.jpg")
    np.testing.assert_array_equal(detector(frame).boxes_xyxy, np.float32([[10, 20, 40, 60]]))
    with pytest.raises(TypeError, match="unexpected keyword argument 'score_threshold'"):
        load_detector("posetrack-gt", annotations, score_threshold=0.5)
    assert "score_threshold" not in DETECTORS["posetrack-gt"].options


def test_short_mmdet_names_share_the_zoo_entry():
    assert DETECTORS["cascade-rcnn-x101"] is DETECTORS["cascade_rcnn_x101_64x4d_fpn_20e_coco"]
    assert set(MMDET_API_OPTIONS) == {"score_threshold", "person_label"}
