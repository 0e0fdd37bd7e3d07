"""Loading PoseTrack18 files as poseval does: keypoint mapping, cleanup, ignore regions, errors."""
import copy
import json

import numpy as np
import pytest

from tests.shared_data import shared_path
from tests.tracker.eval.cases import NAMES17, person, video, write_dirs
from tracker.eval import PoseTrackEvalError, load_sequences
from tracker.eval.posetrack_types import MIN_SCORE, POSEVAL_JOINTS
from tracker.errors import FileFormatError

A, B = (100, 100), (400, 100)
NOSE = POSEVAL_JOINTS.index("nose")


def _load(tmp_path, gt, pred, **kwargs):
    return load_sequences(*write_dirs(tmp_path, {"s": gt}, {"s": pred}), **kwargs)


def test_keypoints_are_mapped_by_name_and_ears_dropped(tmp_path):
    ann = person(1, *A)
    order = [i for i, n in enumerate(NAMES17)
             if n not in ("left_ear", "right_ear")][::-1]          # 15 names, reversed
    keypoints = [v for i in order for v in ann["keypoints"][3 * i:3 * i + 3]]
    reordered = {**ann, "keypoints": keypoints, "scores": [0.1 * k for k in range(15)]}
    (seq,) = _load(tmp_path, video([[ann]]),
                   video([[reordered]], names=[NAMES17[i] for i in order]))
    gt, pred = seq.frames[0].gt, seq.frames[0].pred
    np.testing.assert_array_equal(gt.keypoints, pred.keypoints)
    assert gt.present.all() and pred.present.all()
    # poseval joint j takes the score at the file position of its name
    want = [0.1 * order.index(NAMES17.index(name)) for name in POSEVAL_JOINTS]
    np.testing.assert_allclose(pred.scores[0], want)
    assert (gt.scores == 0.9).all()


def test_only_exact_zero_triplets_are_absent(tmp_path):
    ann = person(1, *A, score=None)
    k = ann["keypoints"]
    k[0:3] = [0, 0, 0.5]       # nose at the origin with a score: present
    k[3:6] = [0, 0, 0]         # head_bottom (0, 0, 0): absent
    k[6:9] = [50, 60, 0]       # head_top with v = 0 but coordinates: present
    (seq,) = _load(tmp_path, video([[person(1, *A)]]), video([[ann]]))
    pred = seq.frames[0].pred
    present = dict(zip(POSEVAL_JOINTS, pred.present[0]))
    assert present["nose"] and present["head_top"] and not present["head_bottom"]
    assert (pred.scores == MIN_SCORE).all()                 # no scores -> -9999


def test_unlabeled_frames_and_their_predictions_are_dropped(tmp_path):
    gt = video([[person(1, *A)], [], [person(1, *A)]])
    pred = video([[person(1, *A)], [person(5, *B)], [person(1, *A)]])
    (seq,) = _load(tmp_path, gt, pred)
    assert [f.index for f in seq.frames] == [0, 2]
    assert seq.name == "s" and seq.frames[1].image.endswith("000002.jpg")


def test_ignore_regions_strict_interior_per_joint(tmp_path):
    # square with the nose (100, 140) strictly inside and head_top (100, 100) on its border
    square = [(90, 100), (110, 100), (110, 150), (90, 150)]
    gt = video([[person(1, *A)]], regions=[[square]])
    (seq,) = _load(tmp_path, gt, video([[person(2, *A)]]))
    for people in (seq.frames[0].gt, seq.frames[0].pred):
        present = dict(zip(POSEVAL_JOINTS, people.present[0]))
        assert not present["nose"] and present["head_top"] and sum(present.values()) == 14


