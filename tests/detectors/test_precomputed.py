"""Replayed COCO detection results: real mmpose files, frame matching, and bad input."""
import json

import numpy as np
import pytest

from detectors.precomputed import CocoDetectionsFile, DetectionsFileError
from tests.shared_data import shared_path
from tracker.errors import FileFormatError
from tracker.types import Frame

POSETRACK = ("data", "mmpose-testdata", "posetrack18", "annotations")
COCO = ("data", "mmpose-testdata", "coco")


def _frame(name="000000.jpg", index=0):
    return Frame(index=index, image=np.zeros((4, 4, 3), np.uint8), name=name)


def _write(tmp_path, data, name="dets.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_real_coco_results_with_image_list():
    path = shared_path(*COCO, "test_coco_det_AP_H_56.json")
    results = json.loads(path.read_text())
    replay = CocoDetectionsFile(path, images=shared_path(*COCO, "test_coco.json"))
    assert replay.keys() == ["000000000785.jpg", "000000040083.jpg", "000000196141.jpg",
                             "000000197388.jpg"]
    dets = replay(_frame("000000040083.jpg"))
    mine = [r for r in results if r["image_id"] == 40083]
    assert len(dets) == len(mine) > 1
    assert (np.diff(dets.scores) <= 0).all()
    best = max(mine, key=lambda r: r["score"])
    x, y, w, h = best["bbox"]
    np.testing.assert_allclose(dets.boxes_xyxy[0], [x, y, x + w, y + h], rtol=1e-6)
    assert replay.unmatched_keys() == ["000000000785.jpg", "000000196141.jpg",
                                       "000000197388.jpg"]


def test_score_threshold_filters_real_results():
    path = shared_path(*COCO, "test_coco_det_AP_H_56.json")
    results = [r for r in json.loads(path.read_text()) if r["image_id"] == 785]
    replay = CocoDetectionsFile(path, images=shared_path(*COCO, "test_coco.json"),
                                score_threshold=0.5)
    dets = replay(_frame("000000000785.jpg"))
    assert len(dets) == sum(r["score"] >= 0.5 for r in results) and (dets.scores >= 0.5).all()


def test_real_posetrack18_human_detections():
    """mmpose's file is a plain result list; image ids refer to test_posetrack18_val.json."""
    path = shared_path(*POSETRACK, "test_posetrack18_human_detections.json")
    images = shared_path(*POSETRACK, "test_posetrack18_val.json")
    results = json.loads(path.read_text())
    replay = CocoDetectionsFile(path, images=images, sequence="003418_mpii_test")
    dets = replay(_frame("000000.jpg"))
    assert len(dets) == sum(r["image_id"] == 10034180000 for r in results) > 0
    assert replay(_frame("000001.jpg", index=1)).boxes_xyxy.shape == (0, 4)  # no entry: empty
    assert replay.unmatched_keys() == []


def test_posetrack18_frames_named_with_their_folder():
    path = shared_path(*POSETRACK, "test_posetrack18_human_detections.json")
    replay = CocoDetectionsFile(path, images=shared_path(*POSETRACK, "test_posetrack18_val.json"))
    assert len(replay(_frame("009473_mpii_test/000000.jpg"))) > 0
    assert replay.unmatched_keys() == ["images/val/003418_mpii_test/000000.jpg",
                                       "images/val/012834_mpii_test/000000.jpg"]
    with pytest.raises(DetectionsFileError, match=r"'000000.jpg' matches several images"):
        replay(_frame("000000.jpg"))


def test_eager_check_against_the_frames_of_the_video():
    path = shared_path(*POSETRACK, "test_posetrack18_human_detections.json")
    images = shared_path(*POSETRACK, "test_posetrack18_val.json")
    names = ["003418_mpii_test/000000.jpg", "009473_mpii_test/000000.jpg"]
    with pytest.raises(DetectionsFileError,
                       match=r"entry 0: image 'images/val/012834_mpii_test/000000.jpg' \(field "
                             r"'image_id'\) is none of the 2 frames"):
        CocoDetectionsFile(path, images=images, frame_names=names)
    CocoDetectionsFile(path, images=images, frame_names=names + ["012834_mpii_test/000000.jpg"])


def test_frame_index_key_and_person_filter(tmp_path):
    path = _write(tmp_path, [
        {"image_id": 0, "bbox": [0, 0, 10, 20], "score": 0.5, "category_id": 1},
        {"image_id": 0, "bbox": [5, 5, 10, 10], "score": 0.9},                     # no category
        {"image_id": 0, "bbox": [1, 1, 2, 2], "score": 0.99, "category_id": 3},    # a car
        {"image_id": 0, "bbox": [1, 1, 0, 5], "score": 0.7, "category_id": 1},     # zero width
        {"image_id": 2, "bbox": [1.5, 2.5, 3, 4], "score": 0.1, "category_id": 1}])
    replay = CocoDetectionsFile(path, key="frame_index", num_frames=3)
    first = replay(_frame("a.jpg", index=0))
    np.testing.assert_allclose(first.boxes_xyxy, [[5, 5, 15, 15], [0, 0, 10, 20]])
    np.testing.assert_allclose(first.scores, [0.9, 0.5])
    assert len(replay(_frame(index=1))) == 0
    assert replay.unmatched_keys() == [2]
    np.testing.assert_allclose(replay(_frame(index=2)).boxes_xyxy, [[1.5, 2.5, 4.5, 6.5]])
    assert replay.unmatched_keys() == []


def test_file_names_in_entries_and_inline_images(tmp_path):
    by_field = _write(tmp_path, [
        {"image_id": 1, "file_name": "clip/000003.jpg", "bbox": [0, 0, 1, 1], "score": 1.0},
        {"image_id": 2, "image_name": "000004.jpg", "bbox": [0, 0, 2, 2], "score": 1.0}])
    replay = CocoDetectionsFile(by_field)
    assert len(replay(_frame("000003.jpg"))) == 1 and len(replay(_frame("000004.jpg"))) == 1
    inline = _write(tmp_path, {"images": [{"id": 7, "file_name": "a/b/000001.jpg"}],
                               "annotations": [{"image_id": 7, "bbox": [0, 0, 1, 1],
                                                "score": 0.3}]}, "inline.json")
    assert len(CocoDetectionsFile(inline)(_frame("000001.jpg"))) == 1


GOOD = {"image_id": 0, "bbox": [0, 0, 1, 1], "score": 0.5}


@pytest.mark.parametrize("content,match", [
    ("5", r"dets\.json: expected a list of detection results .* got int"),
    ('{"results": []}', r"expected a list of detection results .* got dict"),
    ([GOOD, 3], r"dets\.json: entry 1: expected a mapping"),
    ([{"image_id": 0, "score": 0.5}], r"entry 0: missing field 'bbox'"),
    ([{"bbox": [0, 0, 1, 1], "score": 0.5}], r"entry 0: missing field 'image_id'"),
    ([{"image_id": 0, "bbox": [0, 0, 1, 1]}], r"entry 0: missing field 'score'"),
    ([GOOD, {**GOOD, "bbox": [0, 0, float("nan"), 1]}], r"entry 1: 'bbox' has a non-finite"),
    ([{**GOOD, "bbox": [0, 0, -3, 1]}], r"entry 0: 'bbox' has a negative width or height"),
    ([{**GOOD, "bbox": [0, 0, 1]}], r"entry 0: 'bbox' must be \[x, y, width, height\]"),
    ([{**GOOD, "bbox": ["0", 0, 1, 1]}], r"entry 0: 'bbox' must be"),
    ([{**GOOD, "bbox": None}], r"entry 0: 'bbox' must be"),
    ([{**GOOD, "score": float("nan")}], r"entry 0: 'score' must be a finite number"),
    ([{**GOOD, "score": "0.5"}], r"entry 0: 'score' must be a finite number"),
    ([{**GOOD, "image_id": -1}], r"entry 0: 'image_id' must be a frame index"),
    ([{**GOOD, "image_id": 1.5}], r"entry 0: 'image_id' must be a frame index"),
    ([GOOD, {**GOOD, "image_id": 10}], r"entry 1: 'image_id' 10 is not a frame of the video"),
])
def test_bad_frame_index_files(tmp_path, content, match):
    with pytest.raises(DetectionsFileError, match=match):
        CocoDetectionsFile(_write(tmp_path, content), key="frame_index", num_frames=5)


def test_invalid_json_names_the_file(tmp_path):
    with pytest.raises(FileFormatError, match=r"dets\.json: not valid JSON"):
        CocoDetectionsFile(_write(tmp_path, "{not json"), key="frame_index", num_frames=5)
    assert issubclass(DetectionsFileError, FileFormatError)


def test_bad_file_name_files(tmp_path):
    images = _write(tmp_path, {"images": [{"id": 1, "file_name": "x/000000.jpg"}]}, "im.json")
    with pytest.raises(DetectionsFileError, match=r"entry 0: 'image_id' 9 is not among the 1 "):
        CocoDetectionsFile(_write(tmp_path, [{**GOOD, "image_id": 9}]), images=images)
    with pytest.raises(DetectionsFileError, match=r"entry 0: no 'file_name' .* pass images="):
        CocoDetectionsFile(_write(tmp_path, [GOOD]))
    with pytest.raises(DetectionsFileError, match=r"entry 0: 'file_name' must be a non-empty"):
        CocoDetectionsFile(_write(tmp_path, [{**GOOD, "file_name": ""}]))
    with pytest.raises(DetectionsFileError, match=r"no image lies in a folder named 'y'"):
        CocoDetectionsFile(_write(tmp_path, [{**GOOD, "image_id": 1}]), images=images,
                           sequence="y")
    with pytest.raises(DetectionsFileError, match=r"im2\.json: images\[0\]: 'file_name'"):
        CocoDetectionsFile(_write(tmp_path, [GOOD]),
                           images=_write(tmp_path, {"images": [{"id": 1}]}, "im2.json"))
    with pytest.raises(DetectionsFileError, match=r"im3\.json: expected a mapping with an "
                                                  r"'images' list"):
        CocoDetectionsFile(_write(tmp_path, [GOOD]), images=_write(tmp_path, [], "im3.json"))


def test_bad_arguments(tmp_path):
    path = _write(tmp_path, [GOOD])
    with pytest.raises(ValueError, match=r"key must be one of"):
        CocoDetectionsFile(path, key="name")
    with pytest.raises(ValueError, match=r"images= cannot be used with key='frame_index'"):
        CocoDetectionsFile(path, key="frame_index", images=path)
    with pytest.raises(ValueError, match=r"num_frames= cannot be used with key='file_name'"):
        CocoDetectionsFile(path, num_frames=3)
    with pytest.raises(ValueError, match=r"num_frames must be a non-negative integer"):
        CocoDetectionsFile(path, key="frame_index", num_frames=-1)
    with pytest.raises(FileNotFoundError, match=r"missing\.json does not exist"):
        CocoDetectionsFile(tmp_path / "missing.json")


@pytest.mark.parametrize("entry,match", [
    ({**GOOD, "score": 1e300}, r"dets\.json: entry 0: 'score' must be a finite number in "
                               r"\[0, 1\], got 1e\+300"),
    ({**GOOD, "score": 1.5}, r"entry 0: 'score' must be a finite number in \[0, 1\]"),
    ({**GOOD, "score": -0.01}, r"entry 0: 'score' must be a finite number in \[0, 1\]"),
    ({**GOOD, "bbox": [1e300, 0, 10, 10]}, r"entry 0: 'bbox' is out of range: \[1e\+300, "),
    ({**GOOD, "bbox": [0, 0, 10, 2e6]}, r"entry 0: 'bbox' is out of range"),
    ({**GOOD, "category_id": "1"}, r"entry 0: 'category_id' must be an integer category id "
                                   r"\(1 = person\), got '1'"),
    ({**GOOD, "category_id": None}, r"entry 0: 'category_id' must be an integer category id"),
])
def test_values_out_of_range_are_errors_at_load(tmp_path, entry, match):
    """Such values used to pass and fail only when the output was written (1e300 becomes
    inf in float32), or to make the entry silently not a person (a string category id)."""
    with pytest.raises(DetectionsFileError, match=match):
        CocoDetectionsFile(_write(tmp_path, [entry]), key="frame_index")
    with pytest.raises(DetectionsFileError, match=match.replace("entry 0", "entry 1")):
        CocoDetectionsFile(_write(tmp_path, [{**GOOD, "file_name": "a.jpg"},
                                             {**entry, "file_name": "b.jpg"}]))


def test_scores_at_the_ends_of_the_range_and_integral_category_ids(tmp_path):
    path = _write(tmp_path, [{**GOOD, "score": 1}, {**GOOD, "score": 0, "category_id": 1.0},
                             {**GOOD, "score": 0.5, "category_id": 2}])
    assert len(CocoDetectionsFile(path, key="frame_index")(_frame(index=0))) == 2


def _named(*names):
    return [{**GOOD, "file_name": name} for name in names]


def test_video_frames_against_file_names_fail_at_the_first_frame(tmp_path):
    """Frames of a video are named "000000", "000001", ...: no such frame can ever match a
    file of "000000.jpg" names, and the run used to go on with nobody in any frame."""
    replay = CocoDetectionsFile(_write(tmp_path, _named("clip/000000.jpg", "clip/000001.jpg")))
    with pytest.raises(DetectionsFileError) as info:
        replay(_frame("000000", index=0))
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'dets.json'}: no frame matches the file: frame "
                              "'000000' is named unlike every one of the 2 images of the file "
                              "(e.g. 'clip/000000.jpg', entry 0); frames of a video")
    assert "'key: frame_index' in the detector section of a --config file" in message
    assert "--detector-checkpoint" in message


