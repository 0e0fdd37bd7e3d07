"""Ground-truth boxes of PoseTrack18 files as a detector: real files, skips, bad input."""
import json

import numpy as np
import pytest

from detectors.files import DetectionsFileError
from detectors.posetrack_gt import PoseTrackGroundTruthBoxes
from tests.shared_data import shared_path
from tracker.errors import FileFormatError
from tracker.types import Frame

VAL = ("data", "mmpose-testdata", "posetrack18", "annotations", "val")
BONN = ("data", "bonn-posetrack", "train")


def _frame(name="000000.jpg", index=0):
    return Frame(index=index, image=np.zeros((4, 4, 3), np.uint8), name=name)


def _xyxy(bbox):
    x, y, w, h = bbox
    return [x, y, x + w, y + h]


def test_real_posetrack18_val_file():
    path = shared_path(*VAL, "012834_mpii_test.json")
    annotations = json.loads(path.read_text())["annotations"]
    gt = PoseTrackGroundTruthBoxes(path)
    assert len(gt) == 1
    by_name = gt(_frame("000000.jpg"))
    assert len(by_name) == len(annotations) == 11
    np.testing.assert_allclose(by_name.boxes_xyxy, [_xyxy(a["bbox"]) for a in annotations],
                               rtol=1e-6)
    assert (by_name.scores == 1).all()
    by_index = PoseTrackGroundTruthBoxes(path, key="frame_index")(_frame("ignored", index=0))
    np.testing.assert_array_equal(by_index.boxes_xyxy, by_name.boxes_xyxy)


def test_real_bonn_sequence_every_frame():
    path = shared_path(*BONN, "000001_bonn_train.json")
    data = json.loads(path.read_text())
    by_name = PoseTrackGroundTruthBoxes(path)
    by_index = PoseTrackGroundTruthBoxes(path, key="frame_index")
    assert len(by_name) == len(data["images"]) == 76
    for index, image in enumerate(data["images"]):
        mine = [_xyxy(a["bbox"]) for a in data["annotations"] if a["image_id"] == image["id"]]
        frame = _frame(f"{index:06d}.jpg", index)
        np.testing.assert_allclose(by_name(frame).boxes_xyxy, np.reshape(mine, (-1, 4)),
                                   rtol=1e-6)
        np.testing.assert_array_equal(by_index(frame).boxes_xyxy, by_name(frame).boxes_xyxy)
    # a frame name with its folder works too
    assert len(by_name(_frame("000001_bonn_train/000010.jpg"))) == 2


def test_padding_scales_about_the_center(tmp_path):
    path = _write(tmp_path, [_annotation(bbox=[10, 20, 40, 80])])
    box = PoseTrackGroundTruthBoxes(path, padding=1.5)(_frame()).boxes_xyxy[0]
    np.testing.assert_allclose(box, [0, 0, 60, 120])


def _annotation(bbox=(0, 0, 10, 10), visible=1, image_id=1, **extra):
    keypoints = [5, 5, visible] + [0, 0, 0] * 16
    return {"image_id": image_id, "bbox": list(bbox) if bbox is not None else None,
            "keypoints": keypoints, "track_id": 0, "category_id": 1, **extra}


def _write(tmp_path, annotations, images=None):
    images = images or [{"id": 1, "file_name": "images/val/seq/000000.jpg"},
                        {"id": 2, "file_name": "images/val/seq/000001.jpg"}]
    path = tmp_path / "seq.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    return path


def test_annotations_without_usable_box_or_keypoints_are_skipped(tmp_path):
    path = _write(tmp_path, [
        _annotation(bbox=[1, 2, 3, 4]),              # kept
        _annotation(bbox=None),                      # null bbox
        _annotation(bbox=[]),                        # empty bbox
        _annotation(bbox=[1, 2, 0, 4]),              # zero width
        _annotation(visible=0),                      # no labelled keypoint
        _annotation(keypoints=None),                 # no keypoints at all
        _annotation(category_id=2),                  # not a person
        {"image_id": 1, "bbox": [0, 0, 5, 5]},       # no keypoints field
        _annotation(bbox=[7, 7, 1, 1], image_id=2),  # another frame
    ])
    gt = PoseTrackGroundTruthBoxes(path)
    np.testing.assert_allclose(gt(_frame("000000.jpg")).boxes_xyxy, [[1, 2, 4, 6]])
    np.testing.assert_allclose(gt(_frame("000001.jpg", 1)).boxes_xyxy, [[7, 7, 8, 8]])


@pytest.mark.parametrize("annotations,match", [
    ([_annotation(), _annotation(bbox=[0, 0, float("nan"), 3])],
     r"seq\.json: annotation 1: 'bbox' has a non-finite value"),
    ([_annotation(bbox=[0, 0, 3, -1])], r"annotation 0: 'bbox' has a negative width"),
    ([_annotation(bbox=[0, 0, 3])], r"annotation 0: 'bbox' must be \[x, y, width, height\]"),
    ([_annotation(image_id=99)], r"annotation 0: 'image_id' 99 is not among the 2 images"),
    ([_annotation(keypoints=[1, 2])], r"annotation 0: 'keypoints' must be a flat list"),
    ([7], r"annotation 0: expected a mapping, got int"),
    ([_annotation(bbox=[1e300, 0, 3, 3])], r"annotation 0: 'bbox' is out of range: \[1e\+300"),
    ([_annotation(bbox=[0, 0, 3, 1e7])], r"annotation 0: 'bbox' is out of range"),
    ([_annotation(), _annotation(category_id="1")],
     r"seq\.json: annotation 1: 'category_id' must be an integer category id \(1 = person\), "
     r"got '1'"),
])
def test_bad_annotations(tmp_path, annotations, match):
    with pytest.raises(DetectionsFileError, match=match):
        PoseTrackGroundTruthBoxes(_write(tmp_path, annotations))


def test_bad_files_and_frames(tmp_path):
    listing = tmp_path / "list.json"
    listing.write_text("[]")
    with pytest.raises(FileFormatError, match=r"list\.json: expected a PoseTrack18 mapping"):
        PoseTrackGroundTruthBoxes(listing)
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [')
    with pytest.raises(FileFormatError, match=r"broken\.json: not valid JSON"):
        PoseTrackGroundTruthBoxes(broken)
    gt = PoseTrackGroundTruthBoxes(_write(tmp_path, [_annotation()]))
    with pytest.raises(DetectionsFileError, match=r"frame '000002.jpg' is none of the file's 2"):
        gt(_frame("000002.jpg"))
    by_index = PoseTrackGroundTruthBoxes(_write(tmp_path, [_annotation()]), key="frame_index")
    with pytest.raises(DetectionsFileError, match=r"frame index 2 is outside the file's 2"):
        by_index(_frame(index=2))


@pytest.mark.parametrize("kwargs,match", [
    ({"padding": 0}, "padding must be a finite number > 0"),
    ({"padding": float("inf")}, "padding must be a finite number > 0"),
    ({"key": "track"}, "key must be one of"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        PoseTrackGroundTruthBoxes(_write(tmp_path, []), **kwargs)
