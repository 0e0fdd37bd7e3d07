"""The COCO keypoint results layout of one person, on literal arrays."""
import numpy as np

from tracker.io.coco import coco_result, keypoint_triplets, person_entry


def test_triplets_zero_the_absent_keypoints():
    keypoints = np.array([[1.5, 2.0], [3.0, 4.0], [5.0, 6.0]])
    present = np.array([True, False, True])
    np.testing.assert_array_equal(keypoint_triplets(keypoints, present, 1),
                                  [[1.5, 2, 1], [0, 0, 0], [5, 6, 1]])
    np.testing.assert_array_equal(keypoint_triplets(keypoints, present, np.array([0.25, 0.5])),
                                  [[1.5, 2, 0.25], [0, 0, 0], [5, 6, 0.5]])


def test_coco_result_fields_in_file_order():
    entry = coco_result(number=3, image_id=7, track_id=2,
                        keypoints=np.array([[10.12345, 20.0], [30.0, 40.0]]),
                        scores=np.array([0.8, 0.1]), present=np.array([True, False]),
                        box_xywh=np.array([1.234, 2.0, 30.0, 40.0]), box_score=0.5)
    assert list(entry) == ["id", "image_id", "category_id", "track_id", "bbox", "score",
                           "keypoints"]
    assert entry == {"id": 3, "image_id": 7, "category_id": 1, "track_id": 2,
                     "bbox": [1.23, 2.0, 30.0, 40.0], "score": 0.4,   # 0.5 x mean(0.8)
                     "keypoints": [10.123, 20.0, 0.8, 0.0, 0.0, 0.0]}


def test_person_entry_writes_a_non_finite_box_as_zeros():
    entry = person_entry(number=0, image_id=0, track_id=0,
                         box_xywh=np.array([np.nan, 1.0, np.inf, 2.0]), box_score=1.0,
                         scores=np.array([0.5, 0.7]), present=np.array([True, True]),
                         keypoints=[])
    assert entry["bbox"][0] == 0 and entry["bbox"][1] == 1 and entry["bbox"][3] == 2
    assert np.isfinite(entry["bbox"]).all() and entry["score"] == 0.6
