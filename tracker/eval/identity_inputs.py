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

from dataclasses import dataclass

import numpy as np

from tracker.boxes import iou_matrix
from tracker.eval.identity import DEFAULT_ALPHAS, TrackScores, hota_scores, identity_scores
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
class FrameBoxes:
    """Person boxes (x1, y1, x2, y2) of one evaluated frame, in the order of its
    ``FramePair.gt`` (G, 4) and ``FramePair.pred`` (P, 4); NaN where none can be made."""

    gt_xyxy: np.ndarray
    pred_xyxy: np.ndarray


@dataclass(frozen=True)
class IdentityInputs:
    """Per evaluated frame: GT ids (G_t,), prediction ids (P_t,), similarity (G_t, P_t)."""

    gt_ids: list
    pred_ids: list
    similarity: list


def load_person_boxes(sequence: SequencePair) -> tuple[FrameBoxes, ...]:
    """Person boxes of every evaluated frame of ``sequence``, read from its two files."""
    gt = _file_boxes(read_posetrack18(sequence.gt_file, "ground-truth file"),
                     [frame.gt for frame in sequence.frames])
    pred = _file_boxes(read_posetrack18(sequence.pred_file, "prediction file"),
                       [frame.pred for frame in sequence.frames])
    return tuple(FrameBoxes(person_boxes(frame.gt, gt), person_boxes(frame.pred, pred))
                 for frame in sequence.frames)


def _file_boxes(video: PoseTrack18File, people: list[PoseSet]) -> np.ndarray:
    """(A, 4) xyxy of the file's annotations' ``bbox``; NaN rows where it is absent (or the
    annotation is no evaluated person). Checked for the evaluated people only."""
    boxes = np.full((len(video.annotations), 4), np.nan)
    used = np.concatenate([p.annotation_index for p in people] + [np.zeros(0, np.int64)])
    given = [k for k in used.tolist() if video.annotations[k].get("bbox") not in (None, [])]
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


def person_boxes(people: PoseSet, file_boxes: np.ndarray) -> np.ndarray:
    """(N, 4) xyxy: the file's ``bbox`` of each person, else the tight box of its present
    finite joints (NaN without any)."""
    boxes = file_boxes[people.annotation_index] if len(people) else np.zeros((0, 4))
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


def oks_matrix(gt: PoseSet, pred: PoseSet, gt_areas: np.ndarray) -> np.ndarray:
    """(G, P) OKS of each GT person against each prediction (module docstring); GT people
    need at least one joint. Non-finite coordinates never match."""
    diff = gt.keypoints[:, None] - pred.keypoints[None, :]                 # (G, P, 15, 2)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        d2 = diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1]
        e = d2 / (2 * POSEVAL_OKS_SIGMAS) ** 2 / (gt_areas[:, None, None] + EPS) / 2
        both = gt.present[:, None] & pred.present[None, :] & np.isfinite(e)
        per_joint = np.where(both, np.exp(-np.where(both, e, 0.0)), 0.0)
    return per_joint.sum(axis=2) / gt.present.sum(axis=1)[:, None]


def identity_inputs(sequence: SequencePair,
                    boxes: tuple[FrameBoxes, ...]) -> dict[str, IdentityInputs]:
    """{"boxes": IoU inputs, "poses": OKS inputs} over the evaluated frames."""
    out = {kind: IdentityInputs([], [], []) for kind in SIMILARITIES}
    for frame, frame_boxes in zip(sequence.frames, boxes, strict=True):
        gt_kept, pred_kept = frame.gt.present.any(axis=1), frame.pred.present.any(axis=1)
        gt, pred = frame.gt.select(gt_kept), frame.pred.select(pred_kept)
        gt_boxes, pred_boxes = frame_boxes.gt_xyxy[gt_kept], frame_boxes.pred_xyxy[pred_kept]
        areas = (gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])
        similarity = {"boxes": iou_matrix(gt_boxes, pred_boxes),
                      "poses": oks_matrix(gt, pred, areas)}
        for kind, inputs in out.items():
            inputs.gt_ids.append(gt.track_ids)
            inputs.pred_ids.append(pred.track_ids)
            inputs.similarity.append(similarity[kind])
    return out


def sequence_identity(sequence: SequencePair, boxes: tuple[FrameBoxes, ...] | None = None, *,
                      threshold: float = 0.5,
                      alphas: np.ndarray = DEFAULT_ALPHAS) -> dict[str, TrackScores]:
    """IDF1 (similarity >= ``threshold``) and HOTA counts of one sequence, per similarity.

    boxes: ``load_person_boxes(sequence)`` when already read (else read here).
    """
    boxes = load_person_boxes(sequence) if boxes is None else boxes
    return {kind: TrackScores(identity_scores(i.gt_ids, i.pred_ids, i.similarity, threshold),
                              hota_scores(i.gt_ids, i.pred_ids, i.similarity, alphas))
            for kind, i in identity_inputs(sequence, boxes).items()}
