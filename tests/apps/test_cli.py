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
