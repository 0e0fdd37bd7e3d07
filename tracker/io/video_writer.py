"""Writing frames to a video file: under a temporary name, checked, renamed into place.

    with VideoWriter("out.mp4", fps=source.fps, frame_size_wh=(width, height)) as writer:
        writer.write(letterboxed(canvas, writer.frame_size_wh))

``TrackVideoWriter`` draws each tracked frame (``tracker.io.render.draw_poses``) and writes it
(``posetrack-run --render``).
"""
from __future__ import annotations

import math
import numbers
import os
from pathlib import Path

import cv2
import numpy as np

from tracker.errors import OutputError
from tracker.files import check_output_folder, temporary_file_next_to


def letterboxed(image_bgr: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """``image_bgr`` (H, W, 3) scaled to fit (width, height) ``size_wh`` with its aspect
    ratio kept and centred on black; the image itself when it already has that size."""
    width, height = size_wh
    if image_bgr.shape[:2] == (height, width):
        return image_bgr
    scale = min(width / image_bgr.shape[1], height / image_bgr.shape[0])
    fitted_wh = (max(1, min(width, round(image_bgr.shape[1] * scale))),
                 max(1, min(height, round(image_bgr.shape[0] * scale))))
    canvas = np.zeros((height, width, 3), np.uint8)
    left, top = (width - fitted_wh[0]) // 2, (height - fitted_wh[1]) // 2
    canvas[top:top + fitted_wh[1], left:left + fitted_wh[0]] = cv2.resize(
        image_bgr, fitted_wh, interpolation=cv2.INTER_AREA)
    return canvas


class VideoWriter:
    """Frames to a video file, written under a temporary name and renamed into place.

        with VideoWriter("out.mp4", fps=25.0, frame_size_wh=(1280, 720)) as writer:
            writer.write(canvas)  # (720, 1280, 3) uint8 BGR

    Frames go to a hidden temporary file next to ``path``, ``.out.mp4.<random>.mp4``
    (``tracker.files.temporary_file_next_to``: unique per process, same suffix so OpenCV picks
    the container from it); ``close()`` finalises that file and renames it onto ``path``
    (``os.replace``), so a reader never sees a half-written file under ``path``.

    ``close()`` then reads the file back (OpenCV reports no error while writing: a full
    disk or a file-size limit gives a file without an index) and raises ``OutputError`` if it
    does not open or holds another number of frames; the temporary file is then removed and
    an earlier file at ``path`` is kept. ``abort()`` drops the frames without renaming.
    Leaving the ``with`` block normally or by ``KeyboardInterrupt`` (Ctrl-C, a stop signal)
    closes the writer, so a stopped run keeps a playable partial video; leaving it by any
    other exception aborts it. A writer closed before any frame was written leaves no file
    (OpenCV cannot read back a video without frames); ``frames_written`` tells how many there
    are. Only a process killed outright (SIGKILL, power loss) leaves the temporary file behind.

    Raises (from the constructor): ``ValueError`` for a non-positive ``fps`` or frame size, a
    path without a suffix or a ``fourcc`` that is not 4 characters; ``FileNotFoundError``
    when the directory does not exist; ``OSError`` when OpenCV cannot open a writer for
    this container and codec. Messages name the path.
    """

    def __init__(self, path, fps: float, frame_size_wh: tuple[int, int],
                 fourcc: str = "mp4v") -> None:
        self.path = Path(path)
        if not (isinstance(fps, numbers.Real) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"{self.path}: fps must be a number > 0, got {fps!r}")
        if not (len(frame_size_wh) == 2 and all(
                isinstance(v, numbers.Integral) and v > 0 for v in frame_size_wh)):
            raise ValueError(f"{self.path}: frame_size_wh must be two positive ints (width, "
                             f"height), got {frame_size_wh!r}")
        if not (isinstance(fourcc, str) and len(fourcc) == 4):
            raise ValueError(f"{self.path}: fourcc must be 4 characters, got {fourcc!r}")
        if not self.path.suffix:
            raise ValueError(f"{self.path}: needs a file extension (e.g. .mp4) to choose the "
                             "video container")
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"{self.path}: directory {self.path.parent} does not exist")
        self.fps = float(fps)
        self.frame_size_wh = (int(frame_size_wh[0]), int(frame_size_wh[1]))
        self.frames_written = 0
        handle, temporary = temporary_file_next_to(self.path, suffix=self.path.suffix)
        os.close(handle)   # OpenCV opens the file by name
        self.temp_path = Path(temporary)
        try:
            self._writer = cv2.VideoWriter(str(self.temp_path), cv2.VideoWriter_fourcc(*fourcc),
                                           self.fps, self.frame_size_wh)
        except BaseException:
            self._remove_temp()
            raise
        if not self._writer.isOpened():
            self._writer.release()
            self._writer = None
            self._remove_temp()
            raise OSError(f"{self.path}: OpenCV cannot write {self.path.suffix} video with "
                          f"codec {fourcc!r}")

    @property
    def closed(self) -> bool:
        return self._writer is None

    def write(self, image_bgr: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 BGR frame; (W, H) must equal ``frame_size_wh``."""
        if self._writer is None:
            raise ValueError(f"{self.path}: write to a closed VideoWriter")
        width, height = self.frame_size_wh
        if not (isinstance(image_bgr, np.ndarray) and image_bgr.dtype == np.uint8
                and image_bgr.shape == (height, width, 3)):
            raise ValueError(f"{self.path}: frames must be ({height}, {width}, 3) uint8, got "
                             f"{getattr(image_bgr, 'shape', None)} "
                             f"{getattr(image_bgr, 'dtype', type(image_bgr))}")
        self._writer.write(image_bgr)
        self.frames_written += 1

    def close(self) -> None:
        """Finalise the file, check it reads back, rename it onto ``path`` (no file if no
        frame was written). Calling it again does nothing."""
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        if self.frames_written == 0:
            self._remove_temp()
            return
        try:
            self._check_written()
            os.replace(self.temp_path, self.path)
        except OSError as error:
            self._remove_temp()
            raise OutputError(f"{self.path}: cannot write the video ({error.strerror or error}); "
                              "an earlier file there is kept") from error
        finally:
            self._remove_temp()

    def abort(self) -> None:
        """Drop what was written; an earlier file at ``path`` stays as it was."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._remove_temp()

    def _check_written(self) -> None:
        """``OutputError`` unless the temporary file opens with ``frames_written`` frames."""
        capture = cv2.VideoCapture(str(self.temp_path))
        try:
            frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
        finally:
            capture.release()
        if frames != self.frames_written:
            self._remove_temp()
            found = f"reads back {frames} frames" if frames else "does not read back"
            raise OutputError(f"{self.path}: the video written {found}, expected "
                              f"{self.frames_written} (disk full or file-size limit?); nothing "
                              "was written there, an earlier file is kept")

    def _remove_temp(self) -> None:
        self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.close()
        else:
            self.abort()


class TrackVideoWriter:
    """Draws each ``FrameResult`` (poses and track ids) on its frame and writes the video,
    opened at the first frame's size; frames of another size (a folder of mixed images) are
    letterboxed into it. ``close()`` / ``abort()`` as ``VideoWriter``'s; no frame, no file."""

    def __init__(self, path: str | os.PathLike, fps: float, keypoint_names) -> None:
        self.path, self.fps, self.keypoint_names = check_output_folder(path), fps, keypoint_names
        self._writer = None

    def write(self, frame, result) -> None:
        """Draw ``result`` (a ``FrameResult``) on ``frame.image`` and write it."""
        from tracker.io.render import draw_poses
        canvas = draw_poses(frame.image, result.poses, result.track_ids, self.keypoint_names)
        if self._writer is None:
            height, width = frame.image.shape[:2]
            self._writer = VideoWriter(self.path, self.fps, (width, height))
        self._writer.write(letterboxed(canvas, self._writer.frame_size_wh))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
