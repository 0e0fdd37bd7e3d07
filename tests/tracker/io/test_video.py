"""Frame sources: real videos and frame folders from ../shared, synthetic folders, damaged
missing devices (damaged files: test_video_damaged.py), and a fake capture for a camera that disconnects."""
import gc
import socket
import time
import tracemalloc
import weakref

import cv2
import numpy as np
import pytest

from tests.shared_data import shared_path
from tracker.io import video
from tracker.types import Frame
from tracker.io.video import (CameraSource, FrameFolderSource, SourceError, StreamSource,
                           VideoFileSource, natural_sort_key, open_source)

BASKETBALL = ("data", "videos", "basketball-2p-426x240.mp4")
POSETRACK_FOLDER = ("data", "mmpose-testdata", "posetrack18", "videos", "000001_mpiinew_test")


def _indices(source):
    return [frame.index for frame in source]


def _write_images(folder, names, shape=(24, 32, 3)):
    folder.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full(shape, i * 10, np.uint8))
    return folder


# ---- MP4 helper: move the index ('moov') in front of the media data ('mdat'), as
# `ffmpeg -movflags faststart` does, so a truncated copy still opens and decodes up to the cut.
def test_video_file_frames_sizes_names_and_times():
    path = shared_path(*BASKETBALL)
    with open_source(path) as source:
        assert isinstance(source, VideoFileSource)
        assert (source.num_frames, len(source)) == (300, 300)
        assert source.fps == pytest.approx(30000 / 1001)
        assert source.frame_size_wh == (426, 240)
        frames = [(f.index, f.name, f.timestamp_s, f.image.shape, f.image.dtype) for f in source]
    assert [f[0] for f in frames] == list(range(300))
    assert [f[1] for f in frames[:2]] == ["000000", "000001"] and frames[-1][1] == "000299"
    assert {f[3] for f in frames} == {(240, 426, 3)}
    assert {f[4] for f in frames} == {np.dtype(np.uint8)}
    times = np.array([f[2] for f in frames])
    np.testing.assert_allclose(times, np.arange(300) * 1001 / 30000, atol=1e-3)
    assert source.warnings == []


@pytest.mark.parametrize("name, count, size_wh, fps", [
    ("street-crowd-720p.avi", 205, (1280, 720), 50.0),
    ("indoor-2p-1080p.mp4", 72, (1920, 1080), 28.05),
])
def test_other_shared_videos(name, count, size_wh, fps):
    with open_source(str(shared_path("data", "videos", name))) as source:
        assert (len(source), source.frame_size_wh) == (count, size_wh)
        assert source.fps == pytest.approx(fps, abs=0.01)
        shapes = {frame.image.shape for frame in source}
    assert shapes == {(size_wh[1], size_wh[0], 3)} and source.warnings == []


def test_posetrack_frame_folder_ignores_the_mp4_next_to_the_frames():
    folder = shared_path(*POSETRACK_FOLDER)
    with open_source(str(folder)) as source:
        assert isinstance(source, FrameFolderSource)
        assert (len(source), source.fps, source.frame_size_wh) == (10, 30.0, (1280, 720))
        frames = list(source)
    assert [f.name for f in frames] == [f"{i:06d}.jpg" for i in range(10)]
    assert [f.index for f in frames] == list(range(10))
    assert [f.timestamp_s for f in frames] == pytest.approx([i / 30 for i in range(10)])
    assert frames[3].image.shape == (720, 1280, 3)


def test_single_image_folder_and_fps_option():
    folder = shared_path("data", "mmpose-testdata", "posetrack18", "images", "val",
                         "003418_mpii_test")
    source = open_source(folder, fps=25)
    (frame,) = list(source)
    assert (frame.index, frame.name, frame.timestamp_s, source.fps) == (0, "000000.jpg", 0, 25)


# ---- frame folders (synthetic) --------------------------------------------------------

