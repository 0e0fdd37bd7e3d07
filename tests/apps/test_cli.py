"""The apps' shared main: exit codes 0/1/130, one-line errors, --verbose tracebacks."""
import argparse
import logging

import pytest

from apps import bench, cli, evaluate, pose_image, run, val, webcam, weights
from tracker.errors import ConfigError, PoseTrackError
from tracker.eval.dataset import DatasetError
from tracker.io.video import SourceError


def _args(verbose=False):
    return argparse.Namespace(verbose=verbose)


def _raising(error):
    def work(args):
        raise error
    return work


def test_the_return_value_of_run_is_the_exit_code():
    assert cli.run_main("posetrack-x", _args(), lambda args: 0) == 0
    assert cli.run_main("posetrack-x", _args(), lambda args: 130) == 130


@pytest.mark.parametrize("error", [
    ConfigError("run.yaml: tracker.matcher must be one of ['greedy', 'hungarian']"),
    SourceError("cannot open camera 99"), DatasetError("x is not a PoseTrack18 root"),
    FileNotFoundError("no such file"), PermissionError("read-only"), ValueError("bad value"),
])
def test_expected_errors_are_one_line_and_exit_1(capsys, error):
    assert cli.run_main("posetrack-x", _args(), _raising(error)) == 1
    assert capsys.readouterr().err == f"posetrack-x: error: {error}\n"


def test_verbose_shows_the_traceback_then_the_line(capsys):
    assert cli.run_main("posetrack-x", _args(verbose=True),
                        _raising(ConfigError("bad key"))) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "tracker.errors.ConfigError: bad key\n" in err
    assert err.endswith("posetrack-x: error: bad key\n")


def test_a_bug_is_not_an_expected_error():
    with pytest.raises(KeyError):
        cli.run_main("posetrack-x", _args(), _raising(KeyError("oops")))
    with pytest.raises(TypeError):
        cli.run_main("posetrack-x", _args(), _raising(TypeError("oops")))


def test_every_project_error_derives_from_the_root():
    from detectors.files import DetectionsFileError
    from detectors.mmdet_adapter import MMDetNotInstalledError
    from tracker.eval.posetrack_types import PoseTrackEvalError
    from tracker.weights import ChecksumError, WeightsUnavailableError
    for error, builtin in ((DatasetError, ValueError), (PoseTrackEvalError, ValueError),
                           (SourceError, ValueError), (DetectionsFileError, ValueError),
                           (WeightsUnavailableError, FileNotFoundError),
                           (ChecksumError, ValueError), (MMDetNotInstalledError, ImportError)):
        assert issubclass(error, PoseTrackError) and issubclass(error, builtin), error


def test_ctrl_c_is_130_with_the_apps_line(capsys):
    assert cli.run_main("posetrack-x", _args(), _raising(KeyboardInterrupt())) == 130
    assert capsys.readouterr().err == "interrupted\n"
    done = []
    assert cli.run_main("posetrack-x", _args(), _raising(KeyboardInterrupt()),
                        interrupted=lambda: f"interrupted after {len(done)} frames") == 130
    assert capsys.readouterr().err == "interrupted after 0 frames\n"


def test_verbose_logs_the_projects_debug_lines():
    cli.setup_logging(True)
    try:
        assert logging.getLogger("tracker.io.video").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("detectors.rtmdet").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("urllib3").isEnabledFor(logging.DEBUG)
    finally:
        cli.setup_logging(False)
    assert not logging.getLogger("tracker.io.video").isEnabledFor(logging.DEBUG)


def test_report_error_with_context(capsys):
    cli.report_error("posetrack-webcam", OSError("disk full"), False, context="cannot write s")
    assert capsys.readouterr().err == "posetrack-webcam: error: cannot write s: disk full\n"


@pytest.mark.parametrize("app, argv", [
    (run, ["video.mp4", "--out", "t.json"]), (val, ["root", "--out", "pred"]),
    (webcam, []), (evaluate, ["gt", "pred"]),
    (bench, ["coco", "--data-root", "d", "--model", "m"]),
    (pose_image, ["photo.jpg", "--model", "m"]), (weights, ["list"]),
])
def test_every_app_has_verbose(app, argv):
    assert app.parse_args([*argv, "--verbose"]).verbose is True
    assert app.parse_args(argv).verbose is False


def _parser():
    return argparse.ArgumentParser(prog="posetrack-x")


def test_outputs_that_are_inputs_or_each_other_or_folders_exit_2(tmp_path, capsys):
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"x")
    cases = [({"--out": image}, {"IMAGE": image}, "--out"),
             ({"--out": tmp_path / "a" / ".." / "photo.jpg"}, {"IMAGE": image}, "is the input"),
             ({"--out": tmp_path / "t.json", "--render": tmp_path / "t.json"}, {},
              "--render and --out are the same file"),
             ({"--out": tmp_path}, {}, "is a folder")]
    for outputs, inputs, expected in cases:
        with pytest.raises(SystemExit) as info:
            cli.check_output_paths(_parser(), outputs, inputs)
        assert info.value.code == 2
        assert expected in capsys.readouterr().err
    cli.check_output_paths(_parser(), {"--out": tmp_path / "t.json", "--render": None},
                           {"SOURCE": "0", "--config": None, "IMAGE": image})   # all fine


@pytest.mark.parametrize("app,argv", [
    (pose_image, ["{image}", "--model", "m", "--out", "{image}"]),
    (pose_image, ["{image}", "--model", "m", "--render", "{image}"]),
    (webcam, ["--source", "{image}", "--record", "{image}"]),
    (evaluate, ["gt", "pred", "--json", "{folder}"]),
    (val, ["root", "--out", "pred", "--json", "{image}", "--config", "{image}"])])
def test_every_app_refuses_outputs_that_destroy_inputs(tmp_path, capsys, app, argv):
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"keep")
    with pytest.raises(SystemExit) as info:
        app.main([a.format(image=image, folder=tmp_path) for a in argv])
    assert info.value.code == 2
    assert image.read_bytes() == b"keep"


def test_stops_deferred_raise_at_the_end_of_the_block():
    import os
    import signal

    with cli.stop_signals_raised():
        done = []
        with pytest.raises(cli.Stopped) as info:
            with cli.stops_deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                done.append("the whole block ran")
        assert done == ["the whole block ran"] and cli.stop_exit_code(info.value) == 143
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL   # the handler is put back
