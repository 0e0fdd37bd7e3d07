"""posetrack-run end to end with the real ONNX detector and pose model: outputs, render,
bad input and interruption."""
import json

import cv2
import numpy as np
import pytest

from apps import run
from tests.shared_data import shared_path
from tracker.io.posetrack18 import TrackWriter
from tracker.pose.zoo import keypoint_sets
from tracker.types import FrameResult, Poses

DETECTOR = ("models", "rtmdet-nano-person", "end2end.onnx")
POSE = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
POSETRACK = ("data", "mmpose-testdata", "posetrack18")


def _models():
    return ["--detector-checkpoint", str(shared_path(*DETECTOR)),
            "--pose-model", "pp_tinypose_256x192", "--pose-checkpoint", str(shared_path(*POSE))]


def _video(name="basketball-2p-426x240.mp4"):
    return str(shared_path("data", "videos", name))


def test_video_to_posetrack18_json_and_rendered_video(tmp_path, capsys):
    out, render = tmp_path / "tracks.json", tmp_path / "tracks.mp4"
    code = run.main([_video(), "--out", str(out), "--render", str(render), "--max-frames", "6",
                     "--quiet", *_models()])
    assert code == 0
    data = json.loads(out.read_text())
    assert [i["file_name"] for i in data["images"]] == [
        f"basketball-2p-426x240/{i:06d}.jpg" for i in range(6)]
    per_frame = [sum(a["image_id"] == i for a in data["annotations"]) for i in range(6)]
    assert per_frame == [2] * 6                          # the two players, every frame
    assert {a["track_id"] for a in data["annotations"]} == {0, 1}
    capture = cv2.VideoCapture(str(render))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    err = capsys.readouterr().err
    assert "wrote 6 frames, 2 tracks" in err
    assert "people per frame: mean 2.0, max 2" in err
    assert "track lifetimes: median 6 frames, longest 6; 0 of 2 tracks live <= 3 frames" in err


def test_posetrack_frame_folder_gives_poseval_file_names(tmp_path):
    folder = shared_path(*POSETRACK, "videos", "000001_mpiinew_test")
    out = tmp_path / "000001_mpiinew_test.json"
    assert run.main([str(folder), "--out", str(out), "--quiet", "--no-flip", "--max-frames", "4",
                     *_models()]) == 0
    data = json.loads(out.read_text())
    names = [i["file_name"] for i in data["images"]]
    assert names == [f"posetrack18/videos/000001_mpiinew_test/{i:06d}.jpg" for i in range(4)]
    assert data["annotations"] and all(len(a["keypoints"]) == 51 for a in data["annotations"])


def test_ground_truth_boxes_and_coco_format(tmp_path):
    folder = shared_path(*POSETRACK, "images", "val", "012834_mpii_test")
    annotations = shared_path(*POSETRACK, "annotations", "val", "012834_mpii_test.json")
    out = tmp_path / "coco.json"
    code = run.main([str(folder), "--out", str(out), "--quiet", "--format", "coco",
                     "--detector", "posetrack-gt", "--detector-checkpoint", str(annotations),
                     "--pose-model", "pp_tinypose_256x192",
                     "--pose-checkpoint", str(shared_path(*POSE))])
    assert code == 0
    results = json.loads(out.read_text())
    gt = json.loads(annotations.read_text())
    labelled = [a for a in gt["annotations"] if any(a["keypoints"][2::3])]
    assert len(results) == len(labelled)
    assert sorted(r["track_id"] for r in results) == list(range(len(labelled)))
    assert all(len(r["keypoints"]) == 51 for r in results)


@pytest.mark.parametrize("overlap", [[], ["--no-overlap"]])
def test_ctrl_c_writes_the_frames_finished_so_far(tmp_path, monkeypatch, capsys, overlap):
    import threading

    from tracker.tracking.pipeline import Pipeline

    original = Pipeline.__call__

    def interrupt_on_third_frame(self, frame, prepared=None):
        if frame.index == 2:
            raise KeyboardInterrupt
        return original(self, frame, prepared)

    monkeypatch.setattr(Pipeline, "__call__", interrupt_on_third_frame)
    out = tmp_path / "tracks.json"
    code = run.main([_video(), "--out", str(out), "--quiet", *_models(), *overlap])
    assert code == 130
    assert len(json.loads(out.read_text())["images"]) == 2
    assert "interrupted: wrote the 2 frames finished so far" in capsys.readouterr().err
    assert not [t for t in threading.enumerate() if t.name.startswith("posetrack-")]


