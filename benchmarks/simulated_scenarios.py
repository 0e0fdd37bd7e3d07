"""Section 1 of ``compare_trackers``: every variant on the occlusion simulator, scored by poseval.

For each scenario of ``tests.occlusion_sim.SCENARIOS`` (clean, every 2nd frame, a grey bar
sweeping across, a camera dropout) every variant (ours in the ``Pipeline``, the peers as
"detector -> box tracker -> pose on each tracked box") runs over the Bonn sequences with the
same simulated detector, pose network and flow. Its output is written as posetrack-run
writes it (``TrackWriter`` with the default output thresholds) and scored against the frames
of the scenario by ``tracker.eval`` (equal to the official poseval): total MOTA and the
joint-level ID switches poseval counts, IDF1 and HOTA on poses (OKS), and ids written per
ground-truth person.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.peer_trackers import BoxTrackerStack, PeerVariant
from tests.occlusion_sim import FPS, SCENARIOS, Scenario, run_scenario, write_ground_truth
from tests.tracking_sim import POSETRACK18
from tracker.eval import POSEVAL_JOINTS
from tracker.io.posetrack18 import TrackWriter

#: The joints the Bonn files label (all but the nose; ears are not scored by poseval). The
#: nose has no ground truth, so its per-joint MOTA is only poseval's dummy entries of frames
#: with no output (-100 for one empty frame, NaN for none) and is left out of the mean.
SCORED_JOINTS = tuple(j for j in POSEVAL_JOINTS if j != "nose")
#: posetrack-run's default output thresholds (configs/default.yaml ``output``).
OUTPUT = dict(min_person_score=0.0, min_keypoint_score=0.4)
HEADER = (f"{'variant':44s} {'MOTA':>6s} {'IDSW':>5s} {'IDF1':>6s} {'HOTA':>6s} {'AssA':>6s} "
          f"{'ids/GT':>6s} {'s':>6s}")


def build_stack(variant, scenario: Scenario):
    """``(detector, estimator, flow) -> Frame -> FrameResult`` for one variant."""
    from tracker.tracking.pipeline import Pipeline
    from tracker.tracking.pose_tracker import PoseTracker
    from tracker.tracking.robust_tracker import RobustPoseTracker

    fps = FPS / scenario.frame_step
    if isinstance(variant, PeerVariant):
        return lambda detector, estimator, flow: BoxTrackerStack(
            detector=detector, estimator=estimator,
            box_tracker=variant.build(fps, use_image=False))
    tracker_class = RobustPoseTracker if variant.kind == "robust" else PoseTracker

    def build(detector, estimator, flow):
        tracker = tracker_class(oks_sigmas=POSETRACK18.oks_sigmas, **variant.options)
        return Pipeline(detector=detector, estimator=estimator, tracker=tracker,
                        flow=flow if variant.flow else None, propagate=variant.flow)
    return build


def _sequence_folder(path: Path) -> str:
    return str(Path(json.loads(path.read_text())["images"][0]["file_name"]).parent)


def run_variant(variant, scenario: Scenario, paths: list[Path], seeds: int,
                detector_options: dict | None = None) -> dict:
    """Scores of one variant under one scenario over ``paths`` x ``seeds``."""
    from tracker.eval import accumulate_sequence, evaluate_sequences, load_sequences

    build = build_stack(variant, scenario)
    sequences, ids, people, seconds = [], 0, 0, 0.0
    with tempfile.TemporaryDirectory() as temporary:
        for seed in range(seeds):
            gt_dir, pred_dir = Path(temporary, f"gt{seed}"), Path(temporary, f"pred{seed}")
            gt_dir.mkdir()
            pred_dir.mkdir()
            for path in paths:
                start = time.perf_counter()
                scene, results = run_scenario(path, build, scenario, seed=seed,
                                              detector_options=detector_options)
                seconds += time.perf_counter() - start
                write_ground_truth(path, scene, gt_dir / path.name)
                writer = TrackWriter(pred_dir / path.name, keypoint_names=POSETRACK18.names,
                                     sequence_name=_sequence_folder(path), **OUTPUT)
                for result in results:
                    writer.add(result)
                writer.close()
                written = [r.track_ids for r in results]
                ids += len(np.unique(np.concatenate(written))) if written else 0
                people += len(np.unique(np.concatenate([s.truth.track_ids for s in scene])))
            sequences += load_sequences(gt_dir, pred_dir)
        results = evaluate_sequences(sequences)
        switches = sum(int(accumulate_sequence(s.frames).switches.sum()) for s in sequences)
    poses = results.identity["poses"]
    scored = [POSEVAL_JOINTS.index(j) for j in SCORED_JOINTS]
    return dict(mota=float(np.mean(results.mota_per_joint[scored])), switches=switches,
                idf1=100 * poses.identity.idf1, hota=100 * poses.hota.hota,
                ass_a=100 * poses.hota.ass_a, ids_per_person=ids / max(1, people),
                seconds=seconds)

def row(name: str, scores: dict) -> str:
    return (f"{name:44s} {scores['mota']:6.2f} {scores['switches']:5d} {scores['idf1']:6.2f} "
            f"{scores['hota']:6.2f} {scores['ass_a']:6.2f} {scores['ids_per_person']:6.2f} "
            f"{scores['seconds']:6.1f}")


def section_scenarios(variants: dict, paths: list[Path], seeds: int,
                      detector_options: dict | None = None,
                      scenarios: dict[str, Scenario] | None = None) -> dict:
    """Print one table per scenario; returns {scenario: {variant: scores}}."""
    detector = ", ".join(f"{k}={v}" for k, v in (detector_options or {}).items()) or "defaults"
    print(f"== Occlusion simulator on the Bonn PoseTrack sequences: {len(paths)} sequences x "
          f"{seeds} seeds, detector {detector}; scored by tracker.eval (= poseval): MOTA "
          "(mean over the 14 labelled joints), joint-level ID switches, IDF1 / HOTA / AssA on poses (OKS) ==")
    table = {}
    for label, scenario in (scenarios or SCENARIOS).items():
        print(f"\n-- {label} --\n{HEADER}")
        table[label] = {}
        for name, variant in variants.items():
            table[label][name] = scores = run_variant(variant, scenario, paths, seeds,
                                                      detector_options)
            print(row(name, scores), flush=True)
    return table
