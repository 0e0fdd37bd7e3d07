"""Which models a benchmark scores, and the keypoint mapping for a model of another set.

A benchmark scores its own keypoint set (``Benchmark.keypoint_set``). A model with another
set is scored only where ``KEYPOINT_MAPPINGS`` has a mapping from its set to the benchmark's:

* ``coco`` -> ``posetrack18``: ``tracker.io.posetrack18.coco_to_posetrack18``, the same
  function ``posetrack-run`` and ``posetrack-val`` write PoseTrack18 files with. PoseTrack18
  keeps COCO's 17-slot order but slots 1 and 2 are ``head_bottom`` and ``head_top`` instead of
  COCO's eyes; they are placed on the line from the shoulder midpoint to the nose and scored
  with the weakest of nose and shoulders. The other 15 slots are the same joints.

    mapping = benchmark_mapping(get_benchmark("posetrack18"), model.keypoint_set.names)
    persons = map_persons(persons, mapping) if mapping else persons    # then evaluate
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np

from tracker.image_eval.catalog import Benchmark
from tracker.io.posetrack18 import coco_to_posetrack18
from tracker.pose.zoo import keypoint_sets, pose_models


@dataclass(frozen=True)
class KeypointMapping:
    """Predictions of one keypoint set -> another.

    Attributes:
        source, target: keypoint set names (``configs/keypoint_sets.yaml``).
        apply: (N, K_source, 3) x, y, score -> (N, K_target, 3) float32.
        description: one line for reports.
    """

    source: str
    target: str
    apply: Callable[[np.ndarray], np.ndarray]
    description: str


def _coco_to_posetrack18_triplets(keypoints: np.ndarray) -> np.ndarray:
    xy, scores = coco_to_posetrack18(keypoints[..., :2], keypoints[..., 2])
    return np.concatenate([xy, scores[..., None]], axis=2)


KEYPOINT_MAPPINGS = {
    ("coco", "posetrack18"): KeypointMapping(
        source="coco", target="posetrack18", apply=_coco_to_posetrack18_triplets,
        description="COCO keypoints mapped to PoseTrack18 (head_bottom, head_top from nose "
                    "and shoulders: tracker.io.posetrack18.coco_to_posetrack18)"),
}


def keypoint_set_name(keypoint_names: Sequence[str]) -> Optional[str]:
    """The name of the keypoint set with exactly these names, None when there is none."""
    names = tuple(keypoint_names)
    return next((name for name, other in keypoint_sets().items() if other.names == names), None)


def benchmark_mapping(benchmark: Benchmark, keypoint_names: Sequence[str],
                      model: str = "the model") -> Optional[KeypointMapping]:
    """None when a model with ``keypoint_names`` predicts the benchmark's own set, the
    mapping when one exists; otherwise a ``ValueError`` listing the zoo models that fit."""
    wanted = keypoint_sets()[benchmark.keypoint_set]
    names = tuple(keypoint_names)
    if names == wanted.names:
        return None
    mapping = KEYPOINT_MAPPINGS.get((keypoint_set_name(names), benchmark.keypoint_set))
    if mapping is not None:
        return mapping
    mapped_sets = [source for source, target in KEYPOINT_MAPPINGS
                   if target == benchmark.keypoint_set]
    fitting = [name for name, spec in pose_models().items()
               if spec.keypoint_set.names == wanted.names]
    mapped = [name for name, spec in pose_models().items()
              if keypoint_set_name(spec.keypoint_set.names) in mapped_sets]
    also = (f"; and, mapped, the {'/'.join(mapped_sets)} models: {', '.join(mapped)}"
            if mapped else "")
    raise ValueError(f"model {model!r} predicts {len(names)} keypoints "
                     f"({', '.join(names[:3])}, ...), but {benchmark.name} is scored on the "
                     f"{benchmark.keypoint_set!r} keypoint set ({len(wanted)} keypoints); zoo "
                     f"models that fit: {', '.join(fitting)}{also}")


def map_persons(persons: Sequence[dict], mapping: KeypointMapping) -> list[dict]:
    """``persons`` (the layout of ``persons.py``) with their keypoints mapped; new dicts."""
    if not persons:
        return []
    keypoints = np.array([person["keypoints"] for person in persons], np.float32)
    mapped = mapping.apply(keypoints)
    return [{**person, "keypoints": rows.tolist()} for person, rows in zip(persons, mapped)]