def test_folder_natural_order_and_ignored_files(tmp_path):
    folder = _write_images(tmp_path / "f", ["10.png", "2.png", "1.png", "9.PNG", "frame3.jpg",
                                            ".hidden.png"])
    (folder / "notes.txt").write_text("not a frame")
    (folder / "sub.png").mkdir()
    names = [frame.name for frame in open_source(folder)]
    assert names == ["1.png", "2.png", "9.PNG", "10.png", "frame3.jpg"]


@pytest.mark.parametrize("names, expected", [
    (["b10", "a2", "b9", "a10"], ["a2", "a10", "b9", "b10"]),
    (["img_1_10", "img_1_9", "IMG_0_99"], ["IMG_0_99", "img_1_9", "img_1_10"]),
    (["001.jpg", "1.jpg", "0002.jpg"], ["001.jpg", "1.jpg", "0002.jpg"]),  # ties: by name
    (["x²", "x2", "x"], ["x", "x2", "x²"]),  # non-ASCII digit characters are text
])
def test_natural_sort_key(names, expected):
    assert sorted(names, key=natural_sort_key) == expected


def test_folder_converts_gray_16bit_and_alpha_to_bgr(tmp_path):
    cv2.imwrite(str(tmp_path / "0.png"), np.full((8, 6), 77, np.uint8))
    cv2.imwrite(str(tmp_path / "1.png"), np.full((8, 6, 3), 0x1234, np.uint16))
    cv2.imwrite(str(tmp_path / "2.png"), np.full((8, 6, 4), (1, 2, 3, 128), np.uint8))
    cv2.imwrite(str(tmp_path / "3.tiff"), np.full((8, 6), 40000, np.uint16))
    images = [frame.image for frame in open_source(tmp_path)]
    assert all(image.shape == (8, 6, 3) and image.dtype == np.uint8 for image in images)
    assert [tuple(image[0, 0]) for image in images] == [
        (77, 77, 77), (0x12, 0x12, 0x12), (1, 2, 3), (40000 >> 8,) * 3]


