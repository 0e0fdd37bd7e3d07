"""Reading other tools' per-frame poses (PoseTrack18, COCO results, mmpose, Ultralytics) on
literal files."""
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


def _mmpose_instance(x, y, score=0.9, nested_box=True):
    keypoints = [[x + k, y + 2 * k] for k in range(17)]
    box = [x, y, x + 20, y + 40]
    return {"keypoints": keypoints, "keypoint_scores": [score] * 17,
            "bbox": [box] if nested_box else box, "bbox_score": 0.75}


def _ultralytics_detection(x, y, name="person", visible=0.6):
    return {"name": name, "class": 0, "confidence": 0.85,
            "box": {"x1": x, "y1": y, "x2": x + 20.0, "y2": y + 40.0},
            "keypoints": {"x": [x + k for k in range(17)], "y": [y + 2.0 * k for k in range(17)],
                          "visible": [visible] * 17}}


def test_mmpose_per_frame_folder_in_natural_name_order(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    (folder / "10.json").write_text(json.dumps([_mmpose_instance(100, 50)]))
    (folder / "2.json").write_text(json.dumps([_mmpose_instance(10, 20, nested_box=False),
                                               _mmpose_instance(60, 20, score=0.4)]))
    (folder / "1.json").write_text("[]")
    (folder / "notes.txt").write_text("not a frame")
    frames = read_pose_file(folder)
    assert frames.names == ["1.jpg", "2.jpg", "10.jpg"] and frames.keypoint_set == "coco"
    assert frames.sequence_name == "clip" and [len(p) for p in frames.poses] == [0, 2, 1]
    np.testing.assert_array_equal(frames.poses[2].boxes_xyxy, [[100, 50, 120, 90]])
    np.testing.assert_array_equal(frames.poses[1].boxes_xyxy[0], [10, 20, 30, 60])
    np.testing.assert_array_equal(frames.poses[1].keypoints[1, 16], [76, 52])
    assert frames.poses[1].keypoint_scores[:, 0].tolist() == pytest.approx([0.9, 0.4])
    assert frames.poses[2].box_scores.tolist() == [0.75]


def test_ultralytics_per_frame_folder_keeps_people_only(tmp_path):
    (tmp_path / "000000.json").write_text(json.dumps(
        [_ultralytics_detection(5, 6), _ultralytics_detection(50, 6, name="dog")]))
    (tmp_path / "000001.json").write_text(json.dumps([_ultralytics_detection(7, 6)]))
    frames = read_pose_file(tmp_path)
    assert frames.names == ["000000.jpg", "000001.jpg"]
    assert [len(p) for p in frames.poses] == [1, 1]
    poses = frames.poses[1]
    np.testing.assert_array_equal(poses.boxes_xyxy, [[7, 6, 27, 46]])
    np.testing.assert_array_equal(poses.keypoints[0, 3], [10, 12])
    assert poses.box_scores.tolist() == pytest.approx([0.85])
    assert poses.keypoint_scores[0, 0] == pytest.approx(0.6)


def test_mmpose_video_predictions_by_frame_id(tmp_path):
    path = tmp_path / "video.json"
    path.write_text(json.dumps([{"frame_id": 0, "instances": [_mmpose_instance(1, 2)]},
                                {"frame_id": 2, "instances": []}]))
    frames = read_pose_file(path)
    assert frames.names == ["000000.jpg", "000001.jpg", "000002.jpg"]
    assert [len(p) for p in frames.poses] == [1, 0, 0] and frames.keypoint_set == "coco"


@pytest.mark.parametrize("files, message", [
    ({}, "no .json files"),
    ({"0.json": {"people": []}}, r"0.json: expected a list of people"),
    ({"0.json": [{"keypoints": [[1, 2]] * 17}]}, r"0.json: \[0\]: expected an mmpose instance"),
    ({"0.json": [dict(_mmpose_instance(0, 0), keypoint_scores=[1] * 3)]},
     r"\[0\].keypoint_scores: expected 17 numbers"),
    ({"0.json": [dict(_mmpose_instance(0, 0), keypoints=[[1, 2, 3]] * 17)]},
     r"\[0\].keypoints: expected 17 \[x, y\] pairs"),
    ({"0.json": [dict(_ultralytics_detection(0, 0), box={"x1": 1})]}, r"\[0\].box: expected"),
    ({"0.json": [dict(_ultralytics_detection(0, 0), confidence=None)]},
     r"\[0\].confidence: expected a finite number"),
    ({"0.json": [{"keypoints": {"x": [0.1] * 17, "y": [0.2] * 17},
                  "box": {"x1": 0.1, "y1": 0.1, "x2": 0.3, "y2": 0.5}}]},
     r"0.json: every coordinate is within \[0, 1\]"),
])
def test_bad_frame_folders_name_the_file_entry_and_field(tmp_path, files, message):
    folder = tmp_path / "bad"
    folder.mkdir()
    for name, document in files.items():
        (folder / name).write_text(json.dumps(document))
    with pytest.raises(FileFormatError, match=message) as info:
        read_pose_file(folder)
    assert "bad" in str(info.value)


def test_bad_mmpose_video_entry_names_the_field(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"frame_id": "first", "instances": []}]))
    with pytest.raises(FileFormatError, match=r"bad.json: \[0\].frame_id: expected the 0-based"):
        read_pose_file(path)
