"""Bad values and odd sources (issue 13, items 8, 10 and 15): config values of the wrong type
or range are refused when the config is read, tiny frames get an optical flow, a --start past
the end says so, and a source warning is printed once."""
import pytest

from apps import run, webcam
from tests.apps.faults.common import (assert_untouched, earlier_output, frame_folder,
                                      frames_in_json, model_args, one_error_line, run_process)
from tests.shared_data import shared_path
from tracker.tracking.pipeline import Pipeline


def _video():
    return str(shared_path("data", "videos", "basketball-2p-426x240.mp4"))


def _no_frame_expected(self, frame, prepared=None):
    raise AssertionError("a frame was processed with a config that should have been refused")


# -- 8. every config value has a type and a range ---------------------------------------------

@pytest.mark.parametrize("yaml_text,expected", [
    ('tracker: {min_similarity: "high"}', "tracker.min_similarity must be a number in [0, 1], "
     "got 'high'"),
    ('flow: {max_side: "640"}', "flow.max_side must be an integer >= 0, got '640'"),
    ('pose: {flip_test: "no"}', "pose.flip_test must be true or false, got 'no'"),
    ("detector: {score_threshold: -0.5}", "detector.score_threshold must be a number in [0, 1], "
     "got -0.5"),
    ("pipeline: {detect_every: 2.5}", "pipeline.detect_every must be a positive integer, "
     "got 2.5"),
    ("tracker: {min_similarity: true}", "tracker.min_similarity must be a number in [0, 1], "
     "got True"),
    ("output: {min_person_score: .nan}", "output.min_person_score must be a number in [0, 1], "
     "got nan")])
def test_config_values_are_checked_when_read(tmp_path, capsys, monkeypatch, yaml_text,
                                             expected):
    monkeypatch.setattr(Pipeline, "__call__", _no_frame_expected)
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text + "\n")
    out = earlier_output(tmp_path / "out" / "t.json")
    assert run.main([_video(), "--out", str(out), "--config", str(config), "--quiet",
                     *model_args()]) == 1
    line = one_error_line(capsys.readouterr().err, "posetrack-run")
    assert f"{config}: {expected}" in line
    assert_untouched(out)


# -- 10. frames under 12 pixels on a side -----------------------------------------------------

def test_tiny_frames_run_with_optical_flow(tmp_path, capsys):
    folder = frame_folder(tmp_path / "frames", [(8, 8), (11, 40), (40, 11), (8, 8)])
    out = tmp_path / "t.json"
    assert run.main([str(folder), "--out", str(out), "--quiet", "--flow", "dis",
                     *model_args()]) == 0
    assert frames_in_json(out) == 4
    assert "Traceback" not in capsys.readouterr().err


def test_tiny_frames_in_the_webcam_demo(tmp_path, capsys):
    folder = frame_folder(tmp_path / "frames", [(8, 8)] * 3)
    out = tmp_path / "t.json"
    assert webcam.main(["--source", str(folder), "--no-display", "--no-realtime", "--quiet",
                        "--save", str(out), *model_args()]) == 0
    assert frames_in_json(out) == 3


# -- 15. --start past the end; a source warning printed once ----------------------------------

def test_start_past_the_end_is_an_error_and_writes_nothing(tmp_path, capsys):
    out = earlier_output(tmp_path / "t.json")
    assert run.main([_video(), "--out", str(out), "--start", "100000", "--quiet",
                     *model_args()]) == 1
    line = one_error_line(capsys.readouterr().err, "posetrack-run")
    assert "no frame at or after --start 100000" in line and "give a smaller --start" in line
    assert_untouched(out)


def test_start_past_the_end_of_a_frame_folder(tmp_path, capsys):
    folder = frame_folder(tmp_path / "frames", [(64, 48)] * 3)
    assert run.main([str(folder), "--out", str(tmp_path / "t.json"), "--start", "3", "--quiet",
                     *model_args()]) == 1
    assert "no frame at or after --start 3" in capsys.readouterr().err
    assert not (tmp_path / "t.json").exists()


def test_a_source_warning_is_printed_once(tmp_path):
    data = shared_path("data", "videos", "street-crowd-720p.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[:len(data) // 20])
    done = run_process("run", cut, "--out", tmp_path / "t.json", "--quiet", "--no-flip",
                       *model_args())
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("cut.avi: decoding stopped at frame") == 1, done.stderr
