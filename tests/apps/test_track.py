"""posetrack-track: track ids for poses read from files (literal files, then the Bonn GT)."""
import json

import numpy as np
import pytest

from apps import run, track
from tests.shared_data import shared_path

#: A standing person (17 COCO/PoseTrack18 joints) relative to the box centre, 40 x 100 px.
TEMPLATE = np.array([[0, -45], [-3, -47], [3, -47], [-6, -45], [6, -45], [-12, -30], [12, -30],
                     [-16, -12], [16, -12], [-18, 5], [18, 5], [-8, 5], [8, 5], [-9, 25],
                     [9, 25], [-9, 45], [9, 45]], np.float64)


def _walkers(frames=12):
    """Two people walking towards each other; per frame a list of (17, 2) poses."""
    return [[TEMPLATE + [60 + 4 * i, 120], TEMPLATE + [260 - 4 * i, 120]] for i in range(frames)]


def _posetrack18_file(path, people_per_frame, shuffle=True):
    rng = np.random.default_rng(0)
    images, annotations = [], []
    for i, people in enumerate(people_per_frame):
        images.append({"id": 100 + i, "file_name": f"images/val/walk/{i:06d}.jpg"})
        order = rng.permutation(len(people)) if shuffle else range(len(people))
        for k in order:
            xyv = np.concatenate([people[k], np.ones((17, 1))], axis=1)
            annotations.append({"image_id": 100 + i, "track_id": int(rng.integers(99)),
                                "keypoints": xyv.ravel().tolist()})
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    return path


def _tracks(path):
    """Per frame: {x of the first joint (rounded): track id}."""
    data = json.loads(path.read_text())
    frames = {}
    for a in data["annotations"]:
        frames.setdefault(a["image_id"], {})[round(a["keypoints"][3 * 5])] = a["track_id"]
    return data, [frames.get(i["id"], {}) for i in data["images"]]


@pytest.mark.parametrize("tracker", ["robust", "paper"])
def test_poses_in_shuffled_order_with_wrong_ids_get_one_id_per_person(tmp_path, tracker):
    source = _posetrack18_file(tmp_path / "walk.json", _walkers())
    out = tmp_path / "tracked.json"
    assert track.main([str(source), "--out", str(out), "--quiet", "--tracker", tracker]) == 0
    data, frames = _tracks(out)
    assert [i["file_name"] for i in data["images"]][:2] == ["images/val/walk/000000.jpg",
                                                           "images/val/walk/000001.jpg"]
    left = [frame[min(frame)] for frame in frames]      # the person coming from the left
    right = [frame[max(frame)] for frame in frames]
    assert len(set(left)) == 1 and len(set(right)) == 1 and left[0] != right[0]


def test_coco_results_are_tracked_and_written_as_coco(tmp_path):
    results = [{"image_id": i, "category_id": 1, "score": 0.9,
                "keypoints": np.concatenate([pose, np.full((17, 1), 0.8)], 1).ravel().tolist()}
               for i, people in enumerate(_walkers()) for pose in people]
    source = tmp_path / "results.json"
    source.write_text(json.dumps(results))
    out = tmp_path / "tracked.json"
    assert track.main([str(source), "--out", str(out), "--quiet", "--format", "coco"]) == 0
    written = json.loads(out.read_text())
    assert isinstance(written, list) and len(written) == len(results)
    assert len({entry["track_id"] for entry in written}) == 2


def _per_frame_person(pose, tool):
    x1, y1 = pose.min(axis=0) - 5
    x2, y2 = pose.max(axis=0) + 5
    if tool == "mmpose":
        return {"keypoints": pose.tolist(), "keypoint_scores": [0.8] * 17,
                "bbox": [[x1, y1, x2, y2]], "bbox_score": 0.9}
    return {"name": "person", "class": 0, "confidence": 0.9,
            "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2},
            "keypoints": {"x": pose[:, 0].tolist(), "y": pose[:, 1].tolist(),
                          "visible": [0.8] * 17}}


