"""PCK-style benchmarks exactly as mmpose 0.29 scores them: MPII, MPII-TRB, Sub-JHMDB.

* MPII (`TopDownMpiiDataset.evaluate`): PCKh against ``mpii_gt_val.mat``; head size =
  0.6 x head-box diagonal; a hit is ``err <= 0.5``; predictions +1 (MATLAB pixels); means
  weighted by visible counts over 14 joints (pelvis, thorax left out); percents.
* MPII-TRB (`TopDownMpiiTrbDataset`): a hit is ``distance < 0.3 x head-box diagonal``;
  skeleton = joints 0-13, contour = 14-39, PCKh = all 40; float32 fractions.
* Sub-JHMDB (`TopDownJhmdbDataset`): PCK@0.2 normalised by max(w, h) of the cleaned box
  (PCK) or by the left-shoulder -> right-hip distance (tPCK); predictions +1 against GT - 1
  (mmpose's one-pixel offset); mean over the joints that have a valid one; fractions.

Predictions are paired with the ground truth by position after sorting by ``bbox_id`` and
dropping repeated ids, as mmpose does; a count mismatch is a ``ValueError``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np
from scipy.io import loadmat, savemat

from tracker.image_eval.datasets import (ground_truth_persons, load_coco_ground_truth,
                                         mpii_trb_persons)
from tracker.image_eval.persons import PredictionSet
from tracker.files import write_json_atomically

MPII_HEAD_FACTOR = 0.6        # SC_BIAS: head size = 0.6 x head-box diagonal
MPII_THRESHOLD = 0.5
MPII_LOW_THRESHOLD_INDEX = 10  # np.arange(0, 0.51, 0.01)[10] = 0.1: "PCKh@0.1"
MPII_GROUPS = {"Shoulder": ("lsho", "rsho"), "Elbow": ("lelb", "relb"),
               "Wrist": ("lwri", "rwri"), "Hip": ("lhip", "rhip"), "Knee": ("lkne", "rkne"),
               "Ankle": ("lank", "rank")}
TRB_HEAD_FACTOR = 0.3
TRB_SKELETON_JOINTS = 14
JHMDB_THRESHOLD = 0.2
JHMDB_GROUPS = (("Head", (2,)), ("Sho", (3, 4)), ("Elb", (7, 8)), ("Wri", (11, 12)),
                ("Hip", (5, 6)), ("Knee", (9, 10)), ("Ank", (13, 14)))
JSON_RESULTS_FILE = "result_keypoints.json"
MAT_RESULTS_FILE = "pred.mat"


def sorted_unique(predictions: PredictionSet) -> np.ndarray:
    """Indices sorted by bbox_id, the first of each repeated id kept."""
    order = sorted(range(len(predictions)), key=lambda i: predictions.bbox_ids[i])
    ids = predictions.bbox_ids
    return np.asarray([i for k, i in enumerate(order) if k == 0 or ids[i] != ids[order[k - 1]]],
                      np.int64)


def _check_count(count: int, expected: int, what: str) -> None:
    if count != expected:
        raise ValueError(f"persons: {count} distinct bbox_ids, but {what} has {expected} "
                         "persons; mmpose pairs them by position, so exactly one prediction "
                         "per ground-truth person is needed")


def _mat_joint_names(dataset_joints: np.ndarray) -> list[str]:
    return [str(np.ravel(name)[0]) for name in np.ravel(dataset_joints)]


def evaluate_mpii(predictions: PredictionSet, *, gt_file: str | os.PathLike,
                  results_dir: Optional[Path] = None) -> dict[str, float]:
    """MPII PCKh (percent) against ``gt_file`` (``mpii_gt_val.mat``; column n = person n)."""
    gt_file = Path(gt_file)
    if not gt_file.is_file():
        raise FileNotFoundError(f"MPII ground-truth file {gt_file} does not exist (mmpose "
                                "reads mpii_gt_val.mat next to the annotation file)")
    gt = loadmat(str(gt_file))
    for key in ("dataset_joints", "jnt_missing", "pos_gt_src", "headboxes_src"):
        if key not in gt:
            raise ValueError(f"{gt_file}: {key}: missing")
    preds = predictions.keypoints[sorted_unique(predictions)]
    _check_count(len(preds), gt["pos_gt_src"].shape[2], str(gt_file))
    pos_pred = preds[..., :2] + np.float32(1.0)          # 0-based -> MATLAB, in float32
    if results_dir is not None:
        _write_mat(Path(results_dir) / MAT_RESULTS_FILE, pos_pred)
    names = _mat_joint_names(gt["dataset_joints"])
    jnt_visible = 1 - gt["jnt_missing"]
    uv_err = np.linalg.norm(np.transpose(pos_pred, [1, 2, 0]) - gt["pos_gt_src"], axis=1)
    headsizes = np.linalg.norm(gt["headboxes_src"][1, :, :] - gt["headboxes_src"][0, :, :],
                               axis=0)
    headsizes *= MPII_HEAD_FACTOR
    scaled = uv_err / (headsizes * np.ones((len(uv_err), 1), dtype=np.float32)) * jnt_visible
    jnt_count = np.sum(jnt_visible, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pckh = 100. * np.sum((scaled <= MPII_THRESHOLD) * jnt_visible, axis=1) / jnt_count
        low = np.arange(0, 0.5 + 0.01, 0.01)[MPII_LOW_THRESHOLD_INDEX]
        pck_low = (100. * np.sum((scaled <= low) * jnt_visible, axis=1)
                   / jnt_count).astype(np.float32)
        pckh = np.ma.array(pckh, mask=False)
        pckh.mask[6:8] = True
        jnt_count = np.ma.array(jnt_count, mask=False)
        jnt_count.mask[6:8] = True
        jnt_ratio = jnt_count / np.sum(jnt_count).astype(np.float64)
        metrics = {"Head": pckh[names.index("head")]}
        for group, (left, right) in MPII_GROUPS.items():
            metrics[group] = 0.5 * (pckh[names.index(left)] + pckh[names.index(right)])
        metrics["PCKh"] = np.sum(pckh * jnt_ratio)
        metrics["PCKh@0.1"] = np.sum(pck_low * jnt_ratio)
    return {name: float(value) for name, value in metrics.items()}


def _write_mat(path: Path, preds: np.ndarray) -> None:
    """``pred.mat`` ({'preds': (N, 16, 2) 1-based}), the MPII toolkit's input; atomic."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        savemat(str(temporary), {"preds": preds}, appendmat=False)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _mmpose_records(predictions: PredictionSet, order: np.ndarray, image_ids: list,
                    keypoints: np.ndarray) -> list:
    """mmpose's result_keypoints.json entries: ``keypoints`` (M, K, 3) of the sorted persons
    ``order`` (M,), as mmpose writes them (Sub-JHMDB: already +1)."""
    records = []
    for i, image_id, points in zip(order.tolist(), image_ids, keypoints):
        record = {"bbox_id": predictions.bbox_ids[i], "image_id": image_id,
                  "keypoints": points.tolist(),
                  "score": float(predictions.bbox_scores[i])}
        for key, values in (("center", predictions.centers), ("scale", predictions.scales)):
            if np.isfinite(values[i]).all():
                record[key] = values[i].tolist()
        if np.isfinite(predictions.areas[i]):
            record["area"] = float(predictions.areas[i])
        records.append(record)
    return records


