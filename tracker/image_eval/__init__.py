"""Static-image benchmarks of the seed, scored exactly as mmpose 0.29 scores them.

Example:
    >>> from tracker.image_eval import evaluate_predictions
    >>> metrics = evaluate_predictions("coco", "annotations/person_keypoints_val2017.json",
    ...                                persons, vis_thr=0.2, oks_thr=0.9)
    >>> metrics["AP"], metrics["AR"]

``persons`` is the list-of-dicts layout of ``persons.py`` (what ``posetrack-bench`` writes to
``persons.json``). ``BENCHMARKS`` lists the benchmarks; ``run_top_down`` (``runner.py``) runs a
pose model over a benchmark's persons, batched across images.
"""
from tracker.image_eval.catalog import (BENCHMARKS, Benchmark, BoxRequest, EvalRequest,
                                        format_table, get_benchmark)
from tracker.image_eval.datasets import PersonBox, missing_images
from tracker.image_eval.evaluation import evaluate_predictions
from tracker.image_eval.persons import PredictionSet, parse_persons
from tracker.image_eval.settings import DatasetLayout, EvalSettings, benchmark_configs

__all__ = [
    "BENCHMARKS", "Benchmark", "BoxRequest", "DatasetLayout", "EvalRequest", "EvalSettings",
    "PersonBox", "PredictionSet", "benchmark_configs", "evaluate_predictions", "format_table",
    "get_benchmark", "missing_images", "parse_persons",
]
