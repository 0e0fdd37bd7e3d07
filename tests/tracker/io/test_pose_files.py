"""Reading other tools' per-frame poses (PoseTrack18, COCO results) on literal files."""
import json

import numpy as np
import pytest

from tracker.errors import FileFormatError
from tracker.io.pose_files import read_pose_file


def _triplets(x, y, v=1.0):
    return [value for k in range(17) for value in (x + k, y + 2 * k, v)]


def test_posetrack18_frames_in_image_order_scores_and_boxes(tmp_path):
    path = tmp_path / "seq.json"
    path.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "images/val/seq/000001.jpg"},
                   {"id": 3, "file_name": "images/val/seq/000000.jpg"}],
        "annotations": [
            {"image_id": 3, "track_id": 5, "keypoints": _triplets(10, 20), "score": 0.5,
             "bbox": [1, 2, 30, 40]},
            {"image_id": 3, "keypoints": _triplets(50, 60, 0.0)[:3] + _triplets(50, 60)[3:],
             "scores": [0.9] * 17}]}))
    frames = read_pose_file(path)
    assert frames.sequence_name == "images/val/seq" and frames.keypoint_set == "posetrack18"
    assert frames.names == ["000001.jpg", "000000.jpg"]
    assert [len(p) for p in frames.poses] == [0, 2]
    poses = frames.poses[1]
    np.testing.assert_array_equal(poses.boxes_xyxy[0], [1, 2, 31, 42])
    assert poses.box_scores.tolist() == [0.5, 1.0]
    assert poses.keypoint_scores[1, 0] == 0 and poses.keypoint_scores[1, 1] == pytest.approx(0.9)
    np.testing.assert_array_equal(poses.boxes_xyxy[1], [51, 62, 66, 92])   # present joints only


def test_coco_results_frames_by_image_id(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps([{"image_id": 2, "category_id": 1, "score": 0.8,
                                 "keypoints": _triplets(0, 0, 0.7)}]))
    frames = read_pose_file(path)
    assert frames.keypoint_set == "coco" and frames.names == ["000000.jpg", "000001.jpg",
                                                             "000002.jpg"]
    assert [len(p) for p in frames.poses] == [0, 0, 1]
    assert frames.poses[2].keypoint_scores[0, 0] == pytest.approx(0.7)


@pytest.mark.parametrize("document, message", [
    ([{"image_id": 0, "keypoints": [1, 2, 3]}], r"\[0\].keypoints: expected 51 numbers"),
    ([{"image_id": -1, "keypoints": _triplets(0, 0)}], r"\[0\].image_id: expected the 0-based"),
    ([{"image_id": 0, "keypoints": _triplets(0, 0), "score": "high"}], r"\[0\].score"),
    ({"images": [{"id": 1, "file_name": "a/0.jpg"}],
      "annotations": [{"image_id": 2, "keypoints": _triplets(0, 0)}]},
     r"annotations\[0\].image_id: 2 is the id of no entry"),
    ("text", "expected a PoseTrack18 file"),
    ([], "no entries"),
])
def test_bad_files_name_the_file_entry_and_field(tmp_path, document, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(FileFormatError, match=message) as info:
        read_pose_file(path)
    assert "bad.json" in str(info.value)
