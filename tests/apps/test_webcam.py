"""posetrack-webcam with the real ONNX models: a video file as a simulated camera (headless),
every-frame mode, the end of a file, a camera that cannot be opened or is lost, Ctrl-C, and
the window under a virtual X server (Xvfb) read back with ``xwd``."""
import json
import os
import shutil
import struct
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from apps import webcam
from tests.shared_data import REPO_ROOT, shared_path
from tracker.tracking.pipeline import Pipeline
from tracker.io.render import track_color

DETECTOR = ("models", "rtmdet-nano-person", "end2end.onnx")
POSE = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
VIDEO = ("data", "videos", "basketball-2p-426x240.mp4")   # 426x240, 29.97 fps, 2 players
OpenCVCapture = cv2.VideoCapture


def _models():
    return ["--detector-checkpoint", str(shared_path(*DETECTOR)), "--pose-model",
            "pp_tinypose_256x192", "--pose-checkpoint", str(shared_path(*POSE)),
            "--device", "cpu"]


def _outputs(tmp_path):
    return ["--save", str(tmp_path / "tracks.json"), "--record", str(tmp_path / "live.mp4"),
            "--stats", str(tmp_path / "stats.json")]


def _frame_count(path):
    capture = OpenCVCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


@pytest.fixture
def slow_pipeline(monkeypatch):
    """Processing clearly slower than the 30 fps camera on any machine (GPU included)."""
    original = Pipeline.__call__

    def slow(self, frame):
        time.sleep(0.05)
        return original(self, frame)

    monkeypatch.setattr(Pipeline, "__call__", slow)


def test_simulated_camera_drops_stale_frames_and_writes_all_outputs(tmp_path, capsys,
                                                                    slow_pipeline):
    code = webcam.main(["--source", str(shared_path(*VIDEO)), "--no-display", "--max-frames",
                        "10", *_outputs(tmp_path), *_models()])
    assert code == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert set(stats) == {"frames_read", "frames_processed", "frames_dropped", "fps",
                          "latency_ms_p50", "latency_ms_p95"}
    assert stats["frames_processed"] == 10
    assert stats["frames_read"] == stats["frames_processed"] + stats["frames_dropped"]
    assert stats["frames_dropped"] >= 10              # >= 50 ms per frame against 33 ms
    assert 0 < stats["fps"] < 20 and 0 < stats["latency_ms_p50"] <= stats["latency_ms_p95"]
    tracks = json.loads((tmp_path / "tracks.json").read_text())
    indices = [image["frame_index"] for image in tracks["images"]]
    assert len(indices) == 10 and np.diff(indices).min() >= 1 and np.diff(indices).max() >= 2
    people = [sum(a["image_id"] == i for a in tracks["annotations"]) for i in range(10)]
    assert min(people) >= 1 and {0, 1} <= {a["track_id"] for a in tracks["annotations"]}
    assert _frame_count(tmp_path / "live.mp4") > 10   # held while frames were dropped
    err = capsys.readouterr().err
    assert "10 processed) to" in err and "processed 10 frames, latency p50" in err


def _video_duration_s(path):
    capture = OpenCVCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return _frame_count(path) / fps


def test_a_recording_lasts_as_long_as_the_session_although_frames_were_dropped(
        tmp_path, capsys, slow_pipeline):
    """The session's frames are processed at <= 20 fps against the camera's 30: each shown
    image is held until the next, so the video plays in real time, not 1.5-3x too fast."""
    started = time.perf_counter()
    code = webcam.main(["--source", str(shared_path(*VIDEO)), "--no-display", "--max-frames",
                        "20", *_outputs(tmp_path), *_models()])
    assert code == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    session_s = stats["frames_processed"] / stats["fps"]    # first frame to last display
    assert stats["frames_dropped"] >= 20 and session_s < time.perf_counter() - started
    duration = _video_duration_s(tmp_path / "live.mp4")
    assert abs(duration - session_s) <= 0.1 * session_s, (duration, session_s)
    assert f"s, 20 processed) to {tmp_path / 'live.mp4'}" in capsys.readouterr().err


def test_no_realtime_processes_every_frame_until_the_end_of_the_file(tmp_path, capsys):
    clip = tmp_path / "clip.avi"                       # the first 8 frames of the video
    capture = OpenCVCapture(str(shared_path(*VIDEO)))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (426, 240))
    for _ in range(8):
        writer.write(capture.read()[1])
    writer.release()
    capture.release()
    code = webcam.main(["--source", str(clip), "--no-display", "--no-realtime",
                        *_outputs(tmp_path), *_models()])
    assert code == 0
    assert f"end of {clip}" in capsys.readouterr().err
    tracks = json.loads((tmp_path / "tracks.json").read_text())
    assert [image["frame_index"] for image in tracks["images"]] == list(range(8))
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert (stats["frames_read"], stats["frames_processed"], stats["frames_dropped"]) == (8, 8, 0)
    assert _frame_count(tmp_path / "live.mp4") == 8       # every frame once, at the file's rate