def test_frames_named_in_another_scheme_fail_at_the_first_frame(tmp_path):
    replay = CocoDetectionsFile(_write(tmp_path, _named("000000000785.jpg")))
    with pytest.raises(DetectionsFileError, match=r"frame '000000.jpg' is named unlike every one "
                                                  r"of the 1 images .*'000000000785.jpg', entry 0"
                                                  r"\); pass the detections made for these "
                                                  r"frames with --detector-checkpoint"):
        replay(_frame("000000.jpg"))


def test_frames_without_entries_are_not_errors(tmp_path):
    """A frame with no entry has nobody in it: not an error, also before the first match,
    as long as it is named like the file's images; after a match nothing is judged."""
    replay = CocoDetectionsFile(_write(tmp_path, _named("000005.jpg", "000006.jpg")))
    assert len(replay(_frame("000000.jpg", 0))) == 0
    assert len(replay(_frame("000005.jpg", 5))) == 1
    assert len(replay(_frame("thumbnail", 7))) == 0       # named otherwise, after a match
    frame_index = CocoDetectionsFile(_write(tmp_path, [{**GOOD, "image_id": 9}]),
                                     key="frame_index")
    assert len(frame_index(_frame("000000", 0))) == 0


def _frames(*names):
    return list(enumerate(names))


