"""posetrack-weights: both zoos, paths, downloads of names and presets through a mirror on
127.0.0.1, and the one offline error listing every missing file."""
import dataclasses
import hashlib

import pytest

from apps import weights
from apps.config import load_run_config
from detectors import detector_zoo
from tests.http_server import FileServer, mirror_path, zip_bytes
from tracker.pose.zoo import pose_models

POSE = "res50_posetrack18_256x192"
POSE_FILE = "res50_posetrack18_256x192-a62807c7_20201028.pth"
RTMDET_ZIP = "rtmdet_nano_8xb32-100e_coco-obj365-person-05d8511e.zip"
CASCADE = "cascade_rcnn_x101_64x4d_fpn_20e_coco"
CASCADE_FILE = "cascade_rcnn_x101_64x4d_fpn_20e_coco_20200509_224357-051557b1.pth"
#: Stand-ins for the three files (downloads are checked by sha256 only, not loaded).
ONNX, CHECKPOINT, CASCADE_BYTES = b"onnx" * 1000, b"pth" * 1000, b"cascade" * 1000


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("POSETRACK_MIRROR", "http://127.0.0.1:9/")  # never the real addresses
    return tmp_path / "cache"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def mirror(monkeypatch):
    """A mirror serving the presets' files; the zoo's sha256 are those of the stand-ins
    (changed in this process only: the zoo's addresses stay as they are)."""
    rtmdet, cascade = detector_zoo()["rtmdet-nano"], detector_zoo()[CASCADE]
    monkeypatch.setitem(detector_zoo(), "rtmdet-nano",
                        dataclasses.replace(rtmdet, sha256=_digest(ONNX)))
    monkeypatch.setitem(detector_zoo(), CASCADE,
                        dataclasses.replace(cascade, sha256=_digest(CASCADE_BYTES)))
    monkeypatch.setitem(pose_models(), POSE,
                        dataclasses.replace(pose_models()[POSE], sha256=_digest(CHECKPOINT)))
    files = {mirror_path(rtmdet.url): zip_bytes({"rtmdet_nano/end2end.onnx": ONNX}),
             mirror_path(cascade.url): CASCADE_BYTES,
             mirror_path(pose_models()[POSE].url): CHECKPOINT}
    with FileServer(files) as server:
        monkeypatch.setenv("POSETRACK_MIRROR", server.url + "/")
        yield server


def test_list_shows_both_zoos_which_files_are_cached_and_the_presets(capsys, cache):
    cache.mkdir(parents=True)
    (cache / "rtmdet_nano_person.onnx").write_bytes(ONNX)
    (cache / POSE_FILE).write_bytes(CHECKPOINT)
    assert weights.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines if line.strip()}
    assert rows["rtmdet-nano"] == ["rtmdet-nano", "onnx", "yes"]
    assert rows[CASCADE] == [CASCADE, "cascade_rcnn_x101_64x4d_fpn", "no"]
    assert rows[POSE][-1] == "yes" and rows["res50_coco_256x192"][-1] == "no"
    assert [line for line in lines if line.startswith("preset")] == [
        f"preset accurate: {CASCADE} + {POSE} (posetrack-weights download --preset accurate)",
        f"preset fast: rtmdet-nano + {POSE} (posetrack-weights download --preset fast)"]


def test_path_of_pose_models_detectors_and_aliases(capsys, cache):
    assert weights.main(["path", "rtmdet-nano", "cascade-rcnn-x101", POSE]) == 0
    assert capsys.readouterr().out.splitlines() == [
        str(cache / "rtmdet_nano_person.onnx"), str(cache / CASCADE_FILE), str(cache / POSE_FILE)]


@pytest.mark.parametrize("name,message", [
    ("nope", "unknown model 'nope': not a pose zoo name nor a detector (posetrack-weights "
             "list shows the zoos)"),
    ("detections", "detector 'detections' has no zoo weights: it reads the file passed with "
                   "--detector-checkpoint")])
def test_path_of_a_name_without_zoo_weights(capsys, name, message):
    assert weights.main(["path", name]) == 1
    assert capsys.readouterr().err == f"posetrack-weights: error: {message}\n"


def test_download_preset_fast_fetches_both_files_once(capsys, cache, mirror):
    assert weights.main(["download", "--preset", "fast"]) == 0
    assert capsys.readouterr().out.splitlines() == [str(cache / "rtmdet_nano_person.onnx"),
                                                    str(cache / POSE_FILE)]
    assert (cache / "rtmdet_nano_person.onnx").read_bytes() == ONNX
    assert (cache / POSE_FILE).read_bytes() == CHECKPOINT
    assert sorted(p.name for p in cache.iterdir()) == sorted(["rtmdet_nano_person.onnx",
                                                              POSE_FILE])
    assert sorted(mirror.paths_requested()) == sorted([
        mirror_path(detector_zoo()["rtmdet-nano"].url), mirror_path(pose_models()[POSE].url)])
    assert weights.main(["download", "--preset", "fast", POSE]) == 0   # cached; POSE once
    assert len(mirror.requests) == 2 and len(capsys.readouterr().out.splitlines()) == 2


def test_download_preset_accurate_and_names(capsys, cache, mirror):
    assert weights.main(["download", "--preset", "accurate", "rtmdet-nano"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        str(cache / CASCADE_FILE), str(cache / POSE_FILE), str(cache / "rtmdet_nano_person.onnx")]


def test_corrupt_download_is_refused_and_a_retry_works(capsys, cache, mirror):
    mirror.corrupt[mirror_path(pose_models()[POSE].url)] = CHECKPOINT[:-1] + b"X"
    assert weights.main(["download", POSE]) == 1
    assert "sha256 is" in capsys.readouterr().err and not (cache / POSE_FILE).exists()
    assert weights.main(["download", POSE]) == 0
    assert (cache / POSE_FILE).read_bytes() == CHECKPOINT


def test_offline_download_lists_every_missing_file_once(capsys, cache):
    assert weights.main(["download", "--preset", "fast"]) == 1
    err = capsys.readouterr().err
    assert err.count("posetrack-weights: error: ") == 1
    assert err.startswith("posetrack-weights: error: 2 model file(s) are missing")
    for text in (detector_zoo()["rtmdet-nano"].url, str(cache / RTMDET_ZIP),
                 str(cache / "rtmdet_nano_person.onnx"), "--detector-checkpoint FILE",
                 pose_models()[POSE].url, str(cache / POSE_FILE), "--pose-checkpoint FILE"):
        assert text in err, text


def test_download_needs_a_name_or_a_preset(capsys):
    with pytest.raises(SystemExit) as info:
        weights.main(["download"])
    assert info.value.code == 2 and "name at least one model, or --preset" in \
        capsys.readouterr().err


def test_needed_weights_of_a_run_config(tmp_path):
    fast = weights.needed_weights(load_run_config(preset="fast"))
    assert [(item.what, item.flag, item.checkpoint) for item in fast] == [
        ("detector rtmdet-nano", "--detector-checkpoint", None),
        (f"pose model {POSE}", "--pose-checkpoint", None)]
    assert fast[0].source == detector_zoo()["rtmdet-nano"].weights
    assert fast[1].source == pose_models()[POSE].weights
    overrides = {"detector": {"name": "detections", "checkpoint": "dets.json"},
                 "pose": {"checkpoint": "mine.pth"}}
    own = weights.needed_weights(load_run_config(overrides=overrides, preset="fast"))
    assert [(item.what, item.checkpoint) for item in own] == [(f"pose model {POSE}",
                                                               "mine.pth")]
