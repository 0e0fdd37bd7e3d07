"""Static-image benchmarks of the seed, scored exactly as mmpose 0.29 scores them.

Example:
    >>> from tracker.image_eval import evaluate_predictions
    >>> metrics = evaluate_predictions("coco", "annotations/person_keypoints_val2017.json",
    ...                                persons, vis_thr=0.2, oks_thr=0.9)
    >>> metrics["AP"], metrics["AR"]

``persons`` is the list-of-dicts layout of ``persons.py`` (what ``posetrack-bench`` writes to
``persons.json``). ``BENCHMARKS`` lists the benchmarks; ``run_top_down`` (``runner.py``) runs a
pose model over a benchmark's persons, batched across images. A model of another keypoint
set is scored where ``KEYPOINT_MAPPINGS`` maps it (COCO models on PoseTrack18:
``benchmark_mapping``, then ``map_persons`` before evaluating).
"""
from tracker.image_eval.catalog import (BENCHMARKS, Benchmark, BoxRequest, EvalRequest,
                                        format_table, get_benchmark)
from tracker.image_eval.datasets import PersonBox, missing_images
from tracker.image_eval.evaluation import evaluate_predictions
from tracker.image_eval.keypoint_mapping import (KEYPOINT_MAPPINGS, KeypointMapping,
                                                 benchmark_mapping, map_persons)
from tracker.image_eval.persons import PredictionSet, parse_persons
from tracker.image_eval.settings import DatasetLayout, EvalSettings, benchmark_configs

__all__ = [
    "BENCHMARKS", "Benchmark", "BoxRequest", "DatasetLayout", "EvalRequest", "EvalSettings",
    "KEYPOINT_MAPPINGS", "KeypointMapping", "PersonBox", "PredictionSet", "benchmark_configs",
    "benchmark_mapping", "evaluate_predictions", "format_table", "get_benchmark",
    "map_persons", "missing_images", "parse_persons",
]
