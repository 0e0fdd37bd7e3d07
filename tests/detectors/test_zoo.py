"""load_detector by name, the detector zoo and its weights resolution."""
import shutil

import pytest

import detectors
from detectors import (CocoDetectionsFile, PoseTrackGroundTruthBoxes, RTMDetONNX, detector_zoo,
                       load_detector)
from detectors.zoo import DetectorSpec
from tests.shared_data import shared_path
from tracker.checks import construct_config
from tracker.errors import ConfigError
from tracker.weights import ChecksumError, WeightsSource, WeightsUnavailableError, sha256_of

RTMDET = ("models", "rtmdet-nano-person", "end2end.onnx")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_zoo_entry_matches_the_real_file():
    spec = detector_zoo()["rtmdet-nano"]
    assert spec.input_size == 320 and spec.url is None
    assert spec.mean == (103.53, 116.28, 123.675) and spec.std == (57.375, 57.12, 58.395)
    assert sha256_of(shared_path(*RTMDET)) == spec.sha256
    assert spec.weights == WeightsSource("rtmdet_nano_person.onnx", None, spec.sha256)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown detector 'yolo'; valid names are: "
                                         r"rtmdet-nano, detections, posetrack-gt"):
        load_detector("yolo")


def test_rtmdet_without_file_says_where_to_put_it(cache):
    with pytest.raises(WeightsUnavailableError,
                       match=f"no public download address. Put the file at "
                             f"{cache / 'rtmdet_nano_person.onnx'}"):
        load_detector("rtmdet-nano")


def test_rtmdet_from_cache_and_from_checkpoint(cache):
    cache.mkdir(parents=True)
    shutil.copy(shared_path(*RTMDET), cache / "rtmdet_nano_person.onnx")
    cached = load_detector("rtmdet-nano", progress=False)
    assert isinstance(cached, RTMDetONNX) and cached.path == cache / "rtmdet_nano_person.onnx"
    assert cached.score_threshold == 0.3 and cached.input_size == 320
    local = load_detector("rtmdet-nano", checkpoint=shared_path(*RTMDET), score_threshold=0.5)
    assert local.score_threshold == 0.5


def test_corrupt_cached_rtmdet_is_a_checksum_error(cache):
    cache.mkdir(parents=True)
    (cache / "rtmdet_nano_person.onnx").write_bytes(b"truncated")
    with pytest.raises(ChecksumError, match="rtmdet_nano_person.onnx: sha256 is"):
        load_detector("rtmdet-nano")


def test_file_detectors():
    annotations = ("data", "mmpose-testdata", "posetrack18", "annotations")
    replay = load_detector("detections",
                           checkpoint=shared_path(*annotations,
                                                  "test_posetrack18_human_detections.json"),
                           images=shared_path(*annotations, "test_posetrack18_val.json"))
    assert isinstance(replay, CocoDetectionsFile) and isinstance(replay, detectors.Detector)
    gt = load_detector("posetrack-gt", checkpoint=shared_path(*annotations, "val",
                                                              "003418_mpii_test.json"))
    assert isinstance(gt, PoseTrackGroundTruthBoxes) and len(gt) == 1


@pytest.mark.parametrize("name", ["detections", "posetrack-gt"])
def test_file_detectors_need_a_checkpoint(name):
    with pytest.raises(ValueError, match=f"detector '{name}' needs checkpoint="):
        load_detector(name)


@pytest.mark.parametrize("entry,match", [
    ({"filename": "a.onnx", "sha256": None, "input_size": 320, "mean": [1, 2, 3],
      "std": [1, 2, 3], "colour": "bgr"}, r"unknown key\(s\) \['colour'\]"),
    ({"filename": "a.onnx", "sha256": "XYZ", "input_size": 320, "mean": [1, 2, 3],
      "std": [1, 2, 3]}, "sha256 must be"),
    ({"filename": "a.onnx", "sha256": None, "input_size": -1, "mean": [1, 2, 3],
      "std": [1, 2, 3]}, "input_size must be a positive integer"),
    ({"filename": "a.onnx", "sha256": None, "input_size": 320, "mean": [1, 2],
      "std": [1, 2, 3]}, r"mean must be 3 finite numbers \(B, G, R\)"),
])
def test_malformed_zoo_entries(entry, match):
    with pytest.raises(ConfigError, match=match):
        construct_config(DetectorSpec, {"name": "x", **entry}, "detectors.yaml [x]")