def evaluate_mpii_trb(annotation_file: str | os.PathLike, predictions: PredictionSet, *,
                      results_dir: Optional[Path] = None) -> dict[str, float]:
    """MPII-TRB accuracy: ``{"Skeleton_acc", "Contour_acc", "PCKh"}`` (float32 fractions).

    Every annotation needs ``headbox`` = [x1, y1, x2, y2] (the official val file has it).
    """
    truth = load_coco_ground_truth(annotation_file)
    db = mpii_trb_persons(truth)
    order = sorted_unique(predictions)
    _check_count(len(order), len(db), str(annotation_file))
    if results_dir is not None:
        write_json_atomically(Path(results_dir) / JSON_RESULTS_FILE, _mmpose_records(
            predictions, order, [ann["image_id"] for ann in db], predictions.keypoints[order]))
    k = predictions.num_keypoints
    hit, exist = np.zeros(k, np.float32), np.zeros(k, np.float32)
    for i, ann in zip(order.tolist(), db):
        if "headbox" not in ann:
            raise ValueError(f"{annotation_file}: annotation id {ann['id']}: headbox: missing "
                             "(MPII-TRB's threshold is 0.3 x the head-box diagonal)")
        headbox = np.array(ann["headbox"])
        threshold = np.linalg.norm(headbox[:2] - headbox[2:]) * TRB_HEAD_FACTOR
        joints = np.array(ann["keypoints"], np.float64).reshape(k, 3).astype(np.float32)
        visible = np.minimum(joints[:, 2], 1)
        pred = predictions.keypoints[i].astype(np.float64)
        for j in range(k):
            if not visible[j]:
                continue
            exist[j] += 1
            if np.linalg.norm(pred[j, :2] - joints[j, :2]) < threshold:
                hit[j] += 1
    s = TRB_SKELETON_JOINTS
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (np.sum(hit[:s]) / np.sum(exist[:s]), np.sum(hit[s:]) / np.sum(exist[s:]),
                  np.sum(hit) / np.sum(exist))
    return dict(zip(("Skeleton_acc", "Contour_acc", "PCKh"), (v.item() for v in values)))


