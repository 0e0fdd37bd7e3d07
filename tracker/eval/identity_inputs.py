"""Inputs of the identity metrics (IDF1, HOTA) from loaded PoseTrack18 sequences.

Frames and people are poseval's (spec §4): the evaluated frames (GT image with at least one
annotation; predictions of other frames are ignored), after ignore-region cleanup (every GT
and predicted joint strictly inside an ignore polygon removed, people left without joints
removed — so a prediction inside an ignore region is no false positive). A person counts when
it keeps at least one of poseval's 15 joints (ears are never read); every evaluated frame
counts, including the last one of a sequence that poseval's MOTA skips.

Per frame, two similarities between GT people (rows) and predictions (columns):

* ``boxes``: IoU of person boxes. A person's box is its annotation's ``bbox`` [x, y, w, h]
  when present (not missing, null or []), else the tight box of its joints left after the
  cleanup (GT and predictions alike).
* ``poses``: OKS with COCO's sigmas in PoseTrack18's 17-slot order (the sigmas of
  ``configs/keypoint_sets.yaml`` ``posetrack18``, as mmpose's PoseTrack18 keypoint
  evaluation uses them), over poseval's 15 joints:
  ``OKS(g, p) = sum_j [p has j] exp(-d_j^2 / (2 (area_g + eps) (2 sigma_j)^2)) / |J_g|``,
  the sum over the joints J_g of GT person g, d_j the pixel distance, area_g the w x h of the
  GT person's box above, eps = float64 machine epsilon (COCO's ``np.spacing(1)``).
  head_bottom and head_top take the slot sigmas 0.025.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from pathlib import Path

import numpy as np

from tracker.eval.identity import DEFAULT_ALPHAS, TrackScores, frame_pairs, track_scores
from tracker.eval.posetrack_types import PoseSet, PoseTrackEvalError, SequencePair
from tracker.io.posetrack18 import PoseTrack18File, read_posetrack18

#: OKS sigmas of poseval's joints (``POSEVAL_JOINTS`` order): COCO's sigmas in PoseTrack18's
#: 17-slot order (``configs/keypoint_sets.yaml`` posetrack18); head_bottom and head_top sit
#: in COCO's eye slots (0.025). Ears (0.035) are not evaluated by poseval.
POSEVAL_OKS_SIGMAS = np.array([
    0.089, 0.087, 0.107, 0.107, 0.087, 0.089,    # right/left ankle, knee, hip
    0.062, 0.072, 0.079, 0.079, 0.072, 0.062,    # right/left wrist, elbow, shoulder
    0.025, 0.026, 0.025,                         # head_bottom, nose, head_top
])
SIMILARITIES = {"boxes": "IoU", "poses": "OKS"}
EPS = np.finfo(np.float64).eps


@dataclass(frozen=True, eq=False)
class SequenceBoxes:
    """Person boxes (x1, y1, x2, y2) of a sequence's evaluated frames: the people of all
    frames in frame order, each frame in the order of its ``FramePair.gt`` (G, 4) and
    ``FramePair.pred`` (P, 4); NaN rows where no box can be made."""

    gt_xyxy: np.ndarray
    pred_xyxy: np.ndarray


@dataclass(frozen=True)
class IdentityInputs:
    """Per evaluated frame: GT ids (G_t,), prediction ids (P_t,), similarity (G_t, P_t)."""

    gt_ids: list
    pred_ids: list
    similarity: list


def concatenated_people(people: list[PoseSet]) -> tuple[PoseSet, np.ndarray]:
    """The people of several frames as one PoseSet, and the number per frame (T,)."""
    sizes = np.array([len(p) for p in people], np.int64)
    if not people:
        return PoseSet.empty(), sizes
    return PoseSet(*(np.concatenate([getattr(p, f.name) for p in people])
                     for f in fields(PoseSet))), sizes


def load_person_boxes(sequence: SequencePair) -> SequenceBoxes:
    """Person boxes of every evaluated frame of ``sequence``, read from its two files."""
    gt, _ = concatenated_people([frame.gt for frame in sequence.frames])
    pred, _ = concatenated_people([frame.pred for frame in sequence.frames])
    gt_file = _file_boxes(_bbox_file(sequence.gt_file, sequence.gt_bboxes,
                                     "ground-truth file"), gt)
    pred_file = _file_boxes(_bbox_file(sequence.pred_file, sequence.pred_bboxes,
                                       "prediction file"), pred)
    return SequenceBoxes(person_boxes(gt, gt_file), person_boxes(pred, pred_file))


def _bbox_file(path, bboxes, what: str) -> PoseTrack18File:
    """The file's annotations' ``bbox`` values: kept at loading, else read again."""
    if bboxes is None:
        return read_posetrack18(path, what)
    return PoseTrack18File(Path(path), [], [{} if b is None else {"bbox": b} for b in bboxes],
                           None)


def _file_boxes(video: PoseTrack18File, people: PoseSet) -> np.ndarray:
    """(A, 4) xyxy of the file's annotations' ``bbox``; NaN rows where it is absent (or the
    annotation is no evaluated person). Checked for the evaluated ``people`` only."""
    boxes = np.full((len(video.annotations), 4), np.nan)
    given = [k for k in people.annotation_index.tolist()
             if video.annotations[k].get("bbox") not in (None, [])]
    if not given:
        return boxes
    xywh = _box_array([video.annotations[k]["bbox"] for k in given])
    if xywh is None:
        _raise_first_bad_box(video, given)
    boxes[given] = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    return boxes


def _box_array(raw: list) -> np.ndarray | None:
    """(n, 4) float64 of n [x, y, w, h] lists; None unless all are finite numbers, w, h >= 0."""
    try:
        values = np.array(raw)
    except ValueError:   # ragged
        return None
    if values.shape != (len(raw), 4) or values.dtype.kind not in "iuf":
        return None
    values = values.astype(np.float64)
    if not (np.isfinite(values).all() and (values[:, 2:] >= 0).all()):
        return None
    return values


def _raise_first_bad_box(video: PoseTrack18File, given: list[int]) -> None:
    for k in given:
        box = video.annotations[k]["bbox"]
        if _box_array([box]) is None:
            raise PoseTrackEvalError(f"{video.path}: annotations[{k}].bbox: expected 4 finite "
                                     f"numbers [x, y, w, h] with w, h >= 0 (or no bbox), got "
                                     f"{box!r}")
    raise PoseTrackEvalError(f"{video.path}: annotations[].bbox: expected 4 finite numbers "
                             "[x, y, w, h] with w, h >= 0 (or no bbox) in every annotation")


def person_boxes(people: PoseSet, file_boxes: np.ndarray) -> np.ndarray:
    """(N, 4) xyxy: the file's ``bbox`` of each person, else the tight box of its present
    finite joints (NaN without any)."""
    boxes = file_boxes[people.annotation_index]
    missing = np.isnan(boxes).any(axis=1)
    if missing.any():
        boxes[missing] = tight_boxes(people.keypoints[missing], people.present[missing])
    return boxes


def tight_boxes(keypoints: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(N, K, 2) pixels, (N, K) bool -> (N, 4) xyxy around the present finite joints; NaN
    rows for people without any."""
    usable = present & np.isfinite(keypoints).all(axis=2)
    low = np.where(usable[..., None], keypoints, np.inf).min(axis=1)
    high = np.where(usable[..., None], keypoints, -np.inf).max(axis=1)
    boxes = np.concatenate([low, high], axis=1)
    boxes[~usable.any(axis=1)] = np.nan
    return boxes


