"""Reading the official layouts: the persons to crop are mmpose's db, crop for crop."""
import json

import numpy as np
import pytest

from tests.shared_data import shared_path
from tests.tracker.image_eval.cases import (annotation_file, benchmark_name, fixture_params,
                                            load_case, mmpose_testdata)
from tracker.image_eval import BENCHMARKS, BoxRequest, missing_images
from tracker.image_eval.datasets import detection_boxes, load_coco_ground_truth
from tracker.image_eval.runner import crop_geometry

ALL = ("coco", "coco_mini_val2017", "ochuman", "aic", "mhp", "crowdpose", "posetrack18",
       "mpii", "mpii_trb", "jhmdb")


def _request(benchmark, case, tmp_path):
    config = case["data_cfg"]
    detections = config.get("bbox_file")
    gt = shared_path("fixtures", "bench-metrics", "derived", "mpii_gt_val.mat") \
        if benchmark == "mpii" else None
    if benchmark.startswith("crowdpose") and case["variant"].endswith("variant"):
        ann = mmpose_testdata("crowdpose", "test_crowdpose.json")
    else:
        ann = annotation_file(benchmark, case, tmp_path)
    return BoxRequest(ann, mmpose_testdata(*detections[len("tests/data/"):].split("/"))
                      if detections else None, config.get("det_bbox_thr", 0.0),
                      tuple(config["image_size"]), gt)


@pytest.mark.parametrize("benchmark,index", fixture_params(*ALL))
def test_persons_and_crops_are_mmposes(benchmark, index, tmp_path):
    """Same persons (count, image, bbox_id, box, box score) and the same float32 center,
    scale and area as mmpose's results for every fixture case."""
    case, predictions = load_case(benchmark, index)
    request = _request(benchmark, case, tmp_path)
    boxes = BENCHMARKS[benchmark_name(benchmark)].read_boxes(request)
    assert len(boxes) == case["num_db_entries"]
    centers, scales, valid = crop_geometry(boxes, request.input_size_wh)
    areas = np.prod(scales * np.float32(200), axis=1)
    assert valid.all()
    by_key = {(box.image_file, box.bbox_id): i for i, box in enumerate(boxes)}
    for person in predictions["persons"]:
        if person["source"] == "false_positive" or person["source"].startswith("near_dup"):
            continue
        i = by_key[person["image_file"], person["bbox_id"]]
        assert centers[i].tolist() == person["center"]
        assert scales[i].tolist() == person["scale"]
        assert float(areas[i]) == person["area"]
        assert float(np.float32(boxes[i].bbox_score)) == person["bbox_score"]
        if person["bbox_xywh"] is not None:
            assert list(boxes[i].bbox_xywh) == person["bbox_xywh"]


def _detections(tmp_path, entries):
    path = tmp_path / "detections.json"
    path.write_text(json.dumps(entries))
    return path


def test_detection_threshold_and_categories(tmp_path):
    truth = load_coco_ground_truth(mmpose_testdata("coco", "test_coco.json"))
    path = _detections(tmp_path, [
        {"image_id": 785, "category_id": 1, "bbox": [1, 2, 30, 40], "score": 0.9},
        {"image_id": 785, "category_id": 2, "bbox": [1, 2, 30, 40], "score": 0.9},
        {"image_id": 785, "category_id": 1, "bbox": [5, 5, 30, 40], "score": 0.1}])
    boxes = detection_boxes(path, truth, det_bbox_thr=0.3)
    assert [(b.image_file, b.bbox_id, b.bbox_xywh, b.bbox_score) for b in boxes] == \
        [("000000000785.jpg", 0, (1.0, 2.0, 30.0, 40.0), 0.9)]


@pytest.mark.parametrize("entries,message", [
    ([{"image_id": 999, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.9}],
     "image_id 999 is not an image of .* the detections belong to other images"),
    ([{"image_id": 785, "category_id": 1, "bbox": [1, 2, 3], "score": 0.9}], "entry 0: bbox"),
    ([{"image_id": 785, "category_id": 1, "bbox": [1, 2, 3, float("nan")], "score": 1}],
     "entry 0: bbox"),
    ([{"image_id": 785, "category_id": 1, "bbox": [1, 2, 3, 4]}], "entry 0: expected an object"),
    ([], "expected a non-empty JSON list"),
])
def test_bad_detection_files_are_errors(tmp_path, entries, message):
    truth = load_coco_ground_truth(mmpose_testdata("coco", "test_coco.json"))
    with pytest.raises(ValueError, match=message):
        detection_boxes(_detections(tmp_path, entries), truth, det_bbox_thr=0.0)


def test_missing_files_are_errors(tmp_path):
    truth = load_coco_ground_truth(mmpose_testdata("coco", "test_coco.json"))
    with pytest.raises(FileNotFoundError, match="detection file .* does not exist"):
        detection_boxes(tmp_path / "none.json", truth, det_bbox_thr=0.0)
    with pytest.raises(FileNotFoundError, match="annotation file .* does not exist"):
        load_coco_ground_truth(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_coco_ground_truth(tmp_path / "bad.json")
    boxes = BENCHMARKS["coco"].read_boxes(BoxRequest(truth.path, None, 0.0, (192, 256)))
    assert missing_images(tmp_path, boxes)[0] == tmp_path / boxes[0].image_file
    assert missing_images(truth.path.parent, boxes) == []


def test_sub_jhmdb_is_one_based_with_string_ids():
    boxes = BENCHMARKS["jhmdb"].read_boxes(BoxRequest(
        mmpose_testdata("jhmdb", "test_jhmdb_sub1.json"), None, 0.0, (256, 256)))
    assert boxes[0].bbox_id == "2280001_000"
    assert boxes[0].bbox_xywh == (78.0, 61.0, 54.0, 159.0)     # [79, 62, 54, 159] - (1, 1)
