"""Outputs are never destroyed (issue 13, items 1-4 and 7): an output that is an input or
another output is refused before any work, a full disk while writing is an error that keeps
the earlier file, a failed run keeps an earlier render, and concurrent runs each write whole
files under their own temporary names."""
import json
import os
import resource
import subprocess

import pytest

from apps import run
from tests.apps.faults.common import (BASKETBALL, assert_untouched, command, earlier_output,
                                      environment, frame_folder, frames_in_json, hidden_files,
                                      model_args, one_error_line, run_process,
                                      video_frame_count)
from tests.shared_data import shared_path
from tracker.tracking.pipeline import Pipeline


def _video():
    return str(shared_path(*BASKETBALL))


def _refused(capsys, argv, *needles):
    """``argv`` exits 2 at parsing, naming ``needles``; returns the error text."""
    with pytest.raises(SystemExit) as info:
        run.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: posetrack-run")
    for needle in needles:
        assert needle in err
    return err


# -- 1. an output path that is an input or another output ------------------------------------

def test_out_that_is_the_source_video_is_refused(tmp_path, capsys):
    source = earlier_output(tmp_path / "c.mp4")
    _refused(capsys, [str(source), "--out", str(source)],
             "--out", "is the input SOURCE", "would destroy it")
    _refused(capsys, [str(source), "--out", str(tmp_path / "t.json"), "--render", str(source)],
             "--render", "is the input SOURCE")
    assert_untouched(source)


def test_out_that_is_the_source_by_another_spelling_or_a_link_is_refused(tmp_path, capsys,
                                                                         monkeypatch):
    source = earlier_output(tmp_path / "c.mp4")
    (tmp_path / "link.mp4").symlink_to(source)
    monkeypatch.chdir(tmp_path)
    _refused(capsys, ["c.mp4", "--out", str(tmp_path / "sub" / ".." / "c.mp4")], "--out")
    _refused(capsys, [str(source), "--out", "link.mp4"], "--out")
    assert_untouched(source)


def test_render_and_out_on_one_file_is_refused(tmp_path, capsys):
    out = earlier_output(tmp_path / "x")
    _refused(capsys, [_video(), "--out", str(out), "--render", str(out)],
             "--render and --out are the same file")
    assert_untouched(out)


@pytest.mark.parametrize("flag", ["--config", "--detector-checkpoint", "--pose-checkpoint"])
def test_out_that_is_an_input_file_is_refused(tmp_path, capsys, flag):
    given = earlier_output(tmp_path / "input.bin")
    _refused(capsys, [_video(), "--out", str(given), flag, str(given)], f"is the input {flag}")
    assert_untouched(given)


# -- 7. output paths checked before the first frame ------------------------------------------

@pytest.mark.parametrize("flag", ["--out", "--render"])
def test_an_existing_folder_as_output_is_refused_before_any_frame(tmp_path, capsys, flag,
                                                                  monkeypatch):
    monkeypatch.setattr(Pipeline, "__call__", _no_frame_expected)
    folder = tmp_path / "results"
    folder.mkdir()
    argv = [_video(), "--out", str(tmp_path / "t.json"), "--render", str(tmp_path / "r.mp4")]
    argv[argv.index(flag) + 1] = str(folder)
    _refused(capsys, argv, f"{flag} {folder} is a folder")


def _no_frame_expected(self, frame, prepared=None):
    raise AssertionError("a frame was processed before the outputs were checked")


