"""``evaluate_predictions``: score predicted persons exactly as mmpose 0.29's ``evaluate()``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

from tracker.image_eval.catalog import EvalRequest, get_benchmark
from tracker.image_eval.persons import parse_persons
from tracker.image_eval.settings import benchmark_configs, with_options
from tracker.pose.zoo import keypoint_sets


def evaluate_predictions(benchmark: str, annotation_file: str | os.PathLike,
                         persons: Sequence[dict], *,
                         results_dir: Optional[str | os.PathLike] = None,
                         gt_path: Optional[str | os.PathLike] = None,
                         **options) -> dict[str, float]:
    """mmpose's metric dict for ``persons`` on one benchmark.

    Args:
        benchmark: a name of ``BENCHMARKS`` (coco, ochuman, aic, mhp, mpii, mpii_trb,
            crowdpose, posetrack18, jhmdb; "coco_mini_val2017" = coco).
        annotation_file: the dataset's annotation file (official format; for coco-style
            benchmarks every image in it is evaluated).
        persons: ``[{"image_file", "bbox_id", "keypoints": [[x, y, score]] * K,
            "bbox_score", "area", "center", "scale", ...}]``, see ``persons.py``.
        results_dir: write mmpose's raw results there (COCO results ``result_keypoints.json``,
            PoseTrack18 ``preds/*.json``, MPII ``pred.mat``, ...). The folder must exist.
        gt_path: MPII's ``mpii_gt_val.mat`` (default: next to the annotation file) or
            PoseTrack18's per-sequence GT folder (default: mmpose's ``annotations/val``).
        **options: mmpose ``data_cfg`` values (``use_gt_bbox``, ``det_bbox_thr``,
            ``oks_thr``, ``vis_thr``, ``soft_nms``, ``use_nms``, ``nms_thr``, ``image_size``,
            ``num_joints``, ...); defaults from ``configs/benchmarks.yaml``.

    Returns:
        ``{metric: value}`` with mmpose's names and units (e.g. COCO ``"AP"`` fractions, MPII
        ``"PCKh"`` percent, PoseTrack18 ``"Total AP"`` percent); NaN where mmpose gives NaN.

    Raises:
        ValueError (``ConfigError`` for options) naming the person, file or field at fault;
        FileNotFoundError for a missing file.
    """
    spec = get_benchmark(benchmark)
    keypoint_set = keypoint_sets()[spec.keypoint_set]
    settings = with_options(benchmark_configs()[spec.name][1], options,
                            f"evaluate_predictions({benchmark!r})")
    settings.check_num_keypoints(len(keypoint_set), spec.name)
    annotation_file = Path(annotation_file)
    if not annotation_file.is_file():
        raise FileNotFoundError(f"annotation file {annotation_file} does not exist")
    predictions = parse_persons(persons, len(keypoint_set), need_areas=spec.oks_style)
    return spec.evaluate(EvalRequest(
        annotation_file=annotation_file, predictions=predictions, settings=settings,
        sigmas=keypoint_set.oks_sigmas,
        results_dir=Path(results_dir) if results_dir is not None else None,
        gt_path=Path(gt_path) if gt_path is not None else None))
