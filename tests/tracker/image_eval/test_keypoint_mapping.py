"""Which models a benchmark scores, and the COCO -> PoseTrack18 mapping shared with the
PoseTrack18 writer of posetrack-run / posetrack-val."""
import json

import numpy as np
import pytest

from tracker.image_eval import BENCHMARKS, KEYPOINT_MAPPINGS, benchmark_mapping, map_persons
from tracker.io.posetrack18 import TrackWriter
from tracker.pose.zoo import keypoint_sets
from tracker.types import FrameResult, Poses

COCO = keypoint_sets()["coco"].names
POSETRACK18 = keypoint_sets()["posetrack18"].names


def _coco_person():
    keypoints = np.zeros((17, 3), np.float32)
    keypoints[:, :2] = np.arange(34, dtype=np.float32).reshape(17, 2) + 50
    keypoints[:, 2] = 0.9
    keypoints[0] = (10, 0, 0.8)       # nose
    keypoints[1] = (7, -1, 0.95)      # left_eye
    keypoints[2] = (13, -1, 0.95)     # right_eye
    keypoints[5] = (0, 10, 0.7)       # left_shoulder
    keypoints[6] = (20, 10, 0.6)      # right_shoulder
    return {"image_file": "a.jpg", "bbox_id": 0, "keypoints": keypoints.tolist(),
            "bbox_score": 1.0, "area": 100.0}


def test_own_set_needs_no_mapping_and_coco_maps_onto_posetrack18():
    posetrack18 = BENCHMARKS["posetrack18"]
    assert benchmark_mapping(posetrack18, POSETRACK18) is None
    assert benchmark_mapping(posetrack18, COCO) is KEYPOINT_MAPPINGS[("coco", "posetrack18")]
    assert benchmark_mapping(BENCHMARKS["coco"], COCO) is None


@pytest.mark.parametrize("benchmark,names,message", [
    ("posetrack18", keypoint_sets()["mpii"].names,
     r"model 'm' predicts 16 keypoints .* 'posetrack18' keypoint set \(17 keypoints\); zoo "
     r"models that fit: res50_posetrack18_256x192; and, mapped, the coco models: "
     r"res50_coco_256x192"),
    ("coco", POSETRACK18, r"predicts 17 keypoints \(nose, head_bottom, head_top, ...\), but "
     r"coco is scored on the 'coco' keypoint set"),
])
def test_a_model_without_a_mapping_is_refused_listing_the_models_that_fit(benchmark, names,
                                                                         message):
    with pytest.raises(ValueError, match=message):
        benchmark_mapping(BENCHMARKS[benchmark], names, model="m")


def test_coco_head_points_become_head_bottom_and_head_top_on_the_nose_shoulder_line():
    person = _coco_person()
    [mapped] = map_persons([person], KEYPOINT_MAPPINGS[("coco", "posetrack18")])
    keypoints = np.array(mapped["keypoints"])
    # shoulder midpoint S = (10, 10), nose N = (10, 0): S + 0.27 (N - S), S + 1.46 (N - S)
    np.testing.assert_allclose(keypoints[1], [10, 7.3, 0.6], atol=1e-5)
    np.testing.assert_allclose(keypoints[2], [10, -4.6, 0.6], atol=1e-5)
    others = [0] + list(range(3, 17))
    np.testing.assert_array_equal(keypoints[others], np.array(person["keypoints"])[others])
    assert {k: v for k, v in mapped.items() if k != "keypoints"} == \
        {k: v for k, v in person.items() if k != "keypoints"}
    assert map_persons([], KEYPOINT_MAPPINGS[("coco", "posetrack18")]) == []


def test_the_bench_mapping_is_the_one_posetrack_run_writes(tmp_path):
    """posetrack-bench and posetrack-run/-val give a COCO pose the same PoseTrack18 joints."""
    person = _coco_person()
    [mapped] = map_persons([person], KEYPOINT_MAPPINGS[("coco", "posetrack18")])
    coco = np.array(person["keypoints"], np.float32)
    poses = Poses(keypoints=coco[None, :, :2], keypoint_scores=coco[None, :, 2],
                  boxes_xyxy=np.array([[0, -10, 90, 90]], np.float32),
                  box_scores=np.ones(1, np.float32))
    writer = TrackWriter(tmp_path / "t.json", keypoint_names=COCO, sequence_name="seq")
    writer.add(FrameResult(index=0, poses=poses, track_ids=np.zeros(1, np.int64),
                           name="000000"))
    [written] = json.loads(writer.close().read_text())["annotations"]
    np.testing.assert_allclose(np.array(written["keypoints"]).reshape(17, 3)[:, :2],
                               np.array(mapped["keypoints"])[:, :2], atol=0.01)
    np.testing.assert_allclose(written["scores"], np.array(mapped["keypoints"])[:, 2],
                               atol=1e-5)