def test_people_emptied_by_ignore_regions_are_removed(tmp_path):
    everything = [(-10, -10), (3000, -10), (3000, 3000), (-10, 3000)]
    zero = person(2, *B, drop=tuple(NAMES17))                # no keypoints at all
    gt = video([[person(1, *A), zero], [person(1, *A), zero]],
               regions=[None, [[(0, 50), (200, 50), (200, 600), (0, 600)]]])
    pred = video([[person(1, *A)], [person(1, *A)]])
    (seq,) = _load(tmp_path, gt, pred)
    # frame 0 has no regions: the zero-keypoint GT person survives (as in poseval)
    assert len(seq.frames[0].gt) == 2 and seq.frames[0].gt.present[1].sum() == 0
    # frame 1 has a region (around person 1): person 1 and the empty person are removed
    assert len(seq.frames[1].gt) == 0 and len(seq.frames[1].pred) == 0
    (seq,) = _load(tmp_path / "b", video([[person(1, *A)]], regions=[[everything]]),
                   pred=video([[person(1, *A)]]))
    assert len(seq.frames) == 1 and len(seq.frames[0].gt) == 0   # frame stays, GT empty


def test_nonfinite_points_are_opt_in_and_never_ignored(tmp_path):
    square = [(0, 0), (1000, 0), (1000, 1000), (0, 1000)]
    gt = video([[person(1, *A)]], regions=[[square]])
    pred = video([[person(1, *A, nan=("nose",))]])
    with pytest.raises(PoseTrackEvalError, match=r"pred/s\.json: annotations\[0\]\.keypoints: "
                                                 r"non-finite"):
        _load(tmp_path, gt, pred)
    (seq,) = _load(tmp_path, gt, pred, allow_nonfinite=True)
    assert seq.frames[0].pred.present[0].tolist() == [j == NOSE for j in range(15)]


def test_track_id_rules(tmp_path):
    gt = video([[person(-3, *A), person(-3, *B)]])             # GT duplicates: not checked
    (seq,) = _load(tmp_path, gt, video([[person(-1, *A), person(9999, *B)]]))
    assert seq.frames[0].pred.track_ids.tolist() == [-1, 9999]
    assert seq.frames[0].gt.track_ids.tolist() == [-3, -3]


def test_empty_head_box_is_allowed_where_no_head_size_is_needed(tmp_path):
    no_head = {**person(1, *A), "bbox_head": []}
    (seq,) = _load(tmp_path, video([[no_head], [person(1, *A)]]),
                   video([[], [person(1, *A)]]))
    assert np.isnan(seq.frames[0].gt.head_boxes).all()


def test_image_ids_match_by_value_as_in_poseval(tmp_path):
    """poseval compares ``image_id == image["id"]``: 1000.0 is image 1000."""
    pred = copy.deepcopy(GOOD)
    pred["annotations"][0]["image_id"] = 1000.0
    (seq,) = _load(tmp_path, GOOD, pred)
    assert [len(f.pred) for f in seq.frames] == [2, 2]


def test_files_sorted_or_in_glob_order(tmp_path):
    files = {name: video([[person(1, *A)]], video_id=vid)
             for name, vid in (("b", "000002"), ("a", "000001"), ("c", "000003"))}
    gt_dir, pred_dir = write_dirs(tmp_path, files, files)
    assert [s.name for s in load_sequences(gt_dir, pred_dir)] == ["a", "b", "c"]
    assert sorted(s.name for s in load_sequences(gt_dir, pred_dir, sort_files=False)) == \
        ["a", "b", "c"]


def _set_ann(key, value, k=0):
    def fn(data):
        data["annotations"][k][key] = value
    return fn


def _del_ann(key):
    def fn(data):
        del data["annotations"][0][key]
    return fn


def _drop_last_image(data):
    """The last image and its annotations (which would name no image) removed."""
    image = data["images"].pop()
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != image["id"]]


