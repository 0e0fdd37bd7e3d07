"""Which tracking options pay off: the Simple Baselines variants on real motion.

    python -m benchmarks.compare_tracking [--sequences N] [--seeds S]

Replays the 30 Bonn PoseTrack sequences (every person labelled in every frame) through the
real ``Pipeline`` + ``PoseTracker`` with simulated detector, pose network and flow
(``tests/tracking_sim.py``: bursty missed detections, false positives, joint noise,
optical flow that follows the true motion). Prints box CLEAR-MOT numbers for each variant,
from mmpose's demo tracker (greedy box IoU, no flow) to the paper's flow-OKS with box
propagation. Real detectors and flow on annotated video are scored with ``posetrack-eval``.
"""
from __future__ import annotations

import argparse
import sys

from tests.shared_data import SHARED_ROOT
from tests.tracking_sim import HEAD_BOX_SEQUENCES, VARIANTS, box_mota, poseval_scores, simulate

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args(argv)
    folder = SHARED_ROOT / "data" / "bonn-posetrack" / "train"
    paths = sorted(folder.glob("*.json"))[:args.sequences]
    if not paths:
        print(f"no Bonn sequences under {folder}", file=sys.stderr)
        return 1
    print(f"{len(paths)} sequences x {args.seeds} seeds; box CLEAR-MOT (IoU >= 0.5)")
    print(f"{'variant':36s} {'MOTA':>7s} {'IDSW':>6s} {'FN':>6s} {'FP':>6s}")
    for name, (tracker_options, pipeline_options, use_flow) in VARIANTS.items():
        totals = dict.fromkeys(["num_switches", "num_misses", "num_false_positives",
                                "num_objects"], 0.0)
        for seed in range(args.seeds):
            for path in paths:
                frames, _, results = simulate(path, tracker_options=tracker_options,
                                              pipeline_options=pipeline_options,
                                              use_flow=use_flow, seed=seed)
                numbers = box_mota(frames, results)
                for key in totals:
                    totals[key] += numbers[key]
        errors = totals["num_switches"] + totals["num_misses"] + totals["num_false_positives"]
        mota = 1.0 - errors / totals["num_objects"]
        print(f"{name:36s} {100 * mota:7.2f} {totals['num_switches']:6.0f} "
              f"{totals['num_misses']:6.0f} {totals['num_false_positives']:6.0f}")
    print(f"\nPoseTrack18 AP / MOTA (poseval's numbers) on the {len(HEAD_BOX_SEQUENCES)} "
          "sequences with head boxes, seed 0, output thresholds box 0.5 / joint 0.4")
    print(f"{'variant':36s} {'AP':>7s} {'MOTA':>7s} {'MOTP':>7s} {'Prec':>7s} {'Rec':>7s}")
    for name, (tracker_options, pipeline_options, use_flow) in VARIANTS.items():
        results = poseval_scores(folder, tracker_options, pipeline_options, use_flow, seed=0)
        print(f"{name:36s} {results.ap['total']:7.1f} {results.mota['total']:7.1f} "
              f"{results.motp:7.1f} {results.precision:7.1f} {results.recall:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
