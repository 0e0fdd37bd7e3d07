"""The nine static-image benchmarks of the seed: how each reads its persons and scores them.

``BENCHMARKS`` maps a name onto a ``Benchmark``: its keypoint set, ``read_boxes`` (the persons
to crop, from the official annotation layout or a detection file) and ``evaluate`` (mmpose
0.29's ``evaluate()`` for that dataset). Paths and mmpose's ``data_cfg`` values are data, in
``configs/benchmarks.yaml`` (``settings.benchmark_configs``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from tracker.image_eval.coco_style import evaluate_keypoint_ap
from tracker.image_eval.datasets import (PersonBox, detection_boxes, gt_boxes,
                                         load_coco_ground_truth, mpii_boxes, mpii_trb_boxes,
                                         mpii_trb_persons)
from tracker.image_eval.pck import evaluate_jhmdb, evaluate_mpii, evaluate_mpii_trb
from tracker.image_eval.persons import PredictionSet
from tracker.image_eval.posetrack import default_gt_dir, evaluate_posetrack18
from tracker.image_eval.settings import EvalSettings


@dataclass(frozen=True)
class BoxRequest:
    """What ``read_boxes`` needs: detections replace GT boxes where given; ``gt_path`` is the
    extra ground truth (MPII .mat, PoseTrack18 folder), checked before any inference."""

    annotation_file: Path
    detections: Optional[Path]
    det_bbox_thr: float
    input_size_wh: tuple[int, int]
    gt_path: Optional[Path] = None


@dataclass(frozen=True)
class EvalRequest:
    """What ``evaluate`` needs; ``results_dir`` receives mmpose's raw result files."""

    annotation_file: Path
    predictions: PredictionSet
    settings: EvalSettings
    sigmas: Optional[tuple]
    results_dir: Optional[Path] = None
    gt_path: Optional[Path] = None


@dataclass(frozen=True)
class Benchmark:
    """One seed table.

    Attributes:
        name: the command's BENCHMARK argument.
        title: the seed table it reproduces.
        keypoint_set: name in ``configs/keypoint_sets.yaml``; a model must have this set.
        read_boxes: BoxRequest -> persons to crop (validates the dataset files).
        evaluate: EvalRequest -> {mmpose metric name: value}.
        rows: the printed table: (row title, ((column, metric, factor, decimals), ...)).
        oks_style: persons need ``area`` and ``bbox_score`` (rescoring + OKS-NMS).
        detections: a detection file may replace the GT boxes.
    """

    name: str
    title: str
    keypoint_set: str
    read_boxes: Callable[[BoxRequest], list]
    evaluate: Callable[[EvalRequest], dict]
    rows: tuple
    oks_style: bool
    detections: bool


def _coco_boxes(request: BoxRequest) -> list[PersonBox]:
    truth = load_coco_ground_truth(request.annotation_file)
    if request.detections is not None:
        return detection_boxes(request.detections, truth, det_bbox_thr=request.det_bbox_thr)
    return gt_boxes(truth)


def _crowdpose_boxes(request: BoxRequest) -> list[PersonBox]:
    truth = load_coco_ground_truth(request.annotation_file)
    for k, image in enumerate(truth.images):
        if "crowdIndex" not in image:
            raise ValueError(f"{request.annotation_file}: images[{k}].crowdIndex: missing "
                             "(CrowdPose's AP(E/M/H) needs it)")
    return _coco_boxes(request)


def _posetrack_boxes(request: BoxRequest) -> list[PersonBox]:
    gt_dir = request.gt_path or default_gt_dir(request.annotation_file)
    if not Path(gt_dir).is_dir():
        raise FileNotFoundError(f"PoseTrack18 ground-truth folder {gt_dir} does not exist")
    return _coco_boxes(request)


def _mpii_boxes(request: BoxRequest) -> list[PersonBox]:
    gt_file = request.gt_path or Path(request.annotation_file).parent / "mpii_gt_val.mat"
    if not Path(gt_file).is_file():
        raise FileNotFoundError(f"MPII ground-truth file {gt_file} does not exist")
    return mpii_boxes(request.annotation_file)


def _mpii_trb_boxes(request: BoxRequest) -> list[PersonBox]:
    truth = load_coco_ground_truth(request.annotation_file)
    for ann in mpii_trb_persons(truth):
        if "headbox" not in ann:
            raise ValueError(f"{request.annotation_file}: annotation id {ann['id']}: headbox: "
                             "missing (MPII-TRB's threshold is 0.3 x the head-box diagonal)")
    return mpii_trb_boxes(truth, request.input_size_wh)


def _jhmdb_boxes(request: BoxRequest) -> list[PersonBox]:
    return gt_boxes(load_coco_ground_truth(request.annotation_file), one_based=True)


def _keypoint_ap(request: EvalRequest, *, use_area: bool, crowd: bool) -> dict:
    return evaluate_keypoint_ap(request.annotation_file, request.predictions, request.settings,
                                sigmas=request.sigmas, use_area=use_area, crowd=crowd,
                                results_dir=request.results_dir)


def _posetrack18(request: EvalRequest) -> dict:
    return evaluate_posetrack18(request.annotation_file, request.predictions, request.settings,
                                sigmas=request.sigmas, gt_dir=request.gt_path,
                                results_dir=request.results_dir)