def test_coverage_of_a_whole_source_none_matching_is_an_error(tmp_path):
    """Named alike, but none of the frames of the whole video is one of the file's images:
    the file is for another video (an error only at the end: any one frame may be empty)."""
    replay = CocoDetectionsFile(_write(tmp_path, _named("seq/000100.jpg", "seq/000101.jpg")))
    frames = _frames("000000.jpg", "000001.jpg", "000002.jpg")
    for index, name in frames:
        assert len(replay(_frame(name, index))) == 0
    with pytest.raises(DetectionsFileError, match=r"dets\.json: no frame matches the file: none "
                                                  r"of the 3 frames \(e.g. '000000.jpg'\) is one "
                                                  r"of the 2 images of the file \(e.g. "
                                                  r"'seq/000100.jpg', entry 0\); pass the "
                                                  r"detections made for these frames"):
        replay.check_coverage(frames, whole_source=True)
    warnings = replay.check_coverage(frames)           # part of a source: may just be empty
    assert len(warnings) == 1 and warnings[0].startswith(
        f"{tmp_path / 'dets.json'}: none of the 3 frames (e.g. '000000.jpg') is one of the 2 "
        "images of the file (e.g. 'seq/000100.jpg', entry 0): frames without people")


def test_coverage_names_unlike_the_files_is_an_error_even_for_part_of_a_source(tmp_path):
    replay = CocoDetectionsFile(_write(tmp_path, _named("000000.jpg")))
    with pytest.raises(DetectionsFileError, match=r"the frames \(e.g. '000000'\) are named "
                                                  r"unlike every one of the 1 images"):
        replay.check_coverage(_frames("000000", "000001"))


