"""posetrack-run's presets: chosen by --preset or by whether CUDA is available (and said so),
layered under --config and flags; the seed's PoseTrack18 model as the default; and the
headline command on an empty cache, downloading the fast preset from a mirror on 127.0.0.1."""
import dataclasses
import hashlib

import numpy as np
import pytest

from apps import run
from apps.config import load_run_config
from detectors import detector_zoo
from tests.http_server import FileServer, mirror_path, zip_bytes
from tests.shared_data import shared_path
from tracker.io.posetrack18 import TrackWriter, read_posetrack18
from tracker.pose.zoo import get_pose_model_spec, keypoint_sets, pose_models
from tracker.types import FrameResult, Poses

POSE = "res50_posetrack18_256x192"
POSE_FILE = "res50_posetrack18_256x192-a62807c7_20201028.pth"
CASCADE = "cascade_rcnn_x101_64x4d_fpn_20e_coco"
FAST_WHY = "no CUDA device found; --preset accurate for the seed's Cascade R-CNN setup"
ACCURATE_WHY = "CUDA device found; --preset fast for RTMDet-nano"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder; downloads go to a closed port unless a test serves them."""
    monkeypatch.setenv("POSETRACK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("POSETRACK_MIRROR", "http://127.0.0.1:9/")
    return tmp_path / "cache"


def _fake_cuda(monkeypatch, available: bool) -> None:
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)


def test_default_pose_model_is_the_seeds_posetrack18_resnet_on_device_auto():
    config = load_run_config()
    assert config["pose"]["name"] == POSE and config["pose"]["flip_test"] is True
    assert config["device"] == "auto"
    assert get_pose_model_spec(POSE).keypoint_set.names == keypoint_sets()["posetrack18"].names


def test_presets_set_the_detector_pose_model_and_flip_test():
    fast, accurate = load_run_config(preset="fast"), load_run_config(preset="accurate")
    assert (fast["detector"]["name"], fast["pose"]["name"]) == ("rtmdet-nano", POSE)
    assert (accurate["detector"]["name"], accurate["pose"]["name"]) == (CASCADE, POSE)
    assert fast["pose"]["flip_test"] is False and accurate["pose"]["flip_test"] is True
    assert fast["device"] == accurate["device"] == "auto"
    assert fast["detector"]["score_threshold"] == 0.3          # RTMDet-nano's own options kept
    assert "onnx_threads" not in accurate["detector"]         # a new detector: its own options


def test_config_file_overrides_the_preset_and_flags_override_both(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("pose: {flip_test: true, max_batch_size: 8}\ndevice: cpu\n")
    config = load_run_config(mine, preset="fast")
    assert config["pose"]["flip_test"] is True and config["pose"]["max_batch_size"] == 8
    assert config["device"] == "cpu" and config["detector"]["name"] == "rtmdet-nano"
    args = run.parse_args(["v.mp4", "--out", "t.json", "--no-flip", "--device", "auto"])
    config = load_run_config(mine, run.overrides_from(args), preset="fast")
    assert config["pose"]["flip_test"] is False and config["device"] == "auto"


@pytest.mark.parametrize("requested,cuda,expected", [
    (None, False, ("fast", FAST_WHY)), (None, True, ("accurate", ACCURATE_WHY)),
    ("accurate", False, ("accurate", "--preset accurate")),
    ("fast", True, ("fast", "--preset fast"))])
def test_choose_preset(requested, cuda, expected):
    assert run.choose_preset(requested, cuda) == expected


@pytest.mark.parametrize("cuda,first_line,files", [
    (False, f"posetrack-run: preset fast ({FAST_WHY}): rtmdet-nano + {POSE}, device cpu",
     ["detector rtmdet-nano", f"pose model {POSE}"]),
    (True, f"posetrack-run: preset accurate ({ACCURATE_WHY}): {CASCADE} + {POSE}, device cuda",
     [f"detector {CASCADE}", f"pose model {POSE}"])])
def test_preset_follows_cuda_and_offline_lists_all_its_files_at_once(
        tmp_path, capsys, monkeypatch, cache, cuda, first_line, files):
    _fake_cuda(monkeypatch, cuda)
    code = run.main(["video.mp4", "--out", str(tmp_path / "t.json"), "--quiet"])
    assert code == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == first_line
    assert lines[1].startswith("posetrack-run: error: 2 model file(s) are missing")
    text = "\n".join(lines)
    for what, flag in zip(files, ["--detector-checkpoint", "--pose-checkpoint"]):
        assert f"  - {what}: " in text and f"or pass a local file with {flag} FILE" in text
    assert str(cache / POSE_FILE) in text
    assert not (tmp_path / "t.json").exists()


def test_posetrack18_model_is_written_without_the_coco_head_mapping(tmp_path):
    names = get_pose_model_spec(POSE).keypoint_set.names
    keypoints = np.arange(34, dtype=np.float32).reshape(1, 17, 2) + 10
    poses = Poses(keypoints=keypoints, keypoint_scores=np.full((1, 17), 0.9, np.float32),
                  boxes_xyxy=np.float32([[0, 0, 60, 60]]), box_scores=np.float32([0.9]))
    writer = TrackWriter(tmp_path / "t.json", keypoint_names=names, sequence_name="seq")
    writer.add(FrameResult(index=0, name="000000.jpg", poses=poses,
                           track_ids=np.array([0], np.int64)))
    written = read_posetrack18(writer.close()).annotations[0]["keypoints"]
    assert np.allclose(np.reshape(written, (17, 3))[:, :2], keypoints[0])   # head slots too


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fast_preset_mirror(monkeypatch, cache, parity_checkpoints):
    """A mirror on 127.0.0.1 serving the fast preset's files: the synthetic res50_posetrack18
    checkpoint (mmpose layout) and a zip holding the shared RTMDet-nano ONNX; the zoo's
    sha256 are those files' (in this process only; the zoo's addresses are unchanged)."""
    checkpoint = parity_checkpoints(POSE_FILE)
    onnx = shared_path("models", "rtmdet-nano-person", "end2end.onnx")
    rtmdet, pose = detector_zoo()["rtmdet-nano"], pose_models()[POSE]
    monkeypatch.setitem(detector_zoo(), "rtmdet-nano",
                        dataclasses.replace(rtmdet, sha256=_digest(onnx)))
    monkeypatch.setitem(pose_models(), POSE, dataclasses.replace(pose, sha256=_digest(checkpoint)))
    member = rtmdet.archive_member
    files = {mirror_path(rtmdet.url): zip_bytes({member: onnx.read_bytes()}),
             mirror_path(pose.url): checkpoint.read_bytes()}
    with FileServer(files) as server:
        monkeypatch.setenv("POSETRACK_MIRROR", server.url + "/")
        yield server


def test_headline_command_on_an_empty_cache_downloads_once_and_writes_posetrack18(
        tmp_path, capsys, monkeypatch, cache, fast_preset_mirror):
    _fake_cuda(monkeypatch, False)
    video = shared_path("data", "videos", "basketball-2p-426x240.mp4")
    out = tmp_path / "tracks.json"
    assert run.main([str(video), "--out", str(out), "--max-frames", "3", "--quiet"]) == 0
    assert sorted(fast_preset_mirror.paths_requested()) == sorted(fast_preset_mirror.files)
    assert (cache / "rtmdet_nano_person.onnx").is_file() and (cache / POSE_FILE).is_file()
    err = capsys.readouterr().err
    assert err.startswith(f"posetrack-run: preset fast ({FAST_WHY})")
    written = read_posetrack18(out)
    assert [image["file_name"] for image in written.images] == [
        f"basketball-2p-426x240/{i:06d}.jpg" for i in range(3)]
    assert written.categories[0]["keypoints"] == list(keypoint_sets()["posetrack18"].names)
    assert written.annotations                          # synthetic weights: people, any pose
    assert all(len(a["keypoints"]) == 51 and a["image_id"] in (0, 1, 2)
               for a in written.annotations)
    assert "wrote 3 frames" in err
    requests = len(fast_preset_mirror.requests)
    assert run.main([str(video), "--out", str(out), "--max-frames", "3", "--quiet"]) == 0
    assert len(fast_preset_mirror.requests) == requests      # the second run downloads nothing