GOOD = video([[person(1, *A), person(2, *B)], [person(1, *A), person(2, *B)]])
# (id, which file, in-place mutation, expected message regex)
ERROR_CASES = [
    ("wrong_keypoint_length", "pred", _set_ann("keypoints", [1.0] * 48),
     r"pred/s\.json: annotations\[0\]\.keypoints: expected 51 numbers \(17 keypoints x 3\), "
     r"got 48"),
    ("keypoint_not_number", "pred", _set_ann("keypoints", ["1"] + [1.0] * 50),
     r"pred/s\.json: annotations\[0\]\.keypoints: expected numbers"),
    ("track_id_10000", "pred", _set_ann("track_id", 10000),
     r"pred/s\.json: annotations\[0\]\.track_id: 10000 is out of range; poseval needs track "
     r"ids < 10000"),
    ("gt_track_id_10000", "gt", _set_ann("track_id", 12345),
     r"gt/s\.json: annotations\[0\]\.track_id: 12345 is out of range"),
    ("track_id_fraction", "pred", _set_ann("track_id", 1.5),
     r"annotations\[0\]\.track_id: expected an integer, got 1\.5"),
    ("track_id_string", "pred", _set_ann("track_id", "7"),
     r"annotations\[0\]\.track_id: expected int/float, got str"),
    ("missing_track_id", "pred", _del_ann("track_id"), r"annotations\[0\]\.track_id: missing"),
    ("duplicate_track_id", "pred", _set_ann("track_id", 2),
     r"pred/s\.json: annotations\[\]\.track_id: 2 appears 2 times in image "
     r"'images/val/000001_mpii_test/000000\.jpg'"),
    ("short_scores", "pred", _set_ann("scores", [0.5] * 15),
     r"annotations\[0\]\.scores: expected a list of 17 numbers"),
    ("bad_file_name", "pred", lambda d: d["images"][0].update(file_name="frames/123.jpg"),
     r"pred/s\.json: images\[0\]\.file_name: cannot parse 'frames/123\.jpg'"),
    ("unknown_sequence_type", "gt",
     lambda d: d["images"][1].update(file_name="images/val/000001_foo/000001.jpg"),
     r"gt/s\.json: images\[1\]\.file_name: cannot parse"),
    ("two_videos", "gt",
     lambda d: d["images"][1].update(file_name="images/val/000002_mpii_test/000001.jpg"),
     r"gt/s\.json: images\[\]\.file_name: images of 2 videos \(000001, 000002\)"),
    ("two_categories", "pred", lambda d: d["categories"].append(d["categories"][0]),
     r"pred/s\.json: categories: expected exactly one category named 'person'"),
    ("missing_joint_name", "pred",
     lambda d: d["categories"][0].update(keypoints=NAMES17[:-1] + ["tail"]),
     r"categories\[0\]\.keypoints: 'right_ankle' appears 0 times, expected once"),
    ("frame_count", "pred", lambda d: _drop_last_image(d),
     r"pred/s\.json: images: 1 prediction frames, expected 2 as in .*gt/s\.json"),
    ("gt_without_head_box", "gt", _del_ann("bbox_head"),
     r"gt/s\.json: annotations\[0\]\.bbox_head: missing \(image "
     r"'images/val/000001_mpii_test/000000\.jpg' has predictions"),
    ("bad_head_box", "gt", _set_ann("bbox_head", [1, 2, 3]),
     r"annotations\[0\]\.bbox_head: expected 4 finite numbers"),
    ("ignore_region_line", "gt",
     lambda d: d["images"][0].update(ignore_regions_x=[[1, 2]], ignore_regions_y=[[1, 2]]),
     r"gt/s\.json: images\[0\]\.ignore_regions_x/y\[0\]: not a polygon"),
    ("ignore_region_half", "gt", lambda d: d["images"][0].update(ignore_regions_x=[]),
     r"images\[0\]\.ignore_regions_y: missing"),
    ("missing_categories", "pred", lambda d: d.pop("categories"),
     r"pred/s\.json: categories: missing"),
    ("gt_unknown_image_id", "gt", _set_ann("image_id", 7, k=3),
     r"gt/s\.json: annotations\[3\]\.image_id: 7 \(annotation id None\) is the id of no image; "
     r"expected one of the ids of 'images' \(1000, 1001\)"),
    ("pred_unknown_image_id", "pred",
     lambda d: d["annotations"][1].update(image_id="1000", id=42),
     r"pred/s\.json: annotations\[1\]\.image_id: '1000' \(annotation id 42\) is the id of no "
     r"image"),
    ("missing_image_id", "pred", _del_ann("image_id"),
     r"pred/s\.json: annotations\[0\]\.image_id: missing"),
    ("image_id_not_a_scalar", "gt", _set_ann("image_id", [1000]),
     r"gt/s\.json: annotations\[0\]\.image_id: \[1000\] .* is the id of no image"),
]
# Structure checked by the PoseTrack18 reader (tracker.io.posetrack18): FileFormatError.
STRUCTURE_CASES = [
    ("duplicate_image_id", "gt", lambda d: d["images"][1].update(id=1000),
     r"gt/s\.json: images\[1\]\.id: duplicate image id 1000"),
    ("missing_annotations", "pred", lambda d: d.pop("annotations"),
     r"pred/s\.json: annotations: missing"),
    ("posetrack17", "gt", lambda d: d.update(annolist=[]),
     r"gt/s\.json: annolist: PoseTrack17 files are not supported"),
]


