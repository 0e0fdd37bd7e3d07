"""Streaming frame sources (video file, image folder, webcam, network stream), one interface.

    with open_source("clip.mp4", stride=2) as source:  # or a folder, 0, "rtsp://host/cam"
        for frame in source:  # tracker.types.Frame; image (H, W, 3) uint8 BGR
            ...
    source.warnings  # problems met, e.g. a truncated file

Sources are generators: they hold at most one decoded frame, so memory is flat on any length.
``fps`` is never 0: a source that reports no usable rate gets ``DEFAULT_FPS`` (30.0) and a
warning. A truncated/corrupt video yields the frames that decode, then stops with a warning
(no exception); a file OpenCV cannot open at all (not a video, or cut before its header or
index, as an MP4 whose index is at its end) is a ``SourceError`` from ``open_source``.
"""
from __future__ import annotations

import logging
import math
import os
import re
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import cv2

from tracker.errors import PoseTrackError
from tracker.types import Frame

__all__ = ["FrameSource", "FrameFolderSource", "VideoFileSource", "CameraSource",
           "StreamSource", "SourceError", "open_source", "DEFAULT_FPS", "IMAGE_EXTENSIONS"]

logger = logging.getLogger(__name__)

DEFAULT_FPS = 30.0  # frames/s assumed for frame folders and sources that report no rate
MAX_PLAUSIBLE_FPS = 1000.0  # above this a reported rate is taken as bogus (e.g. a time base)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")
# FFmpeg "decodes" text files (.txt, .nfo, .asc, ...) as ANSI-art video; they are not videos.
TEXT_CODECS = {b"ansi"}


class SourceError(PoseTrackError, ValueError):
    """A frame source cannot be opened or is not what it claims to be."""