@pytest.mark.parametrize("tool", ["mmpose", "ultralytics"])
def test_a_folder_of_per_frame_json_gets_one_id_per_person(tmp_path, tool):
    folder = tmp_path / "walk_poses"
    folder.mkdir()
    for i, people in enumerate(_walkers()):
        (folder / f"{i}.json").write_text(json.dumps(
            [_per_frame_person(pose, tool) for pose in people[::(-1) ** i]]))
    out = tmp_path / "tracked.json"
    assert track.main([str(folder), "--out", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert [i["file_name"] for i in data["images"]][:3] == [
        "walk_poses/0.jpg", "walk_poses/1.jpg", "walk_poses/2.jpg"]
    ids_by_side = {}
    for a in data["annotations"]:
        ids_by_side.setdefault(a["keypoints"][3 * 5] < 160, set()).add(a["track_id"])
    assert len(data["annotations"]) == 24
    assert len(ids_by_side[True]) == len(ids_by_side[False]) == 1
    assert ids_by_side[True] != ids_by_side[False]


def test_a_bad_pose_file_is_one_error_line_and_writes_nothing(tmp_path, capsys):
    source = tmp_path / "bad.json"
    source.write_text(json.dumps([{"image_id": 0, "keypoints": [1, 2]}]))
    out = tmp_path / "tracked.json"
    assert track.main([str(source), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("posetrack-track: error: ") and "[0].keypoints" in err[-1]
    assert not out.exists()


def _without_ids_and_with_head_boxes(path, out):
    from tests.occlusion_sim import head_box_xywh

    data = json.loads(path.read_text())
    for annotation in data["annotations"]:
        if len(annotation.get("bbox_head") or []) != 4:
            xyv = np.asarray(annotation["keypoints"], np.float64).reshape(17, 3)
            annotation["bbox_head"] = head_box_xywh(xyv, annotation["bbox"])
    out.write_text(json.dumps(data))
    stripped = dict(data, annotations=[{k: v for k, v in a.items() if k != "track_id"}
                                       for a in data["annotations"]])
    return stripped


def test_bonn_ground_truth_without_ids_gets_its_tracks_back(tmp_path):
    from tracker.eval import evaluate_sequences, load_sequences

    names = ("000001_bonn_train.json", "000015_bonn_train.json", "99750569_bonn_train.json")
    gt, given, tracked = (tmp_path / d for d in ("gt", "given", "tracked"))
    for folder in (gt, given, tracked):
        folder.mkdir()
    for name in names:
        stripped = _without_ids_and_with_head_boxes(
            shared_path("data", "bonn-posetrack", "train", name), gt / name)
        (given / name).write_text(json.dumps(stripped))
        assert track.main([str(given / name), "--out", str(tracked / name), "--quiet"]) == 0
    reference = evaluate_sequences(load_sequences(gt, gt)).mota["total"]
    retracked = evaluate_sequences(load_sequences(gt, tracked)).mota["total"]
    assert reference == pytest.approx(100.0) and retracked >= reference - 0.5


def test_posetrack_run_coco_output_retracked_with_its_video(tmp_path):
    models = ["--detector-checkpoint",
              str(shared_path("models", "rtmdet-nano-person", "end2end.onnx")),
              "--pose-model", "pp_tinypose_256x192", "--pose-checkpoint",
              str(shared_path("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx"))]
    video = str(shared_path("data", "videos", "basketball-2p-426x240.mp4"))
    coco = tmp_path / "run.json"
    assert run.main([video, "--out", str(coco), "--format", "coco", "--max-frames", "30",
                     "--quiet", *models]) == 0
    out = tmp_path / "retracked.json"
    assert track.main([str(coco), "--out", str(out), "--video", video, "--quiet",
                       "--format", "coco"]) == 0
    ran, retracked = json.loads(coco.read_text()), json.loads(out.read_text())
    assert {e["track_id"] for e in ran} == {0, 1}
    # the same people, the same ids: the id of each written pose is the one posetrack-run gave
    by_pose = {(e["image_id"], tuple(e["keypoints"][:2])): e["track_id"] for e in ran}
    assert all(by_pose[(e["image_id"], tuple(e["keypoints"][:2]))] == e["track_id"]
               for e in retracked)
