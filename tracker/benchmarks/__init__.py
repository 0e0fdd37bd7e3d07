"""Static-image benchmarks of the seed, scored exactly as mmpose 0.29 scores them.

Example:
    >>> from tracker.benchmarks import evaluate_predictions
    >>> metrics = evaluate_predictions("coco", "annotations/person_keypoints_val2017.json",
    ...                                persons, vis_thr=0.2, oks_thr=0.9)
    >>> metrics["AP"], metrics["AR"]

``persons`` is the list-of-dicts layout of ``persons.py`` (what ``posetrack-bench`` writes to
``persons.json``). ``BENCHMARKS`` lists the benchmarks; ``run_top_down`` (``runner.py``) runs a
pose model over a benchmark's persons, batched across images.
"""
from tracker.benchmarks.catalog import (BENCHMARKS, Benchmark, BoxRequest, EvalRequest,
                                        format_table, get_benchmark)
from tracker.benchmarks.datasets import PersonBox, missing_images
from tracker.benchmarks.evaluation import evaluate_predictions
from tracker.benchmarks.persons import PredictionSet, parse_persons
from tracker.benchmarks.settings import DatasetLayout, EvalSettings, benchmark_configs

__all__ = [
    "BENCHMARKS", "Benchmark", "BoxRequest", "DatasetLayout", "EvalRequest", "EvalSettings",
    "PersonBox", "PredictionSet", "benchmark_configs", "evaluate_predictions", "format_table",
    "get_benchmark", "missing_images", "parse_persons",
]
