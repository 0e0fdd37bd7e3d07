"""Stopping a run keeps its finished work (issue 13, items 5 and 6): SIGTERM (``timeout``,
``docker stop``, Kubernetes, Ray) and SIGHUP (a closed terminal) stop posetrack-run like
Ctrl-C, sent as real signals to a real process; a writer that cannot flush still cleans up."""
import errno
import signal
import subprocess
import time

import numpy as np
import pytest

from tests.apps.faults.common import (BASKETBALL, command, environment, frames_in_json,
                                      hidden_files, model_args, video_frame_count)
from tests.shared_data import shared_path
from tracker.errors import OutputError
from tracker.io.posetrack18 import TrackWriter
from tracker.types import FrameResult, Poses


def _wait_for_hidden_file(folder, process, timeout_s=120.0) -> None:
    """Until the run has opened its temporary output (models loaded, frames flowing)."""
    deadline = time.monotonic() + timeout_s
    while not hidden_files(folder):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the run never started writing: {process.communicate()}")
        time.sleep(0.1)


@pytest.mark.parametrize("signum,code,name", [(signal.SIGTERM, 143, "SIGTERM"),
                                              (signal.SIGHUP, 129, "SIGHUP")])
def test_a_stop_signal_writes_the_frames_finished_so_far(tmp_path, signum, code, name):
    out, render = tmp_path / "t.json", tmp_path / "r.mp4"
    process = subprocess.Popen(
        command("run", shared_path(*BASKETBALL), "--out", out, "--render", render, "--quiet",
                *model_args()),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment(),
        start_new_session=True,    # its own session: the signal is not ignored as a job's
        # and not ignored because the tests themselves run under nohup
        preexec_fn=lambda: signal.signal(signum, signal.SIG_DFL))
    _wait_for_hidden_file(tmp_path, process)
    time.sleep(2.0)                # some frames done, far from the 300 of the video
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    frames = frames_in_json(out)
    assert 0 < frames < 300
    assert f"stopped by {name}: wrote the {frames} frames finished so far to {out}" in err
    assert video_frame_count(render) == frames
    assert hidden_files(tmp_path) == []


class _FullDisk:
    """A text file whose every write, flush and close fails like a full disk."""

    def write(self, *text):
        raise OSError(errno.ENOSPC, "No space left on device")

    flush = close = write


def _one_person_frame() -> FrameResult:
    poses = Poses(boxes_xyxy=np.array([[0, 0, 10, 20]], np.float32),
                  box_scores=np.array([0.9], np.float32),
                  keypoints=np.full((1, 17, 2), 5.0, np.float32),
                  keypoint_scores=np.full((1, 17), 0.8, np.float32))
    return FrameResult(index=0, name="000000", timestamp_s=0.0, poses=poses,
                       track_ids=np.array([0]))


@pytest.mark.parametrize("step", ["add", "close"])
def test_a_writer_on_a_full_disk_removes_its_temporary_file(tmp_path, step):
    # the old abort() closed the file first, which raised ENOSPC again: the unlink never ran
    from tracker.pose.zoo import keypoint_sets
    out = tmp_path / "t.json"
    out.write_text("earlier")
    writer = TrackWriter(out, keypoint_names=keypoint_sets()["coco"].names, sequence_name="s")
    writer._file.close()
    writer._file = _FullDisk()
    with pytest.raises(OutputError, match=rf"cannot write {out}: No space left on device"):
        if step == "add":
            writer.add(_one_person_frame())
        else:
            writer.close()
    assert out.read_text() == "earlier"
    assert hidden_files(tmp_path) == []