def test_an_output_folder_that_cannot_be_written_fails_before_any_frame(tmp_path, capsys,
                                                                        monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders: the check cannot be seen as root")
    monkeypatch.setattr(Pipeline, "__call__", _no_frame_expected)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert run.main([_video(), "--out", str(locked / "t.json"), "--quiet",
                         *model_args()]) == 1
    finally:
        locked.chmod(0o755)
    line = one_error_line(capsys.readouterr().err, "posetrack-run")
    assert f"folder {locked} is not writable" in line


# -- 2. a full disk (a file-size limit) while writing ----------------------------------------

def _file_size_limit(limit_bytes: int):
    def limit() -> None:   # in the child: writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return limit


def test_a_render_cut_short_by_a_full_disk_is_an_error_and_keeps_the_earlier_render(tmp_path):
    # 30 frames: ~45 KB of JSON (fits), ~250 KB of video (does not fit in 150 KB)
    out, render = tmp_path / "o" / "t.json", earlier_output(tmp_path / "o" / "r.mp4")
    done = run_process("run", _video(), "--out", out, "--render", render, "--max-frames", 30,
                       "--quiet", *model_args(), preexec_fn=_file_size_limit(150_000))
    assert done.returncode == 1, done.stderr
    line = one_error_line(_ours(done.stderr), "posetrack-run")
    assert f"--render: {render}: the video written does not read back, expected 30" in line
    assert f"the tracks were written to {out}" in line
    assert_untouched(render)
    assert frames_in_json(out) == 30      # finished work is not lost


def test_tracks_cut_short_by_a_full_disk_are_an_error_and_keep_the_earlier_file(tmp_path):
    out = earlier_output(tmp_path / "o" / "t.json")
    done = run_process("run", _video(), "--out", out, "--max-frames", 30, "--quiet",
                       *model_args(), preexec_fn=_file_size_limit(20_000))
    assert done.returncode == 1, done.stderr
    line = one_error_line(_ours(done.stderr), "posetrack-run")
    assert f"cannot write {out}: File too large" in line
    assert_untouched(out)      # item 6: no hidden .t.json.*.tmp left behind either


def _ours(err: str) -> str:
    """stderr without the lines OpenCV and FFmpeg print themselves ("[ WARN:...", "[mov ...")."""
    return "\n".join(line for line in err.splitlines() if not line.startswith("["))


# -- 3. a failed run keeps the earlier render; mixed frame sizes are letterboxed -------------

def test_a_failed_run_keeps_the_earlier_render_and_tracks(tmp_path, capsys, monkeypatch):
    original = Pipeline.__call__

    def fail_at_third_frame(self, frame, prepared=None):
        if frame.index == 2:
            raise ValueError("the pose network failed")
        return original(self, frame, prepared)

    monkeypatch.setattr(Pipeline, "__call__", fail_at_third_frame)
    out, render = earlier_output(tmp_path / "t.json"), earlier_output(tmp_path / "r.mp4")
    assert run.main([_video(), "--out", str(out), "--render", str(render), "--quiet",
                     *model_args()]) == 1
    assert "the pose network failed" in one_error_line(capsys.readouterr().err, "posetrack-run")
    assert_untouched(out)
    assert_untouched(render)


def test_a_folder_of_mixed_frame_sizes_renders_every_frame(tmp_path):
    folder = frame_folder(tmp_path / "frames", [(96, 64), (64, 96), (200, 40), (96, 64)])
    out, render = tmp_path / "t.json", tmp_path / "r.mp4"
    assert run.main([str(folder), "--out", str(out), "--render", str(render), "--quiet",
                     *model_args()]) == 0
    assert frames_in_json(out) == 4
    assert video_frame_count(render) == 4          # letterboxed into the first frame's size
    assert hidden_files(tmp_path) == []


# -- 4. concurrent runs on the same outputs ---------------------------------------------------

def test_concurrent_runs_on_the_same_outputs_each_write_whole_files(tmp_path):
    out, render = tmp_path / "t.json", tmp_path / "r.mp4"
    runs = [subprocess.Popen(command("run", _video(), "--out", out, "--render", render,
                                     "--max-frames", frames, "--quiet", *model_args()),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=environment())
            for frames in (6, 9)]
    for process in runs:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    frames = frames_in_json(out)                   # the last finisher's, whole
    assert frames in (6, 9)
    assert video_frame_count(render) in (6, 9)
    assert json.loads(out.read_text())["images"][-1]["nframes"] == frames
    assert hidden_files(tmp_path) == []