def _mpii(request: EvalRequest) -> dict:
    gt_file = request.gt_path or Path(request.annotation_file).parent / "mpii_gt_val.mat"
    return evaluate_mpii(request.predictions, gt_file=gt_file, results_dir=request.results_dir)


def _mpii_trb(request: EvalRequest) -> dict:
    return evaluate_mpii_trb(request.annotation_file, request.predictions,
                             results_dir=request.results_dir)


def _jhmdb(request: EvalRequest) -> dict:
    return evaluate_jhmdb(request.annotation_file, request.predictions,
                          results_dir=request.results_dir)


def _columns(pairs, factor: float = 1.0, decimals: int = 3) -> tuple:
    return tuple((label, metric, factor, decimals) for label, metric in pairs)


_AP_ROW = (("", _columns([("AP", "AP"), ("AP50", "AP .5"), ("AP75", "AP .75"), ("AR", "AR"),
                          ("AR50", "AR .5")])),)
_JHMDB_GROUPS = ("Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank", "Mean")
_keypoint_ap_coco = functools.partial(_keypoint_ap, use_area=True, crowd=False)
_keypoint_ap_no_area = functools.partial(_keypoint_ap, use_area=False, crowd=False)

BENCHMARKS = {
    "coco": Benchmark(
        name="coco", title="COCO val2017 (GT boxes, or the AP-56.4 person detections)",
        keypoint_set="coco", read_boxes=_coco_boxes, evaluate=_keypoint_ap_coco, rows=_AP_ROW,
        oks_style=True, detections=True),
    "ochuman": Benchmark(
        name="ochuman", title="OCHuman test, GT boxes", keypoint_set="coco",
        read_boxes=_coco_boxes, evaluate=_keypoint_ap_coco, rows=_AP_ROW, oks_style=True,
        detections=False),
    "aic": Benchmark(
        name="aic", title="AIC val, GT boxes", keypoint_set="aic", read_boxes=_coco_boxes,
        evaluate=_keypoint_ap_no_area, rows=_AP_ROW, oks_style=True, detections=False),
    "mhp": Benchmark(
        name="mhp", title="MHP v2.0 val, GT boxes", keypoint_set="mhp", read_boxes=_coco_boxes,
        evaluate=_keypoint_ap_no_area, rows=_AP_ROW, oks_style=True, detections=False),
    "mpii": Benchmark(
        name="mpii", title="MPII val (PCKh)", keypoint_set="mpii", read_boxes=_mpii_boxes,
        evaluate=_mpii,
        rows=(("", _columns([("Mean", "PCKh"), ("Mean@0.1", "PCKh@0.1")], factor=0.01)),),
        oks_style=False, detections=False),
    "mpii_trb": Benchmark(
        name="mpii_trb", title="MPII-TRB val", keypoint_set="mpii_trb",
        read_boxes=_mpii_trb_boxes, evaluate=_mpii_trb,
        rows=(("", _columns([("Skeleton Acc", "Skeleton_acc"), ("Contour Acc", "Contour_acc"),
                             ("Mean Acc", "PCKh")])),), oks_style=False, detections=False),
    "crowdpose": Benchmark(
        name="crowdpose", title="CrowdPose test (GT boxes, or detections)",
        keypoint_set="crowdpose", read_boxes=_crowdpose_boxes,
        evaluate=functools.partial(_keypoint_ap, use_area=False, crowd=True),
        rows=(("", _columns([("AP", "AP"), ("AP50", "AP .5"), ("AP75", "AP .75"),
                             ("AP(E)", "AP(E)"), ("AP(M)", "AP(M)"), ("AP(H)", "AP(H)")])),),
        oks_style=True, detections=True),
    "posetrack18": Benchmark(
        name="posetrack18", title="PoseTrack18 val per-frame mAP (GT boxes, or detections)",
        keypoint_set="posetrack18", read_boxes=_posetrack_boxes, evaluate=_posetrack18,
        rows=(("", _columns([(name, f"{name} AP") for name in
                             ("Head", "Shou", "Elb", "Wri", "Hip", "Knee", "Ankl", "Total")],
                            decimals=1)),), oks_style=True, detections=True),
    "jhmdb": Benchmark(
        name="jhmdb", title="Sub-JHMDB (PCK@0.2 by person size and by torso)",
        keypoint_set="jhmdb", read_boxes=_jhmdb_boxes, evaluate=_jhmdb,
        rows=tuple((title, _columns([(g, f"{g} {suffix}") for g in _JHMDB_GROUPS],
                                    factor=100.0, decimals=1))
                   for title, suffix in (("person size", "PCK"), ("torso", "tPCK"))),
        oks_style=False, detections=False),
}


#: Other names of a benchmark (the reference fixtures call the COCO-mini subset so).
ALIASES = {"coco_mini_val2017": "coco"}


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name`` (or an alias); the error lists the valid names."""
    name = ALIASES.get(name, name)
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; valid names are {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


def format_table(benchmark: Benchmark, metrics: dict) -> str:
    """The seed's table row(s) for ``metrics``, as markdown (the header of the first row)."""
    first_title, first_columns = benchmark.rows[0]
    header = ([""] if first_title else []) + [label for label, *_ in first_columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for title, columns in benchmark.rows:
        cells = ([title] if title else []) + [
            "-" if metrics.get(metric) is None else f"{metrics[metric] * factor:.{decimals}f}"
            for _, metric, factor, decimals in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