def iou_of_pairs(boxes_a_xyxy: np.ndarray, boxes_b_xyxy: np.ndarray) -> np.ndarray:
    """(M, 4), (M, 4) xyxy -> (M,) IoU of each row pair; 0 where the union is empty or NaN."""
    area_a = (boxes_a_xyxy[:, 2:] - boxes_a_xyxy[:, :2]).clip(0).prod(axis=1)
    area_b = (boxes_b_xyxy[:, 2:] - boxes_b_xyxy[:, :2]).clip(0).prod(axis=1)
    inter = (np.minimum(boxes_a_xyxy[:, 2:], boxes_b_xyxy[:, 2:])
             - np.maximum(boxes_a_xyxy[:, :2], boxes_b_xyxy[:, :2])).clip(0).prod(axis=1)
    union = area_a + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def oks_of_pairs(gt: PoseSet, pred: PoseSet, gt_index: np.ndarray, pred_index: np.ndarray,
                 gt_areas: np.ndarray) -> np.ndarray:
    """(M,) OKS of GT person ``gt_index[m]`` and prediction ``pred_index[m]`` (module
    docstring); GT people need a joint. Non-finite coordinates never match.

    gt_areas: (G,) w x h of the GT people's boxes.
    """
    diff = gt.keypoints[gt_index] - pred.keypoints[pred_index]             # (M, 15, 2)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        d2 = diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1]
        e = d2 / (2 * POSEVAL_OKS_SIGMAS) ** 2 / (gt_areas[gt_index, None] + EPS) / 2
        both = gt.present[gt_index] & pred.present[pred_index] & np.isfinite(e)
        per_joint = np.where(both, np.exp(-np.where(both, e, 0.0)), 0.0)
    return per_joint.sum(axis=1) / gt.present[gt_index].sum(axis=1)