def test_unreadable_image_is_skipped_with_warning_and_keeps_indices(tmp_path):
    _write_images(tmp_path, ["0.jpg", "1.jpg", "3.jpg"])
    (tmp_path / "2.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    source = FrameFolderSource(tmp_path)
    assert len(source) == 4
    frames = list(source)
    assert [(f.index, f.name) for f in frames] == [(0, "0.jpg"), (1, "1.jpg"), (3, "3.jpg")]
    assert frames[2].timestamp_s == pytest.approx(3 / 30)
    assert len(source.warnings) == 1 and "2.jpg" in source.warnings[0]
    assert "frame 2 skipped" in source.warnings[0]


def test_first_image_unreadable_size_comes_from_next(tmp_path):
    (tmp_path / "0.png").write_bytes(b"garbage")
    _write_images(tmp_path, ["1.png"], shape=(10, 20, 3))
    assert FrameFolderSource(tmp_path).frame_size_wh == (20, 10)


@pytest.mark.parametrize("content", [[], ["readme.txt", "data.json"]])
def test_folder_without_images_is_an_error(tmp_path, content):
    for name in content:
        (tmp_path / name).write_text("{}")
    with pytest.raises(SourceError, match="contains no images.*jpg"):
        open_source(tmp_path)


# ---- selection ------------------------------------------------------------------------

@pytest.mark.parametrize("options, expected", [
    ({}, list(range(12))),
    ({"start": 5}, list(range(5, 12))),
    ({"stride": 5}, [0, 5, 10]),
    ({"start": 1, "stride": 4}, [1, 5, 9]),
    ({"max_frames": 3}, [0, 1, 2]),
    ({"start": 2, "stride": 3, "max_frames": 2}, [2, 5]),
    ({"max_frames": 0}, []),
    ({"start": 12}, []),
    ({"start": 40, "stride": 7}, []),
])
def test_selection_on_folder(tmp_path, options, expected):
    source = open_source(_write_images(tmp_path / "f", [f"{i}.png" for i in range(12)]),
                         **options)
    assert len(source) == len(expected)
    assert _indices(source) == expected


@pytest.mark.parametrize("options, expected", [
    ({"start": 290}, list(range(290, 300))),
    ({"stride": 50}, [0, 50, 100, 150, 200, 250]),
    ({"start": 7, "stride": 100, "max_frames": 2}, [7, 107]),
    ({"start": 298, "stride": 5}, [298]),
])
def test_selection_on_video_keeps_original_indices_and_times(options, expected):
    with open_source(shared_path(*BASKETBALL), **options) as source:
        assert len(source) == len(expected)
        frames = [(frame.index, frame.name, frame.timestamp_s) for frame in source]
    assert [f[0] for f in frames] == expected
    assert [f[1] for f in frames] == [f"{i:06d}" for i in expected]
    assert [f[2] for f in frames] == pytest.approx([i * 1001 / 30000 for i in expected],
                                                   abs=1e-3)
    assert source.warnings == []


def test_strided_frames_equal_the_same_frames_read_one_by_one():
    path = shared_path(*BASKETBALL)
    with open_source(path, start=3, stride=10, max_frames=4) as source:
        strided = {frame.index: frame.image for frame in source}
    with open_source(path, max_frames=34) as source:
        every = {frame.index: frame.image for frame in source if frame.index in strided}
    assert list(strided) == [3, 13, 23, 33]
    for index, image in strided.items():
        np.testing.assert_array_equal(image, every[index])


@pytest.mark.parametrize("options, message", [
    ({"start": -1}, "start must be >= 0, got -1"),
    ({"stride": 0}, "stride must be >= 1, got 0"),
    ({"max_frames": -2}, "max_frames must be >= 0 or None, got -2"),
    ({"fps": 0.0}, "fps must be a positive number"),
    ({"fps": float("nan")}, "fps must be a positive number"),
])
def test_invalid_options(tmp_path, options, message):
    _write_images(tmp_path, ["0.png"])
    with pytest.raises(ValueError, match=message):
        open_source(tmp_path, **options)


def test_invalid_selection_on_video_and_camera_raises_before_opening():
    with pytest.raises(ValueError, match="stride"):
        open_source(shared_path(*BASKETBALL), stride=0)
    with pytest.raises(ValueError, match="start"):
        CameraSource(7, start=-3)  # not a SourceError: the camera is never opened


def test_video_option_that_does_not_apply_is_a_type_error():
    with pytest.raises(TypeError, match="fps"):
        open_source(shared_path(*BASKETBALL), fps=25)


# ---- damaged and wrong files ----------------------------------------------------------

def test_missing_paths_are_file_not_found(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        open_source(missing)
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        VideoFileSource(missing)
    with pytest.raises(FileNotFoundError, match="frame folder not found.*nope.mp4"):
        FrameFolderSource(missing)


@pytest.mark.parametrize("spec", [True, 2.5, None, b"0"])
def test_unsupported_spec_type(spec):
    with pytest.raises(TypeError, match="path, a URL or a camera index"):
        open_source(spec)


# ---- lifecycle and memory -------------------------------------------------------------

def test_close_releases_and_second_iteration_restarts():
    source = open_source(shared_path(*BASKETBALL), max_frames=3)
    assert _indices(source) == [0, 1, 2]
    assert _indices(source) == [0, 1, 2]  # a file is reopened for a new pass
    with source:
        pass
    with pytest.raises(SourceError, match="is closed"):
        iter(source)
    source.close()  # closing twice is harmless


def test_frames_are_not_retained_by_the_source():
    refs = []
    with open_source(shared_path(*BASKETBALL), max_frames=50) as source:
        for frame in source:
            assert isinstance(frame, Frame)
            refs.append(weakref.ref(frame.image))
            if len(refs) > 1:
                assert refs[-2]() is None, "the previous frame is still held"
    del frame
    gc.collect()
    assert all(ref() is None for ref in refs)


def test_memory_stays_flat_on_a_long_folder(tmp_path):
    shape = (120, 160, 3)
    frame_bytes = int(np.prod(shape))
    for i in range(200):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full(shape, i, np.uint8))

    def peak_bytes(keep):
        source, kept = open_source(tmp_path), []
        tracemalloc.start()
        try:
            for frame in source:
                if keep:
                    kept.append(frame)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak_bytes(keep=True) > 150 * frame_bytes  # the measurement does see image memory
    assert peak_bytes(keep=False) < 4 * frame_bytes


# ---- cameras and streams --------------------------------------------------------------

@pytest.mark.parametrize("spec", [7, "7"])
def test_missing_camera_is_a_source_error(spec):
    with pytest.raises(SourceError, match="cannot open camera 7"):
        open_source(spec)


def test_negative_camera_index_is_rejected():
    with pytest.raises(ValueError, match="camera index must be >= 0"):
        open_source(-1)


class _FakeCamera:
    """Stands in for cv2.VideoCapture(index): delivers ``frames`` images, then fails."""

    frames, fps = 5, 0.0

    def __init__(self, index, *args):
        self.index, self.delivered, self.released = index, 0, False

    def isOpened(self):
        return True

    def get(self, prop):
        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FRAME_WIDTH: 8,
                cv2.CAP_PROP_FRAME_HEIGHT: 6, cv2.CAP_PROP_FRAME_COUNT: -1}.get(prop, 0.0)

    def read(self):
        if self.delivered >= self.frames:
            return False, None
        self.delivered += 1
        return True, np.full((6, 8, 3), self.delivered, np.uint8)

    def grab(self):
        return self.read()[0]

    def release(self):
        self.released = True