@pytest.mark.parametrize(
    "which, mutate, message, error",
    [(*c[1:], PoseTrackEvalError) for c in ERROR_CASES]
    + [(*c[1:], FileFormatError) for c in STRUCTURE_CASES],
    ids=[c[0] for c in ERROR_CASES + STRUCTURE_CASES])
def test_bad_input_names_file_and_field(tmp_path, which, mutate, message, error):
    gt, pred = copy.deepcopy(GOOD), copy.deepcopy(GOOD)
    mutate(gt if which == "gt" else pred)
    with pytest.raises(error, match=message):
        _load(tmp_path, gt, pred)


def test_missing_prediction_file_and_malformed_json(tmp_path):
    gt_dir, pred_dir = write_dirs(tmp_path, {"s": GOOD, "t": GOOD}, {"s": GOOD})
    with pytest.raises(PoseTrackEvalError, match=r"pred/t\.json: prediction file does not "
                                                 r"exist \(needed for ground truth t\.json\)"):
        load_sequences(gt_dir, pred_dir)
    (pred_dir / "t.json").write_text('{"images": [')
    with pytest.raises(FileFormatError, match=r"pred/t\.json: not valid JSON"):
        load_sequences(gt_dir, pred_dir)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PoseTrackEvalError, match=r"no \*\.json ground-truth files"):
        load_sequences(tmp_path / "empty", pred_dir)
    with pytest.raises(PoseTrackEvalError, match="ground-truth directory does not exist"):
        load_sequences(tmp_path / "nope", pred_dir)


def test_real_bonn_files_without_head_boxes_are_rejected_when_needed(tmp_path):
    """Bonn sequences other than the 5 with head boxes have ``bbox_head: []`` (poseval itself
    crashes with IndexError while converting them)."""
    bonn = shared_path("data", "bonn-posetrack", "train")
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "000003_bonn_train.json").symlink_to(bonn / "000003_bonn_train.json")
    with pytest.raises(PoseTrackEvalError, match=r"000003_bonn_train\.json: annotations\[0\]"
                                                 r"\.bbox_head: missing"):
        load_sequences(tmp_path / "gt", bonn)
    data = json.loads((bonn / "000003_bonn_train.json").read_text())
    (seq,) = load_sequences(tmp_path / "gt", _no_people(tmp_path, data))
    assert len(seq.frames) == len(data["images"])     # every Bonn frame is labeled


def _no_people(tmp_path, data):
    (tmp_path / "pred").mkdir()
    (tmp_path / "pred" / "000003_bonn_train.json").write_text(
        json.dumps({**data, "annotations": []}))
    return tmp_path / "pred"