def pck_accuracy(preds: np.ndarray, gts: np.ndarray, masks: np.ndarray, thr: float,
                 normalize: np.ndarray) -> tuple[np.ndarray, float]:
    """mmpose's ``keypoint_pck_accuracy``.

    Args:
        preds: (N, K, 2) float64. gts: (N, K, 2) float32. masks: (N, K) bool visible.
        thr: normalised distances strictly below count (compared in float32).
        normalize: (N, 2) per-person normalisation; a person with a 0 entry is left out,
            values <= 0 become 1e6.

    Returns:
        per-joint accuracy (K,) (-1 where no valid joint) and their mean over valid joints.
    """
    mask = masks.copy()
    normalize = normalize.copy()
    mask[np.where((normalize == 0).sum(1))[0], :] = False
    distances = np.full(mask.shape, -1, dtype=np.float32)
    normalize[np.where(normalize <= 0)] = 1e6
    distances[mask] = np.linalg.norm(((preds - gts) / normalize[:, None, :])[mask], axis=-1)
    acc = []
    for joint in distances.T:
        valid = joint != -1
        acc.append((joint[valid] < np.float32(thr)).sum() / valid.sum() if valid.sum() else -1)
    acc = np.array(acc)
    valid_acc = acc[acc >= 0]
    return acc, (valid_acc.mean() if len(valid_acc) else 0)


def evaluate_jhmdb(annotation_file: str | os.PathLike, predictions: PredictionSet, *,
                   results_dir: Optional[Path] = None) -> dict[str, float]:
    """Sub-JHMDB PCK and tPCK per joint group and mean (fractions), mmpose's order."""
    truth = load_coco_ground_truth(annotation_file)
    db = ground_truth_persons(truth, one_based=True)
    order = sorted_unique(predictions)
    _check_count(len(order), len(db), str(annotation_file))
    k = predictions.num_keypoints
    preds = predictions.keypoints[order].copy()
    preds[..., :2] += np.float32(1.0)                    # mmpose's in-place +1, float32
    if results_dir is not None:
        write_json_atomically(Path(results_dir) / JSON_RESULTS_FILE, _mmpose_records(
            predictions, order, [image_id for image_id, *_ in db], preds))
    outputs = preds[..., :2].astype(np.float64)
    gts = np.zeros((len(db), k, 2), np.float32)
    masks = np.zeros((len(db), k), bool)
    by_box, by_torso = [], []
    for n, (_, _, ann, box) in enumerate(db):
        keypoints = np.array(ann["keypoints"], np.float64).reshape(k, 3)
        gts[n] = keypoints[:, :2] - 1
        masks[n] = np.minimum(1, keypoints[:, 2]) > 0
        size = np.max(np.array(box)[2:])
        by_box.append(np.array([size, size]))
        torso = np.linalg.norm(gts[n, 4] - gts[n, 5])
        if torso < 1:
            torso = np.linalg.norm(outputs[n, 4] - outputs[n, 5])
        by_torso.append(np.array([torso, torso]))
    metrics = {}
    for suffix, normalize in (("PCK", by_box), ("tPCK", by_torso)):
        acc, mean = pck_accuracy(outputs, gts, masks, JHMDB_THRESHOLD,
                                 np.array(normalize).reshape(-1, 2))
        for group, joints in JHMDB_GROUPS:
            value = acc[joints[0]] if len(joints) == 1 else \
                0.5 * acc[joints[0]] + 0.5 * acc[joints[1]]
            metrics[f"{group} {suffix}"] = float(value)
        metrics[f"Mean {suffix}"] = float(mean)
    return metrics