def test_config_layers_webcam_defaults_then_the_users_file_then_flags(tmp_path, capsys):
    mine = tmp_path / "mine.yaml"
    mine.write_text("pipeline: {detect_every: 2}\npose: {flip_test: true}\n")
    config = webcam.load_config(webcam.parse_args(["--config", str(mine), "--detect-every", "7",
                                                   "--pose-checkpoint", "tiny.pth",
                                                   "--precision", "bfloat16"]))
    assert config["pipeline"]["detect_every"] == 7                      # flag
    assert config["pose"] == {**config["pose"], "flip_test": True,      # file
                              "checkpoint": "tiny.pth", "name": "res50_posetrack18_256x192",
                              "precision": "bfloat16"}
    assert config["flow"]["dis_preset"] == "ultrafast" and config["device"] == "auto"  # webcam
    assert config["tracker"]["similarity"] == "flow_oks"                # default.yaml
    mine.write_text("pipeline: {detect_evry: 2}\n")
    assert webcam.main(["--config", str(mine), "--no-display"]) == 1
    err = capsys.readouterr().err
    assert f"error: {mine}: unknown key(s) ['detect_evry'] in section 'pipeline'" in err


def test_a_camera_that_cannot_be_opened_is_exit_1_naming_it(tmp_path, capsys):
    code = webcam.main(["--source", "99", "--no-display", "--save",
                        str(tmp_path / "t.json"), *_models()])
    assert code == 1
    assert "posetrack-webcam: error: cannot open camera 99" in capsys.readouterr().err
    assert not (tmp_path / "t.json").exists()


def test_missing_output_folder_fails_before_anything_starts(tmp_path, capsys):
    code = webcam.main(["--source", "99", "--no-display", "--record",
                        str(tmp_path / "nowhere" / "x.mp4")])
    assert code == 1
    assert f"cannot write {tmp_path / 'nowhere' / 'x.mp4'}" in capsys.readouterr().err


