"""Damaged media: truncated MP4s (also with the index first) and AVIs, and files that are not
video at all; a truncated file gives the frames before the damage and one warning."""
import struct

import numpy as np
import pytest

from tests.shared_data import shared_path
from tracker.io.video import SourceError, open_source

BASKETBALL = ("data", "videos", "basketball-2p-426x240.mp4")
_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _indices(source):
    return [frame.index for frame in source]

def _mp4_boxes(data, begin, end):
    """(type, offset, size) of the MP4 boxes in data[begin:end] (32-bit sizes only)."""
    while begin < end:
        size, kind = struct.unpack(">I4s", data[begin:begin + 8])
        yield kind, begin, size
        begin += size


def _shift_chunk_offsets(moov, begin, end, delta):
    for kind, offset, size in _mp4_boxes(moov, begin, end):
        if kind in _MP4_CONTAINERS:
            _shift_chunk_offsets(moov, offset + 8, offset + size, delta)
        elif kind in (b"stco", b"co64"):
            fmt, width = (">I", 4) if kind == b"stco" else (">Q", 8)
            (count,) = struct.unpack(">I", moov[offset + 12:offset + 16])
            for at in range(offset + 16, offset + 16 + count * width, width):
                (value,) = struct.unpack(fmt, moov[at:at + width])
                moov[at:at + width] = struct.pack(fmt, value + delta)


def _faststart(data: bytes) -> bytes:
    boxes = {kind: (offset, size) for kind, offset, size in _mp4_boxes(data, 0, len(data))}
    (moov_at, moov_size), (mdat_at, _) = boxes[b"moov"], boxes[b"mdat"]
    assert moov_at > mdat_at, "test video already has its index first"
    moov = bytearray(data[moov_at:moov_at + moov_size])
    _shift_chunk_offsets(moov, 8, moov_size, moov_size)
    return data[:mdat_at] + bytes(moov) + data[mdat_at:moov_at]


@pytest.fixture(scope="module")
def faststart_mp4(tmp_path_factory):
    """The basketball clip (300 frames) with its index first: intact and decodable."""
    path = tmp_path_factory.mktemp("faststart") / "basketball.mp4"
    path.write_bytes(_faststart(shared_path(*BASKETBALL).read_bytes()))
    return path


# ---- real data ------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.5, 0.1])
def test_truncated_video_yields_frames_up_to_the_cut(tmp_path, faststart_mp4, fraction):
    data = faststart_mp4.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:int(len(data) * fraction)])
    with open_source(cut) as source:
        assert len(source) == 300  # announced by the (intact) index
        frames = {frame.index: frame.image for frame in source}
    decoded = len(frames)
    assert 0 < decoded < 300 * fraction + 10
    assert list(frames) == list(range(decoded))
    assert source.warnings == [
        f"cut.mp4: decoding stopped at frame {decoded} of 300 (file truncated or corrupt)"]
    with open_source(faststart_mp4, max_frames=decoded) as intact:
        for frame in intact:  # what decoded is the same as in the intact file
            np.testing.assert_array_equal(frame.image, frames[frame.index])


def test_intact_faststart_copy_has_no_warning(faststart_mp4):
    with open_source(faststart_mp4) as source:
        assert sum(1 for _ in source) == 300
    assert source.warnings == []


def test_video_cut_after_its_index_gives_zero_frames_and_a_warning(tmp_path, faststart_mp4):
    cut = tmp_path / "header-only.mp4"
    cut.write_bytes(faststart_mp4.read_bytes()[:6000])  # ftyp + moov (4.3 kB) + a little data
    with open_source(cut) as source:
        assert list(source) == []
    assert source.warnings == [
        "header-only.mp4: decoding stopped at frame 0 of 300 (file truncated or corrupt)"]


@pytest.mark.parametrize("size", [100, "half"])
def test_mp4_cut_before_its_index_cannot_be_opened(tmp_path, size):
    # The shared MP4s keep their index at the end: any cut loses it, and OpenCV cannot open
    # the file at all. That is a SourceError (nothing in the file is decodable).
    data = shared_path(*BASKETBALL).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:len(data) // 2 if size == "half" else size])
    with pytest.raises(SourceError, match=r"cut\.mp4 is not a video OpenCV can decode"):
        open_source(cut)


def test_truncated_avi_yields_frames_up_to_the_cut(tmp_path):
    data = shared_path("data", "videos", "street-crowd-720p.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[:len(data) // 2])
    with open_source(cut) as source:
        decoded = len(_indices(source))
    assert 50 < decoded < 205
    assert source.warnings == [
        f"cut.avi: decoding stopped at frame {decoded} of 205 (file truncated or corrupt)"]


@pytest.mark.parametrize("name, content", [
    ("notes.txt", "hello\n" * 100),  # FFmpeg opens this as ANSI-art video: rejected by codec
    ("poses.json", '{"frames": []}' * 50), ("empty.mp4", "")])
def test_non_video_file_is_a_source_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SourceError, match=f"{name} is not a video OpenCV can decode"):
        open_source(str(path))
