"""Matching frame names to image file names, and bbox validation."""
from pathlib import Path

import pytest

from detectors.files import (DetectionsFileError, FileNameIndex, in_sequence, is_person,
                             name_form, parse_bbox_xywh, parse_score, same_naming)

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
    ({"x": 0}, "must be"),
    ([1e300, 0, 1, 1], r"'bbox' is out of range: \[1e\+300, 0, 1, 1\] .* below 1,000,000 px"),
    ([0, 0, 1e300, 1], "out of range"), ([-1e6, 0, 1, 1], "out of range"),
    ([999_999, 0, 1, 1], "out of range")])      # its far corner reaches 1e6
def test_parse_bbox_errors_name_the_place(value, match):
    with pytest.raises(DetectionsFileError, match=f"dets.json: entry 4: .*{match}"):
        parse_bbox_xywh(value, "dets.json: entry 4")


def test_parse_bbox_accepts_boxes_just_inside_the_bound():
    assert parse_bbox_xywh([-999_999, 0, 1_999_998, 1], "f")[2] == 1_999_998


@pytest.mark.parametrize("value", [0, 1, 0.25, 1.0])
def test_parse_score_accepts_numbers_in_0_1(value):
    assert parse_score(value, "f") == value


@pytest.mark.parametrize("value", [1e300, 1.0000001, -0.1, float("nan"), float("inf"), "0.5",
                                   None, True])
def test_parse_score_errors_name_the_range(value):
    with pytest.raises(DetectionsFileError, match=r"dets.json: entry 2: 'score' must be a "
                                                  r"finite number in \[0, 1\], got "):
        parse_score(value, "dets.json: entry 2")


@pytest.mark.parametrize("entry,expected", [
    ({}, True), ({"category_id": 1}, True), ({"category_id": 1.0}, True),
    ({"category_id": 3}, False), ({"category_id": 0}, False)])
def test_is_person(entry, expected):
    assert is_person(entry, "f") is expected


@pytest.mark.parametrize("value", ["1", None, 1.5, True, [1]])
def test_category_id_that_is_not_an_integer_is_an_error(value):
    with pytest.raises(DetectionsFileError, match=r"dets.json: entry 0: 'category_id' must be an "
                                                  r"integer category id \(1 = person\), got "):
        is_person({"category_id": value}, "dets.json: entry 0")


@pytest.mark.parametrize("a,b,expected", [
    ("000012.jpg", "images/val/seq/000345.jpg", True),
    ("9.jpg", "10.jpg", True),                              # unpadded numbers of any width
    ("000012.jpg", "123456.jpg", True),
    ("000012", "000012.jpg", False),                        # a video frame against a file name
    ("000012.jpg", "000000000012.jpg", False),              # other padding (COCO)
    ("000012.jpg", "1234567.jpg", False),
    ("frame_0001.jpg", "000001.jpg", False),
    ("000001.png", "000001.jpg", False),
])
def test_same_naming(a, b, expected):
    assert same_naming(name_form(a), name_form(b)) is expected
