"""COCO, OCHuman, AIC, MHP, CrowdPose: mmpose 0.29's ``TopDownCocoDataset.evaluate``.

    persons --group by image (first appearance), sort by bbox_id, drop repeated ids-->
      --rescore (box score x mean keypoint score > vis_thr)--> --OKS-NMS per image-->
      --COCO keypoint results (result_keypoints.json)--> --COCOeval (xtcocotools rules)--> stats

PoseTrack18 shares the first three steps (``select_persons``); see ``posetrack.py``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from tracker.image_eval.coco_eval import evaluate_keypoints
from tracker.image_eval.datasets import CocoGroundTruth, load_coco_ground_truth
from tracker.image_eval.persons import PredictionSet
from tracker.image_eval.rescoring import oks_nms, rescore, soft_oks_nms
from tracker.image_eval.settings import EvalSettings
from tracker.files import write_json_atomically

RESULTS_FILE = "result_keypoints.json"


@dataclass(frozen=True)
class ImageSelection:
    """The persons of one image that survive: indices into the PredictionSet (keep order)
    and their rescored confidences (float64)."""

    image_id: object
    indices: np.ndarray
    scores: np.ndarray


def image_ids_of(predictions: PredictionSet, truth: CocoGroundTruth) -> list:
    """The annotation's image id of every person (mmpose's ``name2id``)."""
    ids = []
    for i, name in enumerate(predictions.image_files):
        if name not in truth.name_to_id:
            raise ValueError(f"persons[{i}].image_file: {name!r} is not an image of "
                             f"{truth.path} (file names are relative to the image folder)")
        ids.append(truth.name_to_id[name])
    return ids


def _sorted_unique(indices: list[int], bbox_ids: tuple) -> list[int]:
    """Sort by bbox_id (stable) and keep the first of each run of equal ids."""
    ordered = sorted(indices, key=lambda i: bbox_ids[i])
    return [i for k, i in enumerate(ordered)
            if k == 0 or bbox_ids[i] != bbox_ids[ordered[k - 1]]]


def select_persons(truth: CocoGroundTruth, predictions: PredictionSet, settings: EvalSettings,
                   sigmas) -> list[ImageSelection]:
    """Grouping, rescoring and OKS-NMS of every image, in mmpose's image order."""
    groups: dict = {}
    for i, image_id in enumerate(image_ids_of(predictions, truth)):
        groups.setdefault(image_id, []).append(i)
    scores = rescore(predictions.keypoints[:, :, 2], predictions.bbox_scores, settings.vis_thr)
    sigmas = np.asarray(sigmas, np.float64)
    nms = soft_oks_nms if settings.soft_nms else oks_nms
    selections = []
    for image_id, members in groups.items():
        members = np.asarray(_sorted_unique(members, predictions.bbox_ids), np.int64)
        if settings.use_nms:
            keep = nms(predictions.keypoints[members], scores[members],
                       predictions.areas[members], sigmas, settings.oks_thr)
            members = members[keep]
        selections.append(ImageSelection(image_id, members, scores[members]))
    return selections


def coco_results(predictions: PredictionSet, selections: list[ImageSelection],
                 category_id) -> list[dict]:
    """COCO keypoint results (what ``loadRes`` reads), one per kept person, in order."""
    results = []
    for selection in selections:
        for index, score in zip(selection.indices.tolist(), selection.scores.tolist()):
            entry = {"image_id": selection.image_id, "category_id": category_id,
                     "keypoints": predictions.keypoints[index].reshape(-1).tolist(),
                     "score": float(score)}
            for key, values in (("center", predictions.centers), ("scale", predictions.scales)):
                if np.isfinite(values[index]).all():
                    entry[key] = values[index].tolist()
            results.append(entry)
    return results


def evaluate_keypoint_ap(annotation_file: str | os.PathLike, predictions: PredictionSet,
                         settings: EvalSettings, *, sigmas, use_area: bool, crowd: bool,
                         results_dir: Optional[Path] = None) -> dict[str, float]:
    """mmpose's COCO-style ``evaluate(metric='mAP')``.

    Args:
        annotation_file: the COCO-style GT file (every image in it is evaluated).
        predictions: the persons (any order; repeated bbox_ids of an image count once).
        settings: vis_thr, use_nms, soft_nms, oks_thr are read.
        sigmas: (K,) the dataset's OKS sigmas (NMS and evaluation).
        use_area: False for AIC, MHP and CrowdPose (GT area = 0.53 w h).
        crowd: CrowdPose's stats (AP(E/M/H) by crowd index).
        results_dir: if given, ``result_keypoints.json`` (COCO results) is written there.

    Returns:
        ``{"AP": ..., "AP .5": ..., ...}`` as mmpose names them.
    """
    truth = load_coco_ground_truth(annotation_file)
    selections = select_persons(truth, predictions, settings, sigmas)
    results = coco_results(predictions, selections, truth.categories[0]["id"])
    if results_dir is not None:
        write_json_atomically(Path(results_dir) / RESULTS_FILE, results)
    try:
        return evaluate_keypoints(images=truth.images, annotations=truth.annotations,
                                  categories=truth.categories, results=results, sigmas=sigmas,
                                  use_area=use_area, crowd=crowd)
    except ValueError as e:
        raise ValueError(f"{truth.path}: {e}") from e