def test_coverage_some_images_matching_no_frame_is_a_warning(tmp_path):
    replay = CocoDetectionsFile(_write(tmp_path, _named("000000.jpg", "000001.jpg", "000007.jpg",
                                                        "000009.jpg")))
    frames = _frames("000000.jpg", "000001.jpg", "000002.jpg")
    assert replay.check_coverage(frames, whole_source=True) == [
        f"{tmp_path / 'dets.json'}: 2 of 4 images with detections are no frame of the source "
        "(e.g. '000007.jpg', entry 2; the source has 3 frames)"]
    assert replay.check_coverage(frames) == []             # expected on part of a source
    assert replay.check_coverage(_frames("000000.jpg", "000001.jpg", "000007.jpg",
                                         "000009.jpg"), whole_source=True) == []
    assert replay.check_coverage([], whole_source=True) == []


def test_coverage_counts_frames_the_detector_was_not_asked_for(tmp_path):
    """With detect_every > 1 the detector skips frames: the frames passed count."""
    replay = CocoDetectionsFile(_write(tmp_path, _named("000000.jpg", "000001.jpg")))
    replay(_frame("000000.jpg", 0))
    assert replay.check_coverage(_frames("000000.jpg", "000001.jpg"), whole_source=True) == []


def test_coverage_with_an_images_list(tmp_path):
    """Images listed without detections are images of the file: matching them is coverage."""
    images = _write(tmp_path, {"images": [{"id": 1, "file_name": "s/000000.jpg"},
                                          {"id": 2, "file_name": "s/000001.jpg"}]}, "im.json")
    replay = CocoDetectionsFile(_write(tmp_path, [{**GOOD, "image_id": 2}]), images=images)
    assert replay.check_coverage(_frames("000000.jpg"), whole_source=False) == []
    with pytest.raises(DetectionsFileError, match=r"none of the 1 frames \(e.g. '000009.jpg'\) "
                                                  r"is one of the 2 images of the file \(e.g. "
                                                  r"'s/000001.jpg', entry 0\)"):
        replay.check_coverage([(9, "000009.jpg")], whole_source=True)


def test_coverage_of_frame_indices(tmp_path):
    replay = CocoDetectionsFile(_write(tmp_path, [{**GOOD, "image_id": 2},
                                                  {**GOOD, "image_id": 40}]), key="frame_index")
    assert replay.check_coverage(_frames("000000", "000001", "000002"), whole_source=True) == [
        f"{tmp_path / 'dets.json'}: 1 of 2 frame indices with detections are no frame of the "
        "source (e.g. 40, entry 1; the source has 3 frames)"]
    with pytest.raises(DetectionsFileError, match=r"none of the 2 frames \(e.g. frame index 0\) "
                                                  r"is one of the 2 frame indices with detections "
                                                  r"\(e.g. image_id 2, entry 0\); if image_id is "
                                                  r"not the frame index, use 'key: file_name'"):
        replay.check_coverage(_frames("000000", "000001"), whole_source=True)
    assert "none of the 2 frames" in replay.check_coverage(_frames("a", "b"))[0]
