"""Video files written under a temporary name, checked when closed, renamed into place."""
import cv2
import numpy as np
import pytest

from tracker.errors import OutputError
from tracker.io.video_writer import VideoWriter, letterboxed


def read_video(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def frames(count, width=64, height=48):
    return [np.full((height, width, 3), 40 * i, np.uint8) for i in range(count)]


def test_video_writer_round_trip(tmp_path):
    path = tmp_path / "x.mp4"
    with VideoWriter(path, fps=10.0, frame_size_wh=(64, 48)) as writer:
        for frame in frames(5):
            writer.write(frame)
        assert not path.exists()  # written under a temporary name until closed
    written = read_video(path)
    assert len(written) == 5 and all(f.shape == (48, 64, 3) for f in written)
    assert abs(int(written[4].mean()) - 160) < 10
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]


def test_video_writer_keeps_a_partial_video_on_exception(tmp_path):
    path = tmp_path / "x.mp4"
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(path, fps=10.0, frame_size_wh=(64, 48)) as writer:
            for frame in frames(3):
                writer.write(frame)
            raise KeyboardInterrupt
    assert len(read_video(path)) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]


def test_video_writer_without_frames_leaves_no_file(tmp_path):
    with VideoWriter(tmp_path / "x.mp4", fps=10.0, frame_size_wh=(64, 48)) as writer:
        pass
    assert writer.frames_written == 0 and list(tmp_path.iterdir()) == []


def test_video_writer_errors_name_the_path(tmp_path):
    missing = tmp_path / "no_such_dir" / "x.mp4"
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        VideoWriter(missing, fps=10.0, frame_size_wh=(64, 48))
    with pytest.raises(OSError, match=r"x\.xyz"):
        VideoWriter(tmp_path / "x.xyz", fps=10.0, frame_size_wh=(64, 48))
    assert list(tmp_path.iterdir()) == []
    for fps in (0, -5.0, float("nan")):
        with pytest.raises(ValueError, match="fps"):
            VideoWriter(tmp_path / "x.mp4", fps=fps, frame_size_wh=(64, 48))


def test_an_error_inside_the_block_keeps_the_earlier_file(tmp_path):
    path = tmp_path / "x.mp4"
    path.write_bytes(b"earlier render")
    with pytest.raises(ValueError, match=r"x\.mp4.*\(48, 64, 3\)"):
        with VideoWriter(path, fps=10.0, frame_size_wh=(64, 48)) as writer:
            writer.write(frames(1)[0])
            writer.write(np.zeros((64, 48, 3), np.uint8))  # another size: the run failed
    assert path.read_bytes() == b"earlier render"
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]
    with pytest.raises(ValueError, match="closed"):
        writer.write(frames(1)[0])


def test_abort_drops_the_frames(tmp_path):
    writer = VideoWriter(tmp_path / "x.mp4", fps=10.0, frame_size_wh=(64, 48))
    writer.write(frames(1)[0])
    writer.abort()
    writer.close()  # nothing left to close
    assert list(tmp_path.iterdir()) == []


def test_a_video_that_does_not_read_back_is_an_error_and_keeps_the_earlier_file(
        tmp_path, monkeypatch):
    path = tmp_path / "x.mp4"
    path.write_bytes(b"earlier render")
    writer = VideoWriter(path, fps=10.0, frame_size_wh=(64, 48))
    for frame in frames(3):
        writer.write(frame)
    writer.frames_written = 4   # as if a frame had been lost on the way to the disk
    with pytest.raises(OutputError, match=r"x\.mp4: the video written reads back 3 frames, "
                       r"expected 4.*earlier file is kept"):
        writer.close()
    assert path.read_bytes() == b"earlier render"
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]


def test_letterboxed_keeps_the_aspect_ratio_centred_on_black():
    image = np.full((10, 40, 3), 200, np.uint8)          # 4:1 into 20x20
    boxed = letterboxed(image, (20, 20))
    assert boxed.shape == (20, 20, 3)
    assert (boxed[:7] == 0).all() and (boxed[12:] == 0).all()   # bars above and below
    assert (boxed[8:12] == 200).all()
    tall = letterboxed(np.full((40, 10, 3), 50, np.uint8), (30, 20))   # 1:4 into 30x20
    assert (tall[:, :12] == 0).all() and (tall[:, 18:] == 0).all() and (tall[:, 13:17] == 50).all()
    same = np.zeros((20, 30, 3), np.uint8)
    assert letterboxed(same, (30, 20)) is same