def test_without_a_display_the_window_mode_says_to_use_no_display(capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert webcam.main(["--source", str(shared_path(*VIDEO)), *_models()]) == 1
    assert "DISPLAY is not set): use --no-display" in capsys.readouterr().err


class _CameraUnpluggedAfter6Reads:
    """A ``cv2.VideoCapture`` stand-in for camera 0 that serves the video's frames at 30 fps,
    then fails every read (the cable is pulled)."""

    def __init__(self, index, *args):
        self._video, self._reads = OpenCVCapture(str(shared_path(*VIDEO))), 0

    def isOpened(self):
        return True

    def get(self, prop):
        return self._video.get(prop)

    def read(self):
        time.sleep(1 / 30)
        self._reads += 1
        return self._video.read() if self._reads <= 6 else (False, None)

    def grab(self):
        return self.read()[0]

    def release(self):
        self._video.release()


def _camera_0_unplugged_after_6_reads(source, *args):
    """``cv2.VideoCapture`` for the test: camera 0 is the stand-in, files are read for real
    (the recording is read back when it is closed)."""
    return OpenCVCapture(source, *args) if isinstance(source, str) else \
        _CameraUnpluggedAfter6Reads(source)


def test_a_camera_lost_mid_run_is_exit_1_and_keeps_the_outputs(tmp_path, capsys, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(cv2, "VideoCapture", _camera_0_unplugged_after_6_reads)
        code = webcam.main(["--source", "0", "--no-display", *_outputs(tmp_path), *_models()])
    assert code == 1
    err = capsys.readouterr().err
    assert "posetrack-webcam: error: lost camera 0 after 6 frames" in err
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["frames_read"] == 6 and 1 <= stats["frames_processed"] <= 6
    tracks = json.loads((tmp_path / "tracks.json").read_text())
    assert len(tracks["images"]) == stats["frames_processed"]
    # recorded in real time: each processed image held for its slots at the camera's 30 fps,
    # so a slow machine records more frames than it processed
    recorded = _frame_count(tmp_path / "live.mp4")
    assert recorded >= stats["frames_processed"]
    assert f"wrote {recorded} frames (" in err and \
        f"{stats['frames_processed']} processed) to {tmp_path / 'live.mp4'}" in err


def test_ctrl_c_closes_the_outputs_and_exits_130(tmp_path, capsys, monkeypatch):
    original, calls = Pipeline.__call__, []

    def interrupt_on_fourth_call(self, frame):
        calls.append(frame.index)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(self, frame)

    monkeypatch.setattr(Pipeline, "__call__", interrupt_on_fourth_call)
    code = webcam.main(["--source", str(shared_path(*VIDEO)), "--no-display", "--no-realtime",
                        *_outputs(tmp_path), *_models()])
    assert code == 130
    assert "interrupted after 3 frames" in capsys.readouterr().err
    assert len(json.loads((tmp_path / "tracks.json").read_text())["images"]) == 3
    assert _frame_count(tmp_path / "live.mp4") == 3
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["frames_processed"] == 3
    assert stats["frames_read"] == 3 + stats["frames_dropped"]


# ---- the window, on a virtual X server ---------------------------------------------------

def read_xwd(data: bytes) -> np.ndarray:
    """An XWD screen dump (``xwd -root``) as an (H, W, 3) uint8 BGR image.

    XWD: a big-endian header of 25 uint32 (header_size, version, format, depth, width,
    height, xoffset, byte_order, bitmap_unit, bit_order, pad, bits_per_pixel, bytes_per_line,
    visual_class, red/green/blue masks, ..., ncolors), the window name, ncolors 12-byte
    colormap entries, then rows of bytes_per_line bytes with pixels of bits_per_pixel bits.
    """
    fields = struct.unpack(">25I", data[:100])
    header_size, width, height, byte_order = fields[0], fields[4], fields[5], fields[7]
    bits_per_pixel, bytes_per_line, masks, ncolors = fields[11], fields[12], fields[14:17], fields[19]
    start = header_size + 12 * ncolors
    step = bits_per_pixel // 8
    rows = np.frombuffer(data, np.uint8, bytes_per_line * height, start).reshape(height, -1)
    raw = rows[:, :width * step].reshape(height, width, step).astype(np.uint32)
    order = range(step) if byte_order == 0 else range(step - 1, -1, -1)   # 0: LSB first
    value = sum(raw[..., byte] << (8 * k) for k, byte in enumerate(order))
    red, green, blue = (((value & m) >> ((m & -m).bit_length() - 1)).astype(np.uint8)
                        for m in masks)
    return np.dstack([blue, green, red])


@pytest.fixture
def x_display():
    """DISPLAY of a fresh Xvfb server (no window manager), stopped after the test."""
    missing = [tool for tool in ("Xvfb", "xwd", "xdotool") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the window test needs {', '.join(missing)} (apt-get install xvfb "
                    "x11-apps xdotool)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0",
                               "800x600x24", "-nolisten", "tcp"], pass_fds=(write_end,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        number = answer.readline().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(10)


def _x(display, *command, check=True):
    return subprocess.run(command, env={**os.environ, "DISPLAY": display}, capture_output=True,
                          timeout=20, check=check).stdout


def _overlay_and_tracks_shown(screen, x, y):
    window = screen[y:y + 240, x:x + 426]
    overlay = window[:16, :60]                         # first line, "NN.N FPS", white on black
    black = (overlay == 0).all(axis=2).mean()
    white = (overlay > 200).all(axis=2).sum()          # anti-aliased text: few pixels are 255
    tracks = [(window == track_color(i)).all(axis=2).sum() for i in (0, 1)]
    return black > 0.4 and white > 15 and min(tracks) > 40


def test_window_shows_tracks_and_overlay_and_obeys_keys(tmp_path, x_display):
    app = subprocess.Popen(
        [sys.executable, "-m", "apps.webcam", "--source", str(shared_path(*VIDEO)),
         "--no-realtime", "--quiet", *_models()],     # 300 frames: runs until "q"
        cwd=tmp_path, env={**os.environ, "DISPLAY": x_display, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        shown, deadline = False, time.monotonic() + 40
        while not shown and time.monotonic() < deadline and app.poll() is None:
            time.sleep(0.5)
            windows = _x(x_display, "xdotool", "search", "--name", "^posetrack-webcam$",
                         check=False).split()      # exit status 1 while there is none
            if windows:
                geometry = dict(line.split("=") for line in _x(
                    x_display, "xdotool", "getwindowgeometry", "--shell", windows[0]
                ).decode().split())
                screen = read_xwd(_x(x_display, "xwd", "-root", "-silent"))
                shown = _overlay_and_tracks_shown(screen, int(geometry["X"]), int(geometry["Y"]))
        assert shown, ("no window with the overlay and both tracks' colours within 40 s"
                       + (f"; the app ended: {app.communicate()[1]}" if app.poll() is not None
                          else ""))
        _x(x_display, "xdotool", "windowfocus", "--sync", windows[0], "key", "s")
        time.sleep(1.0)
        _x(x_display, "xdotool", "key", "q")
        out, err = app.communicate(timeout=20)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    assert app.returncode == 0, err
    snapshots = list(tmp_path.glob("snapshot-*.png"))
    assert len(snapshots) == 1 and f"snapshot: {snapshots[0]}" in err
    assert cv2.imread(str(snapshots[0])).shape == (240, 426, 3)
