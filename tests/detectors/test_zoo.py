"""load_detector by name, the detector zoo and its weights resolution."""
import dataclasses
import shutil

import numpy as np

import pytest

import detectors
from detectors import (CocoDetectionsFile, PoseTrackGroundTruthBoxes, RTMDetONNX, detector_zoo,
                       load_detector)
from detectors.zoo import DetectorSpec
from tests.http_server import FileServer, mirror_path, zip_bytes
from tests.shared_data import shared_path
from tracker.checks import construct_config
from tracker.errors import ConfigError
from tracker.types import Frame
from tracker.weights import (ChecksumError, WeightsSource, WeightsUnavailableError, cached_path,
                             sha256_of)

RTMDET = ("models", "rtmdet-nano-person", "end2end.onnx")


SDK_URL = ("https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/onnx_sdk/"
           "rtmdet_nano_8xb32-100e_coco-obj365-person-05d8511e.zip")
SDK_SHA256 = "8297e829ccc5590c8e2d32d5a211f322a0585fb7467eec85eb12c9525b0b95d6"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("POSETRACK_MIRROR", "http://127.0.0.1:9/")  # never the real address
    return tmp_path / "cache"


@pytest.fixture
def shared_rtmdet_in_zoo(monkeypatch):
    """The zoo entry with the sha256 of the shared export (the published one differs)."""
    rtmdet = shared_path(*RTMDET)
    spec = dataclasses.replace(detector_zoo()["rtmdet-nano"], sha256=sha256_of(rtmdet))
    monkeypatch.setitem(detector_zoo(), "rtmdet-nano", spec)
    return rtmdet


def test_zoo_entry_is_the_published_sdk_archive():
    spec = detector_zoo()["rtmdet-nano"]
    assert spec.input_size == 320 and spec.url == SDK_URL
    assert spec.mean == (103.53, 116.28, 123.675) and spec.std == (57.375, 57.12, 58.395)
    assert spec.weights == WeightsSource("rtmdet_nano_person.onnx", SDK_URL, SDK_SHA256,
                                         archive_member="end2end.onnx")
    assert detectors.detector_weights("rtmdet-nano") == spec.weights


def test_the_shared_export_is_another_file_and_works_as_checkpoint(cache):
    rtmdet = shared_path(*RTMDET)
    assert sha256_of(rtmdet) != SDK_SHA256
    detector = load_detector("rtmdet-nano", checkpoint=rtmdet, score_threshold=0.5)
    assert detector.path == rtmdet and detector.score_threshold == 0.5
    cache.mkdir(parents=True)
    shutil.copy(rtmdet, cache / "rtmdet_nano_person.onnx")      # in the cache: not the zoo's
    with pytest.raises(ChecksumError, match="passed as the checkpoint"):
        load_detector("rtmdet-nano")


def test_sdk_archive_is_downloaded_unpacked_and_run(cache, monkeypatch, shared_rtmdet_in_zoo):
    archive = zip_bytes({"rtmdet_nano/end2end.onnx": shared_rtmdet_in_zoo.read_bytes(),
                         "rtmdet_nano/pipeline.json": b"{}"})
    with FileServer({mirror_path(SDK_URL): archive}) as server:
        monkeypatch.setenv("POSETRACK_MIRROR", server.url)
        detector = load_detector("rtmdet-nano", progress=False)
        assert detector.path == cache / "rtmdet_nano_person.onnx"
        assert sorted(p.name for p in cache.iterdir()) == ["rtmdet_nano_person.onnx"]
        load_detector("rtmdet-nano", progress=False)
        assert server.paths_requested() == [mirror_path(SDK_URL)]    # the second one: cached
    black = Frame(index=0, image=np.zeros((240, 320, 3), np.uint8), name="000000")
    assert len(detector(black)) == 0                    # a working ONNX session


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown detector 'yolo'; valid names are: "
                                         r"rtmdet-nano, detections, posetrack-gt"):
        load_detector("yolo")


def test_rtmdet_offline_says_where_to_put_it(cache):
    with pytest.raises(WeightsUnavailableError,
                       match=f"could not download .*05d8511e.zip .*put it at "
                             f"{cache / 'rtmdet_nano_8xb32-100e_coco-obj365-person-05d8511e.zip'}"):
        load_detector("rtmdet-nano", progress=False)


def test_rtmdet_from_the_cache_path_without_renaming(cache, shared_rtmdet_in_zoo):
    cache.mkdir(parents=True)
    shutil.copy(shared_rtmdet_in_zoo, cached_path(detectors.detector_weights("rtmdet-nano")))
    cached = load_detector("rtmdet-nano", progress=False)
    assert isinstance(cached, RTMDetONNX) and cached.path == cache / "rtmdet_nano_person.onnx"
    assert cached.score_threshold == 0.3 and cached.input_size == 320


@pytest.mark.parametrize("name,zoo_name", [
    ("cascade-rcnn-x101", "cascade_rcnn_x101_64x4d_fpn_20e_coco"),
    ("yolov3_d53_320_273e_coco", "yolov3_d53_320_273e_coco")])
def test_detector_weights_of_mmdet_names_and_aliases(name, zoo_name):
    assert detectors.detector_weights(name) == detector_zoo()[zoo_name].weights


@pytest.mark.parametrize("name", ["detections", "posetrack-gt", "mmdet:a.py:b.pth"])
def test_file_detectors_have_no_zoo_weights(name):
    assert detectors.detector_weights(name) is None


def test_detector_weights_of_an_unknown_name():
    with pytest.raises(ValueError, match="unknown detector 'yolo'; valid names are: "):
        detectors.detector_weights("yolo")


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
