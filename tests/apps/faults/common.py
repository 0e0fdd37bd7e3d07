"""What every fault test checks, and the small inputs they run on.

A failing case must show a user: a non-zero exit, exactly one line ``<prog>: error: ...``
(after the informational line posetrack-run prints first), an earlier output file byte for
byte as it was, and no hidden temporary file left in the output folder.
"""
import json
import os
import subprocess
import sys

import cv2
import numpy as np

from tests.shared_data import shared_path

POSE_ONNX = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")
DETECTOR_ONNX = ("models", "rtmdet-nano-person", "end2end.onnx")
BASKETBALL = ("data", "videos", "basketball-2p-426x240.mp4")
EARLIER = b"earlier output \x00\xff kept byte for byte\n"
#: Lines an app prints before it can fail (posetrack-run names its preset first).
INFO_PREFIXES = ("posetrack-run: preset ",)


def one_error_line(err: str, prog: str) -> str:
    """The single error line of ``err`` (informational lines before it allowed)."""
    lines = [line for line in err.splitlines() if line and not line.startswith(INFO_PREFIXES)]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{prog}: error: "), lines
    return lines[0]


def earlier_output(path):
    """An earlier file at ``path`` (its folder created), which a failed run must keep."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(EARLIER)
    return path


def hidden_files(folder) -> list:
    """Names of hidden (temporary) files left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def assert_untouched(path):
    """``path`` still holds ``EARLIER`` and nothing hidden lies beside it."""
    assert path.read_bytes() == EARLIER
    assert hidden_files(path.parent) == []


def model_args(detector: bool = True) -> list:
    """The real ONNX models: RTMDet-nano (unless ``detector`` is False) and PP-TinyPose."""
    pose = ["--pose-model", "pp_tinypose_256x192", "--pose-checkpoint",
            str(shared_path(*POSE_ONNX))]
    return (["--detector-checkpoint", str(shared_path(*DETECTOR_ONNX))] if detector else []) + pose


def frame_folder(folder, sizes_wh, value=90):
    """A folder of plain frames ``000000.jpg``... with the (width, height) of ``sizes_wh``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (width, height) in enumerate(sizes_wh):
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), np.full((height, width, 3), value + i, np.uint8))
    return folder


def video_frame_count(path) -> int:
    """Frames OpenCV decodes from ``path`` (0 if it does not open)."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.isOpened() and capture.read()[0]:
        count += 1
    capture.release()
    return count


def frames_in_json(path) -> int:
    return len(json.loads(path.read_text())["images"])


def command(app: str, *args) -> list:
    """The command line of ``python -m apps.<app> args`` (a real process, for signals and
    file-size limits)."""
    return [sys.executable, "-m", f"apps.{app}", *map(str, args)]


def environment() -> dict:
    """The test process's environment (zoo mirror included) for a subprocess."""
    return dict(os.environ, PYTHONUNBUFFERED="1")


def run_process(app: str, *args, preexec_fn=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(command(app, *args), capture_output=True, text=True, timeout=timeout,
                          env=environment(), preexec_fn=preexec_fn)
