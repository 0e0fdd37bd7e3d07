"""posetrack-run with a bad detections file (issue 13, items 9, 12, 15): one error line naming
the file, exit 1, and an earlier output left as it was with no temporary file behind.

Real ONNX pose model (PP-TinyPose), ``--detector detections`` replaying a JSON written here.
"""
import json

import cv2
import numpy as np
import pytest

from apps import run
from tests.shared_data import shared_path

POSE = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
EARLIER = b'{"earlier": "results"}\n'


def _frame_folder(tmp_path, count=3):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), np.full((48, 64, 3), 90 + i, np.uint8))
    return folder


def _detections(tmp_path, entries):
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(entries))
    return path


def _entry(name="000000.jpg", **fields):
    return {"image_id": 0, "file_name": name, "bbox": [8, 4, 30, 40], "score": 0.9,
            "category_id": 1, **fields}


def _run(source, detections, out):
    return run.main([str(source), "--out", str(out), "--quiet", "--detector", "detections",
                     "--detector-checkpoint", str(detections),
                     "--pose-model", "pp_tinypose_256x192",
                     "--pose-checkpoint", str(shared_path(*POSE))])


def _fails_keeping_the_earlier_output(tmp_path, capsys, source, detections, *needles):
    """Exit 1, one error line naming dets.json (and ``needles``); --out is untouched."""
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    out = out_folder / "tracks.json"
    out.write_bytes(EARLIER)
    assert _run(source, detections, out) == 1
    lines = capsys.readouterr().err.splitlines()
    if lines and lines[0].startswith("posetrack-run: preset "):    # the run had started
        lines = lines[1:]
    assert len(lines) == 1, lines
    assert lines[0].startswith("posetrack-run: error: ")
    assert str(detections) in lines[0]
    for needle in needles:
        assert needle in lines[0]
    assert out.read_bytes() == EARLIER
    assert sorted(p.name for p in out_folder.iterdir()) == ["tracks.json"]   # no hidden file
    return lines[0]


def test_file_names_on_a_video_fail_at_the_first_frame(tmp_path, capsys):
    """Item 9: a video's frames are "000000", "000001", ...; "000000.jpg" entries never
    match and the run used to write nobody in every frame without a word."""
    video = shared_path("data", "videos", "basketball-2p-426x240.mp4")
    detections = _detections(tmp_path, [_entry("000000.jpg"), _entry("000001.jpg")])
    _fails_keeping_the_earlier_output(
        tmp_path, capsys, video, detections,
        "no frame matches the file: frame '000000' is named unlike every one of the 2 images",
        "'000000.jpg', entry 0", "'key: frame_index'", "--detector-checkpoint")


def test_file_of_another_naming_scheme_fails(tmp_path, capsys):
    detections = _detections(tmp_path, [_entry("000000000785.jpg")])
    _fails_keeping_the_earlier_output(
        tmp_path, capsys, _frame_folder(tmp_path), detections,
        "frame '000000.jpg' is named unlike every one of the 1 images", "'000000000785.jpg'")


def test_file_of_other_frames_fails_after_the_whole_source(tmp_path, capsys):
    """Item 9, names alike but none is a frame of the folder: judged when the whole source
    has been seen (any single frame may have nobody in it).

    NEEDS apps/run.py to call ``CocoDetectionsFile.check_coverage`` after the last frame,
    before the writer is closed (see the detectors/precomputed.py module docstring)."""
    detections = _detections(tmp_path, [_entry("seq/000100.jpg"), _entry("seq/000101.jpg")])
    _fails_keeping_the_earlier_output(
        tmp_path, capsys, _frame_folder(tmp_path), detections,
        "no frame matches the file: none of the 3 frames (e.g. '000000.jpg') is one of the 2 "
        "images of the file (e.g. 'seq/000100.jpg', entry 0)")


@pytest.mark.parametrize("fields,needle", [
    ({"score": 1e300}, "entry 1: 'score' must be a finite number in [0, 1], got 1e+300"),
    ({"bbox": [1e300, 4, 30, 40]}, "entry 1: 'bbox' is out of range: [1e+300, 4, 30, 40]"),
    ({"category_id": "1"}, "entry 1: 'category_id' must be an integer category id "
                           "(1 = person), got '1'"),
])
def test_values_out_of_range_fail_at_load(tmp_path, capsys, fields, needle):
    """Item 12: a score of 1e300 used to fail at the very end in json.dumps with an unnamed
    "Out of range float values"; item 15: a string category id was silently not a person."""
    detections = _detections(tmp_path, [_entry(), _entry("000001.jpg", **fields)])
    _fails_keeping_the_earlier_output(tmp_path, capsys, _frame_folder(tmp_path), detections,
                                      needle)


def test_a_good_file_on_the_same_frames_runs(tmp_path):
    """The frames and models of the cases above are fine with a fitting file."""
    out = tmp_path / "out" / "tracks.json"
    detections = _detections(tmp_path, [_entry("000000.jpg"), _entry("000002.jpg")])
    assert _run(_frame_folder(tmp_path), detections, out) == 0
    assert len(json.loads(out.read_text())["images"]) == 3
