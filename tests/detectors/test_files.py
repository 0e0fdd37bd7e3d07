"""Matching frame names to image file names, and bbox validation."""
from pathlib import Path

import pytest

from detectors.files import DetectionsFileError, FileNameIndex, in_sequence, parse_bbox_xywh

NAMES = ["images/val/003418_mpii_test/000000.jpg", "images/val/003418_mpii_test/000001.jpg",
         "images/val/009473_mpii_test/000000.jpg"]


@pytest.mark.parametrize("frame_name,expected", [
    ("000001.jpg", "images/val/003418_mpii_test/000001.jpg"),          # unique basename
    ("003418_mpii_test/000000.jpg", "images/val/003418_mpii_test/000000.jpg"),
    ("val\\009473_mpii_test\\000000.jpg", "images/val/009473_mpii_test/000000.jpg"),
    ("images/val/003418_mpii_test/000001.jpg", "images/val/003418_mpii_test/000001.jpg"),
    ("000002.jpg", None),                                              # no such image
    ("other/000001.jpg", None),                                        # wrong folder
    ("x/images/val/003418_mpii_test/000001.jpg", None),                # longer than the name
    ("", None),
])
def test_lookup_by_trailing_path_components(frame_name, expected):
    assert FileNameIndex(NAMES, Path("f.json")).lookup(frame_name) == expected


def test_ambiguous_basename_is_an_error():
    with pytest.raises(DetectionsFileError, match=r"f\.json: frame name '000000.jpg' matches "
                                                  r"several images"):
        FileNameIndex(NAMES, Path("f.json")).lookup("000000.jpg")


@pytest.mark.parametrize("sequence,expected", [
    ("003418_mpii_test", True), ("val/003418_mpii_test", True), ("009473_mpii_test", False),
    ("000000.jpg", False), ("", False), ("mpii", False)])
def test_in_sequence(sequence, expected):
    assert in_sequence(NAMES[0], sequence) is expected


def test_parse_bbox_accepts_zero_size_and_integers():
    assert parse_bbox_xywh([1, 2, 0, 0], "f") == (1.0, 2.0, 0.0, 0.0)


@pytest.mark.parametrize("value,match", [
    ([0, 0, float("inf"), 1], "non-finite"), ([0, 0, 1, -0.5], "negative"),
    ([True, 0, 1, 1], r"must be \[x, y, width, height\]"), ("0 0 1 1", "must be"),
    ({"x": 0}, "must be")])
def test_parse_bbox_errors_name_the_place(value, match):
    with pytest.raises(DetectionsFileError, match=f"dets.json: entry 4: .*{match}"):
        parse_bbox_xywh(value, "dets.json: entry 4")
