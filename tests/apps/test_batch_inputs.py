"""Expanding a batch's SOURCE arguments and naming its outputs (literal files, no shared data)."""
import pytest

from apps.batch_inputs import InputError, expand_inputs, output_names


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_an_empty_folder_or_empty_text_is_left_for_open_source_to_refuse(tmp_path):
    assert expand_inputs([str(tmp_path), ""]) == [str(tmp_path), ""]


def test_a_folder_of_videos_gives_its_videos_in_order(tmp_path):
    for name in ("b.mp4", "a.avi", "notes.txt", ".hidden.json"):
        _touch(tmp_path / name)
    assert expand_inputs([str(tmp_path)]) == [str(tmp_path / "a.avi"), str(tmp_path / "b.mp4")]


def test_a_frame_folder_is_one_input_and_a_split_folder_each_sequence(tmp_path):
    _touch(tmp_path / "val" / "seq2" / "000000.jpg")
    _touch(tmp_path / "val" / "seq1" / "000000.jpg")
    assert expand_inputs([str(tmp_path / "val" / "seq1")]) == [str(tmp_path / "val" / "seq1")]
    assert expand_inputs([str(tmp_path / "val")]) == [str(tmp_path / "val" / "seq1"),
                                                     str(tmp_path / "val" / "seq2")]


def test_glob_list_file_and_urls(tmp_path):
    for name in ("c1.mp4", "c2.mp4", "d.mov"):
        _touch(tmp_path / "clips" / name)
    assert expand_inputs([str(tmp_path / "clips" / "c*.mp4")]) == [
        str(tmp_path / "clips" / "c1.mp4"), str(tmp_path / "clips" / "c2.mp4")]
    listing = tmp_path / "inputs.txt"
    listing.write_text("# my clips\nclips/d.mov\n\nrtsp://cam/1\n0\nclips/d.mov\n")
    assert expand_inputs([str(listing)]) == [str(tmp_path / "clips" / "d.mov"), "rtsp://cam/1",
                                             "0"]


@pytest.mark.parametrize("make, expected", [
    (lambda p: p.parent / "*.nothing", "matches no file"),
    (lambda p: (p.with_suffix(".txt").write_text("# none\n"), p.with_suffix(".txt"))[1],
     "names no source"),
])
def test_inputs_that_name_nothing_are_errors(tmp_path, make, expected):
    with pytest.raises(InputError, match=expected):
        expand_inputs([str(make(tmp_path / "empty"))])


def test_output_names_are_stable_and_unique():
    items = output_names(["a/val/seq1", "b/val/seq1", "x/clip.mp4", "y/other.mp4", "rtsp://h/s",
                          "0", "q/clip.mp4"])
    assert [i.name for i in items] == ["a_val_seq1", "b_val_seq1", "x_clip", "other", "s",
                                       "camera0", "q_clip"]
    assert output_names(["v/clip.mp4", "v/clip.mp4"])[1].name == "v_clip_2"