@pytest.mark.parametrize("extra", [[], ["--render", "{tmp}/r.mp4"], ["--detect-every", "2"]])
def test_overlapped_run_writes_the_same_bytes_as_the_sequential_one(tmp_path, extra):
    outputs = []
    for mode in ([], ["--no-overlap"]):
        out = tmp_path / f"tracks{len(outputs)}.json"
        flags = [flag.format(tmp=tmp_path) for flag in extra]
        assert run.main([_video(), "--out", str(out), "--max-frames", "40", "--quiet",
                         *_models(), *flags, *mode]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(json.loads(outputs[0])["images"]) == 40


def test_truncated_video_processes_frames_up_to_the_damage(tmp_path, caplog):
    data = shared_path("data", "videos", "street-crowd-720p.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[:len(data) // 10])        # decodes 10 frames
    out = tmp_path / "tracks.json"
    assert run.main([str(cut), "--out", str(out), "--quiet", "--no-flip", *_models()]) == 0
    frames = len(json.loads(out.read_text())["images"])
    assert 0 < frames < 205
    # logged once, when met (tests/apps/test_faults.py checks the command prints it once)
    assert f"cut.avi: decoding stopped at frame {frames} of 205" in caplog.text


def _fails(args, capsys, *needles):
    assert run.main(args) == 1
    err = capsys.readouterr().err
    if err.startswith("posetrack-run: preset "):      # the run had started: the first line
        err = err.split("\n", 1)[1]
    assert err.startswith("posetrack-run: error: ")
    for needle in needles:
        assert needle in err
    return err


def test_bad_sources(tmp_path, capsys):
    out = str(tmp_path / "t.json")
    _fails([str(tmp_path / "missing.mp4"), "--out", out, *_models()], capsys, "missing.mp4")
    text = tmp_path / "notes.dat"     # (a .txt is a list of inputs: tests/apps/test_batch.py)
    text.write_text("not a video\n" * 50)
    _fails([str(text), "--out", out, *_models()], capsys, "notes.dat is not a video")
    _fails(["99", "--out", out, *_models()], capsys, "camera 99")
    assert not (tmp_path / "t.json").exists()


def test_precision_flag_errors(tmp_path, capsys):
    out = str(tmp_path / "t.json")
    _fails([_video(), "--out", out, "--exact", "--precision", "bfloat16", *_models()], capsys,
           "--exact runs the pose network in float32; leave out --precision bfloat16")
    _fails([_video(), "--out", out, "--precision", "bfloat16", *_models()], capsys,
           "pp_tinypose_256x192 is an ONNX model", "posetrack-export --fp16")
    assert not (tmp_path / "t.json").exists()


def test_bad_detections_file_keeps_an_existing_output(tmp_path, capsys):
    out = tmp_path / "tracks.json"
    out.write_text("earlier results")
    detections = tmp_path / "dets.json"
    detections.write_text(json.dumps([{"image_id": 0, "bbox": [float("nan"), 0, 10, 10],
                                       "score": 0.9, "category_id": 1}]))
    assert '"bbox": [NaN, 0, 10, 10]' in detections.read_text()     # a NaN box, not a null
    args = [_video(), "--out", str(out), "--quiet", "--detector", "detections",
            "--detector-checkpoint", str(detections), "--pose-model", "pp_tinypose_256x192",
            "--pose-checkpoint", str(shared_path(*POSE))]
    _fails(args, capsys, "dets.json: entry 0: 'bbox' has a non-finite value: [nan, 0, 10, 10]")
    detections.write_text(json.dumps([{"file_name": "elsewhere/000000.jpg",
                                       "bbox": [0, 0, 10, 10], "score": 0.9}]))
    _fails(args, capsys, "dets.json: entry 0: missing field 'image_id'")
    assert out.read_text() == "earlier results"


def test_frames_without_people(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), np.full((240, 320, 3), 90, np.uint8))
    out = tmp_path / "t.json"
    assert run.main([str(folder), "--out", str(out), "--quiet", *_models()]) == 0
    data = json.loads(out.read_text())
    assert len(data["images"]) == 3 and data["annotations"] == []


def test_bad_config_and_output_folder(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("tracker:\n  min_similarty: 0.2\n")
    _fails([_video(), "--out", str(tmp_path / "t.json"), "--config", str(config), *_models()],
           capsys, "run.yaml", "min_similarty")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _fails([_video(), "--out", str(blocker / "t.json"), "--max-frames", "1", *_models()],
           capsys, "--out", "cannot create its folder", "a-file")


def test_output_and_render_folders_are_created(tmp_path, capsys):
    """The README's frame-folder example writes into pred/, which need not exist."""
    folder = shared_path(*POSETRACK, "images", "val", "012834_mpii_test")
    out, render = tmp_path / "pred" / "012834_mpii_test.json", tmp_path / "renders" / "r.mp4"
    assert run.main([str(folder), "--out", str(out), "--render", str(render), "--quiet",
                     "--no-flip", *_models()]) == 0
    assert len(json.loads(out.read_text())["images"]) == 1       # the folder's one frame
    assert render.stat().st_size > 0


@pytest.mark.parametrize("flag,value,expected", [
    ("--detect-every", "0", "must be an integer >= 1, got 0"),
    ("--pose-every", "0", "must be an integer >= 1, got 0"),
    ("--stride", "0", "must be an integer >= 1, got 0"),
    ("--max-frames", "0", "must be an integer >= 1, got 0"),
    ("--max-people", "-1", "must be an integer >= 0, got -1"),
    ("--start", "-2", "must be an integer >= 0, got -2"),
    ("--detect-every", "two", "expected an integer >= 1, got 'two'")])
def test_invalid_counts_exit_2_naming_the_flag(capsys, flag, value, expected):
    with pytest.raises(SystemExit) as info:
        run.main(["video.mp4", "--out", "t.json", flag, value])
    assert info.value.code == 2
    assert f"argument {flag}: {expected}" in capsys.readouterr().err


def test_cuda_device_without_a_gpu_names_the_flags(tmp_path, capsys, monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    err = _fails([_video(), "--out", str(tmp_path / "t.json"), "--device", "cuda", *_models()],
                 capsys, "device 'cuda' requested", "use --device cpu or --device auto")
    assert "device='cpu'" not in err


def _frame(index, box_scores, track_ids):
    n = len(box_scores)
    keypoints = np.tile(np.linspace(10, 100, 17, dtype=np.float32)[:, None], (n, 1, 2))
    poses = Poses(keypoints=keypoints, keypoint_scores=np.full((n, 17), 0.9, np.float32),
                  boxes_xyxy=np.tile(np.float32([10, 10, 100, 100]), (n, 1)),
                  box_scores=np.float32(box_scores))
    return FrameResult(index=index, name=f"{index:06d}.jpg", poses=poses,
                       track_ids=np.array(track_ids, np.int64))


def test_summary_counts_what_was_written_not_what_was_tracked(tmp_path):
    """Track 2 is tracked but every one of its poses is below --min-person-score."""
    writer = TrackWriter(tmp_path / "t.json", sequence_name="seq", min_person_score=0.5,
                         keypoint_names=keypoint_sets()["posetrack18"].names)
    for index, (scores, ids) in enumerate([([0.9, 0.8, 0.2], [0, 1, 2]), ([0.9, 0.3], [0, 2]),
                                           ([0.9, 0.9], [0, 3]), ([0.9], [0])]):
        writer.add(_frame(index, scores, ids))
    path = writer.close()
    assert writer.max_track_id + 1 == 4                  # what the old summary reported
    assert run.summary(writer, path, 10.0, "preset fast (test)").splitlines() == [
        f"wrote 4 frames, 3 tracks to {path} (10.0 frames/s)",
        "people per frame: mean 1.5, max 2",
        "track lifetimes: median 1 frames, longest 4; 2 of 3 tracks live <= 3 frames",
        "preset fast (test)"]


def test_command_line_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        run.main(["video.mp4"])                     # --out is required
    assert info.value.code == 2


def test_pose_every_and_max_people_flags(tmp_path):
    out = tmp_path / "t.json"
    assert run.main([_video(), "--out", str(out), "--quiet", "--max-frames", "4", "--no-flip",
                     "--pose-every", "2", "--max-people", "1", *_models()]) == 0
    data = json.loads(out.read_text())
    per_frame = [sum(a["image_id"] == i for a in data["annotations"]) for i in range(4)]
    assert per_frame == [1, 1, 1, 1]
