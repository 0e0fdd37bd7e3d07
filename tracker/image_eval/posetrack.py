"""PoseTrack18 per-frame mAP: mmpose 0.29's ``TopDownPoseTrack18Dataset.evaluate``.

Grouping, rescoring and OKS-NMS as for COCO (``coco_style.select_persons``, COCO sigmas), then
one prediction file per ground-truth sequence file (poseval's input layout: the GT file's
``images``, the kept persons of each image with ``track_id`` = their rank in the image),
scored by the project's poseval-equal evaluator ``tracker.eval``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

from tracker.image_eval.coco_style import select_persons
from tracker.image_eval.datasets import load_coco_ground_truth
from tracker.image_eval.persons import PredictionSet
from tracker.image_eval.settings import EvalSettings
from tracker.eval import evaluate
from tracker.files import write_json_atomically
from tracker.io.posetrack18 import read_posetrack18
from tracker.pose.zoo import keypoint_sets

#: mmpose's metric names <- ``PoseTrackResults.ap`` keys.
AP_NAMES = {"Head AP": "head", "Shou AP": "shoulder", "Elb AP": "elbow", "Wri AP": "wrist",
            "Hip AP": "hip", "Knee AP": "knee", "Ankl AP": "ankle", "Total AP": "total"}
PREDICTIONS_FOLDER = "preds"


def default_gt_dir(annotation_file: str | os.PathLike) -> Path:
    """mmpose's GT folder: ``annotations/posetrack18_val.json`` -> ``annotations/val``."""
    text = str(annotation_file)
    return Path(os.path.dirname(text)) / os.path.splitext(text.split("_")[-1])[0]


def write_prediction_folder(gt_dir: Path, pred_dir: Path, by_image: dict) -> None:
    """One poseval prediction file per ``gt_dir/*.json``.

    Args:
        by_image: image id -> list of ``(keypoints (K, 3) float32, score)`` in keep order.
    """
    categories = [{"supercategory": "person", "id": 1, "name": "person",
                   "keypoints": list(keypoint_sets()["posetrack18"].names), "skeleton": []}]
    for name in sorted(os.listdir(gt_dir)):
        if not name.endswith(".json"):
            continue
        gt = read_posetrack18(gt_dir / name, "PoseTrack18 ground-truth file")
        images, annotations = [], []
        for image in gt.images:
            images.append({"id": image["id"], "file_name": image["file_name"]})
            for track_id, (keypoints, score) in enumerate(by_image.get(image["id"], [])):
                annotations.append({"image_id": image["id"],
                                    "keypoints": keypoints.reshape(-1).tolist(),
                                    "scores": keypoints[:, 2].tolist(), "score": float(score),
                                    "track_id": track_id})
        write_json_atomically(pred_dir / name, {"images": images, "categories": categories,
                                                "annotations": annotations})


def evaluate_posetrack18(annotation_file: str | os.PathLike, predictions: PredictionSet,
                         settings: EvalSettings, *, sigmas, gt_dir: Optional[Path] = None,
                         results_dir: Optional[Path] = None) -> dict[str, float]:
    """Per-joint-group AP in percent: ``{"Head AP", ..., "Ankl AP", "Total AP"}``.

    Args:
        annotation_file: the COCO-style val file (``posetrack18_val.json``).
        gt_dir: poseval's per-sequence GT folder (default: mmpose's, next to the file).
        results_dir: if given, the prediction files go to ``results_dir/preds/`` and stay.
    """
    truth = load_coco_ground_truth(annotation_file)
    gt_dir = Path(gt_dir) if gt_dir is not None else default_gt_dir(annotation_file)
    if not gt_dir.is_dir():
        raise FileNotFoundError(f"PoseTrack18 ground-truth folder {gt_dir} does not exist "
                                f"(per-sequence files, next to {annotation_file})")
    by_image = {}
    for selection in select_persons(truth, predictions, settings, sigmas):
        by_image[selection.image_id] = [
            (predictions.keypoints[i], s)
            for i, s in zip(selection.indices.tolist(), selection.scores.tolist())]
    with tempfile.TemporaryDirectory(prefix="posetrack18_preds_") as scratch:
        pred_dir = Path(results_dir) / PREDICTIONS_FOLDER if results_dir else Path(scratch)
        pred_dir.mkdir(parents=True, exist_ok=True)
        write_prediction_folder(gt_dir, pred_dir, by_image)
        results = evaluate(gt_dir, pred_dir, tracking=False)
    return {name: results.ap[key] for name, key in AP_NAMES.items()}
