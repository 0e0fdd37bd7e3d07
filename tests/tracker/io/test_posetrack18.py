"""PoseTrack18 reader and PoseTrack18 / COCO writer: structure checks, layout poseval reads,
the COCO head mapping, atomic writes."""
import json

import numpy as np
import pytest

from tracker.errors import FileFormatError, MissingFileError, OutputError
from tracker.io.posetrack18 import (HEAD_BOTTOM_ALONG, HEAD_TOP_ALONG, TrackWriter,
                                    coco_to_posetrack18, read_posetrack18, sequence_name_for)
from tracker.pose.zoo import keypoint_sets
from tracker.types import FrameResult, Poses

COCO_NAMES = keypoint_sets()["coco"].names
POSETRACK18_NAMES = keypoint_sets()["posetrack18"].names


def _result(index, n, keypoints=None, scores=None, box_scores=None):
    rng = np.random.default_rng(index)
    keypoints = rng.uniform(10, 200, (n, 17, 2)) if keypoints is None else keypoints
    scores = np.full((n, 17), 0.8) if scores is None else scores
    boxes = np.concatenate([keypoints.min(axis=1), keypoints.max(axis=1)], axis=1) if n else \
        np.zeros((0, 4))
    poses = Poses(keypoints=keypoints, keypoint_scores=scores, boxes_xyxy=boxes,
                  box_scores=np.ones(n) if box_scores is None else box_scores)
    return FrameResult(index=index, name=f"{index:06d}.jpg", poses=poses,
                       track_ids=np.arange(n), timestamp_s=index / 30)


def _written(writer):
    return json.loads(writer.close().read_text())


def test_coco_head_mapping_places_head_points_on_the_shoulder_nose_line():
    keypoints = np.zeros((1, 17, 2), np.float32)
    keypoints[0, 0] = [100, 50]                       # nose
    keypoints[0, 5], keypoints[0, 6] = [80, 150], [120, 150]   # shoulders, midpoint (100, 150)
    keypoints[0, 3] = [90, 55]
    scores = np.full((1, 17), 0.9, np.float32)
    scores[0, 6] = 0.4
    mapped, mapped_scores = coco_to_posetrack18(keypoints, scores)
    np.testing.assert_allclose(mapped[0, 1], [100, 150 - 100 * HEAD_BOTTOM_ALONG], atol=1e-4)
    np.testing.assert_allclose(mapped[0, 2], [100, 150 - 100 * HEAD_TOP_ALONG], atol=1e-4)
    assert mapped_scores[0, 1] == mapped_scores[0, 2] == pytest.approx(0.4)
    np.testing.assert_array_equal(mapped[0, [0, 3, 5, 6]], keypoints[0, [0, 3, 5, 6]])
    assert not np.shares_memory(mapped, keypoints)


def test_posetrack18_file_lists_every_frame_in_order(tmp_path):
    out = tmp_path / "seq.json"
    writer = TrackWriter(out, keypoint_names=POSETRACK18_NAMES,
                         sequence_name="images/val/012834_mpii_test")
    for index, n in enumerate([2, 0, 1]):
        writer.add(_result(index, n))
    writer.close()
    data = json.loads(out.read_text())
    assert [i["file_name"] for i in data["images"]] == [
        f"images/val/012834_mpii_test/{i:06d}.jpg" for i in range(3)]
    assert [a["image_id"] for a in data["annotations"]] == [0, 0, 2]
    assert data["categories"][0]["keypoints"] == list(POSETRACK18_NAMES)
    annotation = data["annotations"][0]
    assert len(annotation["keypoints"]) == 51 and len(annotation["scores"]) == 17
    assert annotation["track_id"] == 0 and annotation["category_id"] == 1
    assert all(image["nframes"] == 3 for image in data["images"])


def test_low_and_nan_keypoints_are_written_absent(tmp_path):
    keypoints = np.full((1, 17, 2), 50.0)
    keypoints[0, 4] = np.nan
    scores = np.full((1, 17), 0.9)
    scores[0, 7] = 0.1
    writer = TrackWriter(tmp_path / "a.json", keypoint_names=POSETRACK18_NAMES,
                         sequence_name="s", min_keypoint_score=0.4)
    writer.add(_result(0, 1, keypoints, scores))
    annotation = _written(writer)["annotations"][0]
    xyv = np.reshape(annotation["keypoints"], (17, 3))
    assert xyv[4].tolist() == [0, 0, 0] and xyv[7].tolist() == [0, 0, 0]
    assert xyv[0].tolist() == [50, 50, 1]
    assert annotation["scores"][7] == 0 and annotation["scores"][0] == 0.9


def test_person_threshold_and_people_without_keypoints(tmp_path):
    writer = TrackWriter(tmp_path / "a.json", keypoint_names=POSETRACK18_NAMES,
                         sequence_name="s", min_person_score=0.5, min_keypoint_score=0.5)
    scores = np.full((3, 17), 0.9)
    scores[2] = 0.1                                   # no keypoint left -> not written
    writer.add(_result(0, 3, scores=scores, box_scores=np.array([0.9, 0.3, 0.9])))
    assert [a["track_id"] for a in _written(writer)["annotations"]] == [0]


