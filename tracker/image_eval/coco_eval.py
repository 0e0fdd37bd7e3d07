"""Keypoint COCO evaluation exactly as xtcocotools 1.14.3 computes it (what mmpose 0.29 calls).

``evaluate_keypoints(images=, annotations=, categories=, results=, sigmas=, use_area=, crowd=)``
gives the numbers of ``COCOeval(gt, gt.loadRes(results), "keypoints" | "keypoints_crowd",
sigmas, use_area)`` followed by ``evaluate(); accumulate(); summarize()``, with the same float
operations in the same order (see ``shared/fixtures/bench-metrics/README.md`` §2); no
dependency on xtcocotools, whose wheels do not load under numpy 2.

What differs from pycocotools: dataset sigmas; with ``use_area=False`` (AIC, MHP, CrowdPose)
the GT area is ``0.53 * w * h`` of its box, also when the annotation has ``area``; a GT without
``area`` always uses that fallback for the area ranges; a GT is ignored when it is crowd or has
no labelled keypoint (``v > 0``; CrowdPose: ``num_keypoints == 0``); a result without any
keypoint score > 0 is discarded; CrowdPose reports AP by crowd index (``crowd_split_ap``).

Shapes: D results and G ground truths of one image, K keypoints, T = 10 OKS thresholds,
R = 101 recall thresholds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IOU_THRESHOLDS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
MAX_DETECTIONS = 20
AREA_RANGES = {"all": (0 ** 2, 1e5 ** 2), "medium": (32 ** 2, 96 ** 2),
               "large": (96 ** 2, 1e5 ** 2)}
#: GT area from its box where the annotation has no usable ``area``.
BOX_AREA_FRACTION = 0.53
#: CrowdPose's crowd-index split: easy < 0.2 <= medium < 0.8 <= hard.
CROWD_INDEX_BOUNDS = (0.2, 0.8)
KEYPOINT_STATS = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)",
                  "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")
CROWD_STATS = ("AP", "AP .5", "AP .75", "AR", "AR .5", "AR .75", "AP(E)", "AP(M)", "AP(H)")


@dataclass(frozen=True)
class ImageGroundTruth:
    """G ground truths of one (image, category): keypoints (G, K, 3), boxes (G, 4) xywh,
    oks_areas (G,) (area in the OKS), range_areas (G,) (area tested against the range),
    crowd (G,) bool, ignore (G,) bool."""

    keypoints: np.ndarray
    boxes: np.ndarray
    oks_areas: np.ndarray
    range_areas: np.ndarray
    crowd: np.ndarray
    ignore: np.ndarray


@dataclass(frozen=True)
class ImageResults:
    """D results of one (image, category), sorted by score (stable), at most 20:
    keypoints (D, K, 3), scores (D,), areas (D,) of their keypoint bounding box."""

    keypoints: np.ndarray
    scores: np.ndarray
    areas: np.ndarray


def _ground_truth(annotations: list[dict], *, use_area: bool, crowd: bool,
                  num_keypoints: int) -> ImageGroundTruth:
    kpts = np.zeros((len(annotations), num_keypoints, 3))
    for g, ann in enumerate(annotations):
        kpts[g] = np.asarray(ann["keypoints"], np.float64).reshape(num_keypoints, 3)
    boxes = np.array([ann["bbox"] for ann in annotations], np.float64).reshape(-1, 4)
    box_areas = np.array([b[2] * b[3] * BOX_AREA_FRACTION for b in boxes.tolist()])
    has_area = np.array(["area" in ann for ann in annotations], bool)
    given = np.array([ann.get("area", 0.0) for ann in annotations], np.float64)
    range_areas = np.where(has_area & use_area, given, box_areas)
    iscrowd = np.array([bool(ann.get("iscrowd", False)) for ann in annotations], bool)
    if crowd:
        labelled = np.array([ann["num_keypoints"] for ann in annotations]) != 0
    else:
        labelled = (kpts[:, :, 2] > 0).any(axis=1)
    return ImageGroundTruth(kpts, boxes, given if use_area else box_areas, range_areas,
                            iscrowd, iscrowd | ~labelled)


def group_ground_truth(annotations: list[dict], *, image_ids, category_ids, use_area: bool,
                       crowd: bool, num_keypoints: int) -> dict:
    """GT annotations (COCO dicts, file order) -> {(image_id, category_id): ImageGroundTruth}.

    Raises ValueError where xtcocotools would crash (no ``keypoints``/``bbox``; ``area``
    missing with ``use_area=True``; ``num_keypoints`` missing for CrowdPose).
    """
    wanted_images, wanted_categories = set(image_ids), set(category_ids)
    grouped: dict = {}
    for a, ann in enumerate(annotations):
        key = (ann["image_id"], ann["category_id"])
        if key[0] not in wanted_images or key[1] not in wanted_categories:
            continue
        required = ("keypoints", "bbox") + (("area",) if use_area else ()) \
            + (("num_keypoints",) if crowd else ())
        for field in required:
            if field not in ann:
                raise ValueError(f"annotations[{a}].{field}: missing (needed by the keypoint "
                                 "evaluation)")
        if not isinstance(ann["keypoints"], list) or len(ann["keypoints"]) != 3 * num_keypoints:
            raise ValueError(f"annotations[{a}].keypoints: expected {3 * num_keypoints} numbers "
                             f"({num_keypoints} keypoints x 3)")
        grouped.setdefault(key, []).append(ann)
    return {key: _ground_truth(anns, use_area=use_area, crowd=crowd, num_keypoints=num_keypoints)
            for key, anns in grouped.items()}


def group_results(results: list[dict], num_keypoints: int) -> dict:
    """Results (``loadRes`` order) -> {(image_id, category_id): ImageResults}.

    As ``loadRes`` + ``_prepare``: a result's area is that of the box around all its
    keypoints; a result without a keypoint score > 0 is dropped; each image keeps its
    20 best (stable sort by score).
    """
    grouped: dict = {}
    for res in results:
        kpts = np.asarray(res["keypoints"], np.float64).reshape(num_keypoints, 3)
        if np.count_nonzero(kpts[:, 2] > 0) == 0:
            continue
        grouped.setdefault((res["image_id"], res["category_id"]), []).append(
            (kpts, float(res["score"])))
    out = {}
    for key, entries in grouped.items():
        scores = np.array([s for _, s in entries])
        order = np.argsort(-scores, kind="mergesort")[:MAX_DETECTIONS]
        kpts = np.stack([entries[i][0] for i in order])
        x, y = kpts[:, :, 0], kpts[:, :, 1]
        areas = (x.max(axis=1) - x.min(axis=1)) * (y.max(axis=1) - y.min(axis=1))
        out[key] = ImageResults(kpts, scores[order], areas)
    return out


def compute_oks(results: ImageResults, truth: ImageGroundTruth, sigmas: np.ndarray) -> np.ndarray:
    """(D, G) OKS. Over the GT's labelled joints; a GT without any is matched by the
    distance of each keypoint to its box enlarged by one box size on every side."""
    variances = (np.asarray(sigmas, np.float64) * 2) ** 2
    d_x, d_y = results.keypoints[:, :, 0], results.keypoints[:, :, 1]
    oks = np.zeros((len(d_x), len(truth.keypoints)))
    for g, (gt, box, area) in enumerate(zip(truth.keypoints, truth.boxes, truth.oks_areas)):
        visible = gt[:, 2] > 0
        if visible.any():
            dx, dy = d_x - gt[:, 0], d_y - gt[:, 1]
        else:
            x0, x1 = box[0] - box[2], box[0] + box[2] * 2
            y0, y1 = box[1] - box[3], box[1] + box[3] * 2
            dx = np.maximum(0, x0 - d_x) + np.maximum(0, d_x - x1)
            dy = np.maximum(0, y0 - d_y) + np.maximum(0, d_y - y1)
        e = (dx ** 2 + dy ** 2) / variances / (area + np.spacing(1)) / 2
        if visible.any():
            e = e[:, visible]
        for d, row in enumerate(np.exp(-e)):  # 1-D sums: numpy's pairwise order, as the reference
            oks[d, g] = np.sum(row) / row.shape[0]
    return oks


@dataclass(frozen=True)
class ImageMatches:
    """Greedy matching of one image at every threshold: dt_matched / dt_ignored (T, D),
    gt_ignored (G,), dt_scores (D,)."""

    dt_matched: np.ndarray
    dt_ignored: np.ndarray
    gt_ignored: np.ndarray
    dt_scores: np.ndarray


def match_image(results: ImageResults | None, truth: ImageGroundTruth | None, oks: np.ndarray,
                area_range: tuple[float, float]) -> ImageMatches | None:
    """``evaluateImg``: greedy matching by score at each OKS threshold; None if the image
    has neither results nor ground truth."""
    n_dt = 0 if results is None else len(results.scores)
    n_gt = 0 if truth is None else len(truth.crowd)
    if n_dt == 0 and n_gt == 0:
        return None
    low, high = area_range
    if n_gt:
        gt_ignore = truth.ignore | (truth.range_areas < low) | (truth.range_areas > high)
        gt_order = np.argsort(gt_ignore.astype(np.int64), kind="mergesort")
        gt_ignore, crowd = gt_ignore[gt_order], truth.crowd[gt_order]
    else:
        gt_ignore, crowd, gt_order = np.zeros(0, bool), np.zeros(0, bool), np.zeros(0, int)
    n_t = len(IOU_THRESHOLDS)
    dt_match = np.full((n_t, n_dt), -1, np.int64)
    dt_ignore = np.zeros((n_t, n_dt), bool)
    if n_dt and n_gt:
        ious = oks[:, gt_order].tolist()
        ignore_list, crowd_list = gt_ignore.tolist(), crowd.tolist()
        for t, threshold in enumerate(IOU_THRESHOLDS):
            gt_taken = [False] * n_gt
            for d in range(n_dt):
                best, m = min([threshold, 1 - 1e-10]), -1
                for g in range(n_gt):
                    if gt_taken[g] and not crowd_list[g]:
                        continue
                    if m > -1 and not ignore_list[m] and ignore_list[g]:
                        break
                    if ious[d][g] < best:
                        continue
                    best, m = ious[d][g], g
                if m == -1:
                    continue
                dt_ignore[t, d] = ignore_list[m]
                dt_match[t, d] = m
                gt_taken[m] = True
    scores = np.zeros(0) if results is None else results.scores
    if n_dt:
        outside = (results.areas < low) | (results.areas > high)
        dt_ignore |= (dt_match < 0) & outside[None, :]
    return ImageMatches(dt_match >= 0, dt_ignore, gt_ignore, scores)


def accumulate(matches: list[list[list]]) -> tuple[np.ndarray, np.ndarray]:
    """Precision (T, R, C, A, 1) and recall (T, C, A, 1), -1 where a category/area has no
    non-ignored GT. ``matches[c][a]`` lists the ImageMatches of the evaluated images
    in order (None for images without anything)."""
    n_t, n_r = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS)
    n_c, n_a = len(matches), len(AREA_RANGES)
    precision = -np.ones((n_t, n_r, n_c, n_a, 1))
    recall = -np.ones((n_t, n_c, n_a, 1))
    for c in range(n_c):
        for a in range(n_a):
            per_image = [m for m in matches[c][a] if m is not None]
            if not per_image:
                continue
            scores = np.concatenate([m.dt_scores for m in per_image])
            order = np.argsort(-scores, kind="mergesort")
            matched = np.concatenate([m.dt_matched for m in per_image], axis=1)[:, order]
            ignored = np.concatenate([m.dt_ignored for m in per_image], axis=1)[:, order]
            n_positive = np.count_nonzero(np.concatenate([m.gt_ignored for m in per_image]) == 0)
            if n_positive == 0:
                continue
            tp_sum = np.cumsum(matched & ~ignored, axis=1).astype(np.float64)
            fp_sum = np.cumsum(~matched & ~ignored, axis=1).astype(np.float64)
            for t in range(n_t):
                tp, fp = tp_sum[t], fp_sum[t]
                rc = tp / n_positive
                pr = tp / (fp + tp + np.spacing(1))
                recall[t, c, a, 0] = rc[-1] if len(tp) else 0
                pr = np.maximum.accumulate(pr[::-1])[::-1]   # precision envelope from the right
                at = np.searchsorted(rc, RECALL_THRESHOLDS, side="left")
                q = np.zeros(n_r)
                q[at < len(pr)] = pr[at[at < len(pr)]]
                precision[t, :, c, a, 0] = q
    return precision, recall


def _summarize(values: np.ndarray, *, iou: float | None, area: str) -> float:
    """COCOeval ``_summarize``: mean of the selected entries > -1, else -1."""
    if iou is not None:
        values = values[np.where(iou == IOU_THRESHOLDS)[0]]
    index = [list(AREA_RANGES).index(area)]
    s = values[..., index, [0]] if values.ndim == 5 else values[:, :, index, [0]]
    return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))


def summarize_keypoints(precision: np.ndarray, recall: np.ndarray) -> list[float]:
    """The 10 keypoint stats in ``KEYPOINT_STATS`` order."""
    ap = [_summarize(precision, iou=None, area="all"), _summarize(precision, iou=.5, area="all"),
          _summarize(precision, iou=.75, area="all"),
          _summarize(precision, iou=None, area="medium"),
          _summarize(precision, iou=None, area="large")]
    ar = [_summarize(recall, iou=None, area="all"), _summarize(recall, iou=.5, area="all"),
          _summarize(recall, iou=.75, area="all"), _summarize(recall, iou=None, area="medium"),
          _summarize(recall, iou=None, area="large")]
    return ap + ar


def crowd_split_ap(precision: np.ndarray) -> float:
    """One crowd-index split: the plain mean over all thresholds of area "all", -1 entries
    included, rounded to 4 decimals (numpy's ``round``); -1.0 for an empty split."""
    return float(round(np.mean(precision[:, :, :, 0, :]), 4))


def crowd_splits(images: list[dict]) -> tuple[list, list, list]:
    """CrowdPose's easy / medium / hard image ids, by each image's ``crowdIndex``."""
    splits = ([], [], [])
    for k, image in enumerate(images):
        if "crowdIndex" not in image:
            raise ValueError(f"images[{k}].crowdIndex: missing (CrowdPose's AP(E/M/H) needs it)")
        index = image["crowdIndex"]
        level = 0 if index < CROWD_INDEX_BOUNDS[0] else 1 if index < CROWD_INDEX_BOUNDS[1] else 2
        splits[level].append(image["id"])
    return splits


def evaluate_keypoints(*, images: list[dict], annotations: list[dict], categories: list[dict],
                       results: list[dict], sigmas, use_area: bool,
                       crowd: bool) -> dict[str, float]:
    """COCOeval keypoint stats of ``results`` against a COCO-style ground truth.

    Args:
        images, annotations, categories: the GT file's lists (every image is evaluated, also
            those without results; CrowdPose images need ``crowdIndex``).
        results: COCO keypoint results: ``{"image_id", "category_id", "keypoints": 3K
            numbers, "score"}``, in file order (ties between equal scores keep it).
        sigmas: (K,) the dataset's OKS sigmas.
        use_area: use the annotations' ``area`` in the OKS (COCO, OCHuman) or ``0.53 w h``.
        crowd: CrowdPose's ``keypoints_crowd``: its ignore rule and its nine stats.

    Returns:
        ``{name: value}`` in ``KEYPOINT_STATS`` (or ``CROWD_STATS``) order.
    """
    sigmas = np.asarray(sigmas, np.float64)
    image_ids = [i.item() for i in np.unique([img["id"] for img in images])]
    category_ids = [c.item() for c in np.unique([cat["id"] for cat in categories])]
    unknown = {res["image_id"] for res in results} - set(image_ids)
    if unknown:
        raise ValueError(f"results for image ids not in the ground truth: {sorted(unknown)[:5]}")
    truth = group_ground_truth(annotations, image_ids=image_ids, category_ids=category_ids,
                               use_area=use_area, crowd=crowd, num_keypoints=len(sigmas))
    found = group_results(results, len(sigmas))
    per_image = {}
    for image_id in image_ids:
        for c in category_ids:
            gt, dt = truth.get((image_id, c)), found.get((image_id, c))
            oks = compute_oks(dt, gt, sigmas) if gt is not None and dt is not None else None
            for area in AREA_RANGES.values():
                per_image[image_id, c, area] = match_image(dt, gt, oks, area)

    def matches(ids) -> list:
        return [[[per_image[i, c, area] for i in ids] for area in AREA_RANGES.values()]
                for c in category_ids]

    precision, recall = accumulate(matches(image_ids))
    stats = summarize_keypoints(precision, recall)
    if not crowd:
        return dict(zip(KEYPOINT_STATS, stats))
    by_type = [crowd_split_ap(accumulate(matches([i.item() for i in np.unique(ids)]))[0])
               if ids else -1.0 for ids in crowd_splits(images)]
    return dict(zip(CROWD_STATS, [stats[0], stats[1], stats[2], stats[5], stats[6], stats[7],
                                  *by_type]))
