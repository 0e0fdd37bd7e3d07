"""Real poses: the PP-TinyPose ONNX zoo entry on real COCO images with ground-truth boxes."""
import contextlib
import io
import json

import cv2
import numpy as np
import pytest

from tests.shared_data import shared_path
from tracker.pose import load_pose_model

ONNX = ("models", "pp-tinypose-256x192", "pp_tinypose_256x192.onnx")


def coco_keypoint_ap(annotation_file, results) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(annotation_file))
        evaluator = COCOeval(gt, gt.loadRes(results), "keypoints")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0])


@pytest.mark.slow
def test_pp_tinypose_gives_real_poses_on_coco_mini_val():
    root = shared_path("data", "coco-mini-val2017")
    annotation_file = root / "annotations" / "person_keypoints_val2017.json"
    coco = json.loads(annotation_file.read_text())
    model = load_pose_model("pp_tinypose_256x192", checkpoint=shared_path(*ONNX))
    persons = {}
    for ann in coco["annotations"]:
        if ann["num_keypoints"] > 0 and not ann["iscrowd"]:
            persons.setdefault(ann["image_id"], []).append(ann["bbox"])
    files = {img["id"]: img["file_name"] for img in coco["images"]}
    results = []
    for image_id, boxes in persons.items():
        image = cv2.imread(str(root / "val2017" / files[image_id]))
        poses = model.predict(image, boxes)
        for keypoints, scores in zip(poses.keypoints, poses.keypoint_scores):
            visible = scores[scores > 0.2]  # mmpose's rescoring with vis_thr 0.2, box score 1
            triplets = np.concatenate([keypoints, scores[:, None]], axis=1)
            results.append({"image_id": image_id, "category_id": 1,
                            "keypoints": triplets.reshape(-1).tolist(),
                            "score": float(visible.mean()) if len(visible) else 0.0})
    assert len(results) == 68
    ap = coco_keypoint_ap(annotation_file, results)
    print(f"PP-TinyPose COCO keypoint AP on coco-mini-val2017 (GT boxes, flip test): {ap:.4f}")
    assert ap >= 0.60, f"COCO keypoint AP {ap:.3f} < 0.60"


def test_onnx_fixed_batch_model_runs_many_crops_in_chunks():
    model = load_pose_model("pp_tinypose_256x192", checkpoint=shared_path(*ONNX))
    image = cv2.imread(str(shared_path("data", "coco-mini-val2017", "val2017",
                                       "000000000139.jpg")))
    boxes = [[412.8, 157.61, 53.05, 138.01], [384.43, 172.21, 15.12, 35.74], [10, 10, 100, 200]]
    together = model.predict(image, boxes, flip_test=False)
    one_by_one = [model.predict(image, [box], flip_test=False) for box in boxes]
    np.testing.assert_array_equal(together.keypoints,
                                  np.concatenate([p.keypoints for p in one_by_one]))