def test_coco_model_is_mapped_for_posetrack18_and_kept_for_coco(tmp_path):
    result = _result(0, 1)
    posetrack = TrackWriter(tmp_path / "a.json", keypoint_names=COCO_NAMES, sequence_name="s")
    posetrack.add(result)
    xyv = np.reshape(_written(posetrack)["annotations"][0]["keypoints"], (17, 3))
    expected, _ = coco_to_posetrack18(result.poses.keypoints, result.poses.keypoint_scores)
    np.testing.assert_allclose(xyv[:, :2], expected[0], atol=0.01)
    coco = TrackWriter(tmp_path / "b.json", keypoint_names=COCO_NAMES, sequence_name="s",
                       format="coco")
    coco.add(result)
    coco.close()
    entry = json.loads((tmp_path / "b.json").read_text())[0]
    assert entry["image_id"] == 0 and entry["category_id"] == 1 and "track_id" in entry
    np.testing.assert_allclose(np.reshape(entry["keypoints"], (17, 3))[:, :2],
                               result.poses.keypoints[0], atol=0.001)
    np.testing.assert_allclose(np.reshape(entry["keypoints"], (17, 3))[:, 2], 0.8)


def test_posetrack18_needs_a_17_keypoint_coco_or_posetrack_model(tmp_path):
    with pytest.raises(OutputError, match="--format coco"):
        TrackWriter(tmp_path / "a.json", keypoint_names=[f"k{i}" for i in range(16)],
                    sequence_name="s")
    with pytest.raises(OutputError, match="format"):
        TrackWriter(tmp_path / "a.json", keypoint_names=COCO_NAMES, sequence_name="s",
                    format="mot")


def test_write_is_atomic_and_keeps_an_existing_file_on_failure(tmp_path):
    out = tmp_path / "tracks.json"
    out.write_text("previous results")
    writer = TrackWriter(out, keypoint_names=POSETRACK18_NAMES, sequence_name="s")
    writer.add(_result(0, 1))
    assert out.read_text() == "previous results"          # nothing replaced while running
    writer.abort()                                      # what a failed run does
    assert out.read_text() == "previous results"
    assert [p.name for p in tmp_path.iterdir()] == ["tracks.json"]   # no temporary left
    with pytest.raises(OutputError, match="does not exist"):
        TrackWriter(tmp_path / "missing" / "t.json", keypoint_names=POSETRACK18_NAMES,
                    sequence_name="s")


def test_memory_stays_flat_on_long_videos(tmp_path):
    """Annotations are streamed to disk: 20x more frames use about the same memory."""
    import tracemalloc

    def peak(frames):
        writer = TrackWriter(tmp_path / f"{frames}.json", keypoint_names=POSETRACK18_NAMES,
                             sequence_name="s")
        result = _result(0, 15)
        tracemalloc.start()
        for index in range(frames):
            writer.add(FrameResult(index=index, name=f"{index:06d}.jpg", poses=result.poses,
                                   track_ids=result.track_ids))
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        data = _written(writer)
        assert len(data["images"]) == frames and len(data["annotations"]) == 15 * frames
        return size

    small, large = peak(50), peak(1000)
    # what grows is the per-frame image entry (~0.5 kB), not the 15 people of each frame
    # (kept in memory they would take ~15 x 2 kB per frame)
    assert large - small < 950 * 1000


def test_sequence_names(tmp_path):
    folder = tmp_path / "images" / "val" / "012834_mpii_test"
    folder.mkdir(parents=True)
    assert sequence_name_for(str(folder)) == "images/val/012834_mpii_test"
    assert sequence_name_for("clips/012834_mpii_test.mp4") == "012834_mpii_test"
    assert sequence_name_for("0") == "camera0"
    assert sequence_name_for("rtsp://user:pw@host/cam") == "stream"


def test_written_ground_truth_scores_perfectly_in_the_evaluator(tmp_path):
    """Writer and evaluator agree on the format: the Bonn ground truth, passed through
    FrameResult and TrackWriter, scores MOTA 100 and the AP of GT against itself."""
    from tests.shared_data import shared_path
    from tracker.eval import evaluate

    path = shared_path("data", "bonn-posetrack", "train", "000001_bonn_train.json")
    data = json.loads(path.read_text())
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt" / path.name).write_text(path.read_text())
    writer = TrackWriter(tmp_path / "pred" / path.name, keypoint_names=POSETRACK18_NAMES,
                         sequence_name="images/train/000001_bonn_train")
    for index, image in enumerate(data["images"]):
        people = [a for a in data["annotations"] if a["image_id"] == image["id"]]
        xyv = np.array([a["keypoints"] for a in people], np.float64).reshape(-1, 17, 3)
        boxes = np.array([a["bbox"] for a in people], np.float64).reshape(-1, 4)
        poses = Poses(keypoints=xyv[..., :2], keypoint_scores=np.where(xyv[..., 2] > 0, 0.9, 0),
                      boxes_xyxy=np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], 1),
                      box_scores=np.ones(len(people)))
        writer.add(FrameResult(index=index, name=image["file_name"].rsplit("/", 1)[1],
                               poses=poses, track_ids=[a["track_id"] for a in people]))
    writer.close()
    results = evaluate(tmp_path / "gt", tmp_path / "pred")
    assert results.mota["total"] == pytest.approx(100.0)
    assert results.precision == pytest.approx(100.0) and results.recall == pytest.approx(100.0)
    assert results.ap["shoulder"] == pytest.approx(100.0)