class FrameSource:
    """Base of all sources: selection, length, warnings and the context-manager protocol.

    Attributes:
        name: what was opened: a path, "camera 0", "stream URL" (password left out).
        fps: frames per second (float > 0; ``DEFAULT_FPS`` when unknown, see module docs).
        frame_size_wh: (width, height) in pixels of the first frame, None if unknown.
        warnings: problems met so far (unreadable images, truncated file, lost camera).
        start, stride, max_frames: the frame selection (see ``__init__``).
    """

    def __init__(self, name: str, *, start: int = 0, stride: int = 1,
                 max_frames: int | None = None) -> None:
        """``start``: first frame index to yield; ``stride``: yield every stride-th frame from
        there (original indices kept); ``max_frames``: at most this many (None: no limit)."""
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        if max_frames is not None and max_frames < 0:
            raise ValueError(f"max_frames must be >= 0 or None, got {max_frames}")
        self.name = name
        self.start, self.stride, self.max_frames = start, stride, max_frames
        self.fps = DEFAULT_FPS
        self.frame_size_wh: tuple[int, int] | None = None
        self.warnings: list[str] = []
        self._total_frames: int | None = None  # frames in the whole source, before selection

    @property
    def num_frames(self) -> int | None:
        """Frames the iteration is expected to yield after selection; None when unknown.

        For video files this comes from the container's frame count, which may be approximate
        (and is too high for a truncated file: fewer frames are yielded, with a warning)."""
        if self._total_frames is None:
            return None
        count = max(0, -(-(self._total_frames - self.start) // self.stride))
        return count if self.max_frames is None else min(count, self.max_frames)

    def __len__(self) -> int:
        count = self.num_frames
        if count is None:
            raise TypeError(f"the number of frames of {self.name} is unknown")
        return count

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds (a no-op for frame folders)."""

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, num_frames={self.num_frames}, "
                f"fps={self.fps:.4g}, frame_size_wh={self.frame_size_wh})")

    def _wanted(self, index: int) -> bool:
        return index >= self.start and (index - self.start) % self.stride == 0

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            logger.warning(message)


def natural_sort_key(name: str) -> tuple:
    """Sort key that orders digit runs by value: "2.jpg" < "10.jpg"; case-insensitive."""
    parts = re.split(r"(\d+)", name)
    return tuple(int(part) if i % 2 else part.lower() for i, part in enumerate(parts)), name


class FrameFolderSource(FrameSource):
    """The images of one folder (not recursive), in natural file-name order.

    Files ending in ``IMAGE_EXTENSIONS`` (any case) are frames; hidden files are ignored.
    Grayscale, 16-bit and 4-channel images are converted to 8-bit BGR (alpha dropped). An
    image that cannot be decoded is skipped with a warning but keeps its index, so indices
    always match positions in the sorted file list. ``Frame.name`` is the file name and
    ``timestamp_s = index / fps``.
    """

    def __init__(self, folder: str | os.PathLike, *, fps: float = DEFAULT_FPS, start: int = 0,
                 stride: int = 1, max_frames: int | None = None) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"frame folder not found: {folder}")
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps}")
        super().__init__(str(folder), start=start, stride=stride, max_frames=max_frames)
        self._files = sorted((p for p in folder.iterdir() if _is_image_file(p)),
                             key=lambda p: natural_sort_key(p.name))
        if not self._files:
            raise SourceError(f"{folder} contains no images (expected files ending in "
                              f"{', '.join(IMAGE_EXTENSIONS)})")
        self.fps = float(fps)
        self._total_frames = len(self._files)
        first = next((im for im in map(_imread_bgr, self._files) if im is not None), None)
        self.frame_size_wh = None if first is None else (first.shape[1], first.shape[0])

    def __iter__(self) -> Iterator[Frame]:
        selected = range(self.start, len(self._files), self.stride)
        if self.max_frames is not None:
            selected = selected[:self.max_frames]
        for index in selected:
            path = self._files[index]
            image = _imread_bgr(path)
            if image is None:
                self._warn(f"{path}: not a readable image, frame {index} skipped")
                continue
            yield Frame(index, image, path.name, index / self.fps)
            del image  # hold no frame while the consumer works on the next one


def _imread_bgr(path: Path):
    """(H, W, 3) uint8 BGR (gray, 16-bit and alpha converted, EXIF-rotated), None if unreadable."""
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


def _is_image_file(path: Path) -> bool:
    return (path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")
            and path.is_file())


class _CaptureSource(FrameSource):
    """A ``cv2.VideoCapture`` read frame by frame; subclasses open it and explain its end."""

    def __init__(self, name: str, **selection) -> None:
        super().__init__(name, **selection)  # validates the selection before opening anything
        self._capture: cv2.VideoCapture | None = self._open()
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        if math.isfinite(fps) and 0 < fps <= MAX_PLAUSIBLE_FPS:
            self.fps = float(fps)
        else:
            self._warn(f"{name}: frame rate unknown (reported {fps:g}), assuming {DEFAULT_FPS}")
        width = self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)
        height = self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
        if width > 0 and height > 0:
            self.frame_size_wh = (int(width), int(height))

    def _open(self) -> cv2.VideoCapture:
        """Return an opened capture or raise ``SourceError``."""
        raise NotImplementedError

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __iter__(self) -> Iterator[Frame]:
        if self._capture is None:
            raise SourceError(f"{self.name} is closed")
        return self._frames(self._capture)

    def _frames(self, capture: cv2.VideoCapture) -> Iterator[Frame]:
        index, yielded = 0, 0  # index: frames taken from the capture so far
        while self.max_frames is None or yielded < self.max_frames:
            if not self._wanted(index):
                if not capture.grab():  # skip without converting the frame
                    break
                index += 1
                continue
            ok, image = capture.read()
            if not ok:
                break
            yield Frame(index, image, f"{index:06d}", self._timestamp_s(capture, index))
            del image  # hold no frame while the consumer works on the next one
            index, yielded = index + 1, yielded + 1
        else:
            return  # max_frames reached before the end of the source
        self._ended(index)

    def _timestamp_s(self, capture: cv2.VideoCapture, index: int) -> float:
        return index / self.fps

    def _ended(self, frames_read: int) -> None:
        """The capture stopped delivering after ``frames_read`` frames (here: a live source)."""
        self._warn(f"{self.name} stopped delivering frames after {frames_read} frames")


class VideoFileSource(_CaptureSource):
    """A video file OpenCV can decode (mp4, avi, mkv, mov, ...).

    ``num_frames`` is derived from ``CAP_PROP_FRAME_COUNT`` (read from the container; may be
    approximate). ``timestamp_s`` is the decoder's ``CAP_PROP_POS_MSEC`` / 1000 when positive,
    else ``index / fps``. Iterating again starts from the beginning (the file is reopened).
    """

    def __init__(self, path: str | os.PathLike, *, start: int = 0, stride: int = 1,
                 max_frames: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"video file not found: {self.path}")
        super().__init__(str(self.path), start=start, stride=stride, max_frames=max_frames)
        count = self._capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self._total_frames = int(round(count)) if math.isfinite(count) and count > 0 else None
        self._started = False

    def _open(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(self.path))
        codec = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little")
        if not capture.isOpened() or codec in TEXT_CODECS:
            capture.release()
            raise SourceError(f"{self.path} is not a video OpenCV can decode (unknown format, "
                              "or the file is cut short before its header/index)")
        return capture

    def __iter__(self) -> Iterator[Frame]:
        if self._started and self._capture is not None:
            self._capture.release()
            self._capture = self._open()
        self._started = True
        return super().__iter__()

    def _timestamp_s(self, capture: cv2.VideoCapture, index: int) -> float:
        msec = capture.get(cv2.CAP_PROP_POS_MSEC)
        return msec / 1000.0 if math.isfinite(msec) and msec > 0 else index / self.fps

    def _ended(self, frames_read: int) -> None:
        total = self._total_frames
        if total is not None and frames_read < total:
            self._warn(f"{self.path.name}: decoding stopped at frame {frames_read} of {total} "
                       "(file truncated or corrupt)")
        elif frames_read == 0:
            self._warn(f"{self.path.name}: no frame could be decoded")


class CameraSource(_CaptureSource):
    """A webcam by index (``cv2.VideoCapture(index)``). Length unknown, ``timestamp_s =
    index / fps``. A failed read ends the iteration with a warning (camera disconnected)."""

    def __init__(self, index: int, *, start: int = 0, stride: int = 1,
                 max_frames: int | None = None) -> None:
        if index < 0:
            raise ValueError(f"camera index must be >= 0, got {index}")
        self.index = index
        super().__init__(f"camera {index}", start=start, stride=stride, max_frames=max_frames)

    def _open(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(self.index)
        if not capture.isOpened():
            raise SourceError(f"cannot open camera {self.index} (no such device, or in use)")
        return capture


class StreamSource(_CaptureSource):
    """A network stream (rtsp, rtsps, http, https) read with OpenCV's FFmpeg backend.

    ``timeout_s`` bounds both opening and each read (seconds), so a dead address fails instead
    of hanging. The password of a URL like rtsp://user:pw@host is left out of messages.
    """

    def __init__(self, url: str, *, timeout_s: float = 10.0, start: int = 0, stride: int = 1,
                 max_frames: int | None = None) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.url, self.timeout_s = url, timeout_s
        super().__init__(f"stream {_without_password(url)}", start=start, stride=stride,
                         max_frames=max_frames)

    def _open(self) -> cv2.VideoCapture:
        msec = int(self.timeout_s * 1000)
        capture = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, msec, cv2.CAP_PROP_READ_TIMEOUT_MSEC, msec])
        if not capture.isOpened():
            raise SourceError(f"cannot open {self.name} (unreachable, wrong address, "
                              f"or no answer within {self.timeout_s:g} s)")
        return capture


def _without_password(url: str) -> str:
    """``url`` with the password of ``scheme://user:password@host`` replaced by ***."""
    password = urlsplit(url).password
    return url if password is None else url.replace(f":{password}@", ":***@", 1)


def open_source(spec: str | int | os.PathLike, **options) -> FrameSource:
    """Open ``spec``: an int or ASCII-digit string (webcam index), a URL starting with
    rtsp://, rtsps://, http:// or https:// (stream), a folder (its images), else a video file.

    ``options`` go to the source's constructor: ``start``, ``stride``, ``max_frames``; ``fps``
    for folders; ``timeout_s`` for streams. Raises ``FileNotFoundError`` for a missing path,
    ``SourceError`` for a source that cannot be opened or holds no images, ``TypeError`` for
    another kind of ``spec`` or an option the source does not take.
    """
    if isinstance(spec, bool) or not isinstance(spec, (str, int, os.PathLike)):
        raise TypeError(f"source must be a path, a URL or a camera index, got {spec!r}")
    if isinstance(spec, str) and not spec.strip():
        raise SourceError(f"empty source{f' {spec!r}' if spec else ''}: expected a video file, "
                          "a folder of frames, a camera index or a URL")
    if isinstance(spec, int):
        return CameraSource(spec, **options)
    if isinstance(spec, str) and spec.isascii() and spec.isdigit():
        return CameraSource(int(spec), **options)
    if isinstance(spec, str) and spec.lower().startswith(STREAM_SCHEMES):
        return StreamSource(spec, **options)
    path = Path(spec)
    if path.is_dir():
        return FrameFolderSource(path, **options)
    if not path.exists():
        raise FileNotFoundError(f"video source not found: {path}")
    return VideoFileSource(path, **options)