def identity_inputs(sequence: SequencePair, boxes: SequenceBoxes) -> dict[str, IdentityInputs]:
    """{"boxes": IoU inputs, "poses": OKS inputs} over the evaluated frames."""
    n_frames = len(sequence.frames)
    gt, gt_boxes, gt_frame = _counted(sequence, boxes, "gt")
    pred, pred_boxes, pred_frame = _counted(sequence, boxes, "pred")
    _check_unique_gt_ids(sequence, gt.track_ids, gt_frame)
    n_gt, n_pred = np.bincount(gt_frame, minlength=n_frames), np.bincount(pred_frame,
                                                                          minlength=n_frames)
    gt_index, pred_index, bounds = frame_pairs(n_gt, n_pred)
    areas = (gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])
    flat = {"boxes": iou_of_pairs(gt_boxes[gt_index], pred_boxes[pred_index]),
            "poses": oks_of_pairs(gt, pred, gt_index, pred_index, areas)}
    gt_ids = np.split(gt.track_ids, np.cumsum(n_gt)[:-1])
    pred_ids = np.split(pred.track_ids, np.cumsum(n_pred)[:-1])
    cuts = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), n_gt.tolist(), n_pred.tolist()))
    return {kind: IdentityInputs(gt_ids, pred_ids, [s[a:b].reshape(g, p) for a, b, g, p in cuts])
            for kind, s in flat.items()}


def _counted(sequence: SequencePair, boxes: SequenceBoxes,
             side: str) -> tuple[PoseSet, np.ndarray, np.ndarray]:
    """The people of one side ("gt" or "pred") with at least one joint, all frames: people,
    boxes (N, 4) and frame (N,) (position among the evaluated frames)."""
    people, sizes = concatenated_people([getattr(frame, side) for frame in sequence.frames])
    xyxy = boxes.gt_xyxy if side == "gt" else boxes.pred_xyxy
    if len(xyxy) != len(people):
        raise ValueError(f"boxes: {len(xyxy)} {side} boxes for {len(people)} people of "
                         f"{sequence.name}; expected load_person_boxes of this sequence")
    kept = people.present.any(axis=1)
    frame = np.repeat(np.arange(len(sizes)), sizes)
    return people.select(kept), xyxy[kept], frame[kept]


def _check_unique_gt_ids(sequence: SequencePair, ids: np.ndarray, frame: np.ndarray) -> None:
    """poseval accepts repeated GT ids in a frame (prediction ids are checked on loading);
    a trajectory cannot be in one frame twice."""
    order = np.lexsort((ids, frame))
    repeated = (np.diff(ids[order]) == 0) & (np.diff(frame[order]) == 0)
    if repeated.any():
        first = order[int(np.argmax(repeated))]
        count = int(((ids == ids[first]) & (frame == frame[first])).sum())
        raise PoseTrackEvalError(
            f"{sequence.gt_file}: annotations[].track_id: {int(ids[first])} appears {count} "
            f"times in image '{sequence.frames[frame[first]].image}'; the identity metrics "
            "need unique GT ids per frame (leave them out with identity=False / "
            "--no-identity)")


def sequence_identity(sequence: SequencePair, boxes: SequenceBoxes | None = None, *,
                      threshold: float = 0.5,
                      alphas: np.ndarray = DEFAULT_ALPHAS) -> dict[str, TrackScores]:
    """IDF1 (similarity >= ``threshold``) and HOTA counts of one sequence, per similarity.

    boxes: ``load_person_boxes(sequence)`` when already read (else read here).
    """
    boxes = load_person_boxes(sequence) if boxes is None else boxes
    return {kind: track_scores(i.gt_ids, i.pred_ids, i.similarity, threshold=threshold,
                               alphas=alphas)
            for kind, i in identity_inputs(sequence, boxes).items()}