def test_outputs_get_normal_file_permissions(tmp_path):
    import os
    import stat

    from tracker.files import write_json_atomically

    umask = os.umask(0o022)
    try:
        write_json_atomically(tmp_path / "a.json", {"x": 1})
        writer = TrackWriter(tmp_path / "b.json", keypoint_names=POSETRACK18_NAMES,
                             sequence_name="s")
        writer.close()
    finally:
        os.umask(umask)
    for name in ("a.json", "b.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def _posetrack18(**changes):
    data = {"images": [{"id": 10, "file_name": "images/val/000001_mpii_test/000000.jpg",
                        "frame_id": 10},
                       {"id": "b", "file_name": "images/val/000001_mpii_test/000001.jpg"}],
            "annotations": [{"image_id": 10, "track_id": 0}],
            "categories": [{"id": 1, "name": "person"}]}
    data.update(changes)
    return data


def _write_json(tmp_path, data, name="seq.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_reader_keeps_the_file_as_it_is(tmp_path):
    video = read_posetrack18(_write_json(tmp_path, _posetrack18()))
    assert video.path == tmp_path / "seq.json"
    assert video.file_names == ["images/val/000001_mpii_test/000000.jpg",
                                "images/val/000001_mpii_test/000001.jpg"]
    assert video.images[0] == {"id": 10, "file_name": "images/val/000001_mpii_test/000000.jpg",
                               "frame_id": 10}
    assert video.annotations == [{"image_id": 10, "track_id": 0}]
    assert video.categories == [{"id": 1, "name": "person"}]
    data = _posetrack18()
    del data["categories"]
    assert read_posetrack18(_write_json(tmp_path, data)).categories is None


def _without(key):
    data = _posetrack18()
    del data[key]
    return data


def _image(**changes):
    return _posetrack18(images=[{"id": 1, "file_name": "a/000000.jpg", **changes}])


@pytest.mark.parametrize("data,message", [
    ("[1, 2", r"seq\.json: not valid JSON"),
    ([], r"seq\.json: expected a PoseTrack18 mapping with 'images', 'annotations' and "
         r"'categories', got list"),
    (_posetrack18(annolist=[]), r"seq\.json: annolist: PoseTrack17 files are not supported"),
    (_without("images"), r"seq\.json: images: missing"),
    (_posetrack18(images={}), r"seq\.json: images: expected a list, got dict"),
    (_posetrack18(images=[]), r"seq\.json: images: empty; expected one entry per frame"),
    (_posetrack18(images=[3]), r"seq\.json: images\[0\]: expected a mapping, got int"),
    (_posetrack18(images=[{"file_name": "a.jpg"}]), r"seq\.json: images\[0\]\.id: missing"),
    (_image(id=True), r"images\[0\]\.id: expected an integer or a string, got True"),
    (_image(id=1.5), r"images\[0\]\.id: expected an integer or a string, got 1\.5"),
    (_posetrack18(images=_image()["images"] * 2), r"images\[1\]\.id: duplicate image id 1"),
    (_posetrack18(images=[{"id": 1}]), r"seq\.json: images\[0\]\.file_name: missing"),
    (_image(file_name=""), r"images\[0\]\.file_name: expected a non-empty string, got ''"),
    (_image(file_name=7), r"images\[0\]\.file_name: expected a non-empty string, got 7"),
    (_without("annotations"), r"seq\.json: annotations: missing"),
    (_posetrack18(annotations=None), r"seq\.json: annotations: expected a list, got NoneType"),
    (_posetrack18(categories={}), r"seq\.json: categories: expected a list, got dict"),
])
def test_reader_names_file_and_field_of_a_bad_structure(tmp_path, data, message):
    with pytest.raises(FileFormatError, match=message):
        read_posetrack18(_write_json(tmp_path, data))


def test_reader_names_a_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match=r"ground-truth file .*nope\.json does not exist"):
        read_posetrack18(tmp_path / "nope.json", "ground-truth file")


def test_written_file_reads_back(tmp_path):
    writer = TrackWriter(tmp_path / "seq.json", keypoint_names=POSETRACK18_NAMES,
                         sequence_name="images/val/000001_mpii_test")
    for index, n in enumerate([1, 0]):
        writer.add(_result(index, n))
    video = read_posetrack18(writer.close())
    assert video.file_names == ["images/val/000001_mpii_test/000000.jpg",
                                "images/val/000001_mpii_test/000001.jpg"]
    assert [a["image_id"] for a in video.annotations] == [0]
    assert video.categories[0]["keypoints"] == list(POSETRACK18_NAMES)