def test_camera_that_disconnects_stops_with_a_warning(monkeypatch):
    monkeypatch.setattr(video.cv2, "VideoCapture", _FakeCamera)
    with open_source("0", stride=2) as source:
        assert isinstance(source, CameraSource)
        assert source.num_frames is None and source.frame_size_wh == (8, 6)
        with pytest.raises(TypeError, match="number of frames of camera 0 is unknown"):
            len(source)
        assert source.fps == 30.0  # reported 0: fallback, with a warning
        frames = [(f.index, f.name, f.timestamp_s, f.image[0, 0, 0]) for f in source]
        capture = source._capture
    assert frames == [(0, "000000", 0.0, 1), (2, "000002", 2 / 30, 3), (4, "000004", 4 / 30, 5)]
    assert capture.released and source._capture is None
    assert source.warnings == ["camera 0: frame rate unknown (reported 0), assuming 30.0",
                               "camera 0 stopped delivering frames after 5 frames"]


def test_camera_max_frames_ends_without_warning(monkeypatch):
    monkeypatch.setattr(_FakeCamera, "fps", 25.0)
    monkeypatch.setattr(video.cv2, "VideoCapture", _FakeCamera)
    source = CameraSource(0, max_frames=5)
    assert _indices(source) == [0, 1, 2, 3, 4] and source.fps == 25.0
    assert source.warnings == []


@pytest.mark.parametrize("url", ["rtsp://127.0.0.1:9/none", "http://127.0.0.1:9/none.mjpg",
                                 "RTSPS://127.0.0.1:9/x"])
def test_unreachable_stream_is_a_source_error(url):
    began = time.monotonic()
    with pytest.raises(SourceError, match="cannot open stream"):
        open_source(url, timeout_s=2)
    assert time.monotonic() - began < 5


def test_stream_that_never_answers_times_out():
    with socket.socket() as server:  # accepts the connection, then says nothing
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"rtsp://127.0.0.1:{server.getsockname()[1]}/live"
        began = time.monotonic()
        with pytest.raises(SourceError, match="no answer within 1 s"):
            StreamSource(url, timeout_s=1)
    assert time.monotonic() - began < 5


def test_stream_errors_do_not_show_the_password():
    with pytest.raises(SourceError) as error:
        open_source("rtsp://admin:secret@127.0.0.1:9/cam", timeout_s=1)
    assert "secret" not in str(error.value) and "admin:***@127.0.0.1:9" in str(error.value)
