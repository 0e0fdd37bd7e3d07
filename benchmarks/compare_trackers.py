"""Identity through occlusion and crowds: our trackers against ByteTrack, OC-SORT and BoT-SORT.

    python -m benchmarks.compare_trackers [--sequences 30] [--seeds 1] [--scenarios NAME ...]
        [--sweep] [--robust min_hits=1,max_lost_s=3] [--detector miss_continue=0.8]
        [--only TEXT] [--max-frames 300] [--no-video] [--no-simulation]

Every variant runs on the same detector and pose model:

* ours in the ``Pipeline``: the paper's tracker (``PoseTracker(similarity="flow_oks")`` +
  box propagation), ``RobustPoseTracker`` (the default of posetrack-run), and the robust
  tracker without flow and propagation (boxes only, like the peers);
* the peers of the ``trackers`` package (``benchmarks/peer_trackers.py``) as "detector ->
  box tracker -> pose on each tracked box", at the package defaults and with thresholds
  tuned to the detector's scores.

Section 1 (``benchmarks/simulated_scenarios.py``): the 30 Bonn PoseTrack sequences (real
motion, every person labelled) through the occlusion simulator (``tests/occlusion_sim.py``:
depth-ordered occlusion, misses with size and overlap, bursts, false positives and ghosts,
people locked onto the front person) in four scenarios (clean, every 2nd frame, a grey bar
sweeping across, a camera dropout of 4 black frames), written as posetrack-run writes and
scored by ``tracker.eval`` (= poseval): MOTA, joint-level ID switches, IDF1 / HOTA / AssA on
poses, ids per person.

Section 2 (``benchmarks/video_variants.py``): the shared videos with a known cast
(basketball: 2, indoor: 2) and harder variants of them (a grey bar, 4 and 15 black frames,
every 2nd frame) with RTMDet-nano and PP-TinyPose: ids written per true person, short
tracks, coverage of the cast's longest tracks.
"""
from __future__ import annotations

import argparse
import sys

from benchmarks.peer_trackers import peer_variants
from benchmarks.tracker_variants import our_variants, parse_options, robust_arguments
from tests.shared_data import SHARED_ROOT

#: A small sweep of ``RobustPoseTracker`` options (``--sweep``), one change at a time.
SWEEP = ({"min_hits": 1}, {"min_hits": 3}, {"max_lost_s": 1.0}, {"max_lost_s": 4.0},
         {"high_score": 0.5}, {"gate_growth": 0.0}, {"gate_growth": 3.0},
         {"min_similarity": 0.2}, {"appearance_weight": 0.0}, {"merge_frames": 0})


def parse_args(argv):
    from tests.occlusion_sim import SCENARIOS

    parser = argparse.ArgumentParser(prog="compare_trackers",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--scenarios", nargs="+", choices=sorted(SCENARIOS), metavar="NAME",
                        help=f"simulated scenarios to run (default all: {sorted(SCENARIOS)})")
    parser.add_argument("--sweep", action="store_true",
                        help="add RobustPoseTracker variants, one option changed at a time")
    parser.add_argument("--robust", type=parse_options, action="append", default=[],
                        metavar="KEY=VALUE[,...]", help="add a RobustPoseTracker variant")
    parser.add_argument("--detector", type=parse_options, default={}, metavar="KEY=VALUE[,...]",
                        help="OccludingDetector options, e.g. miss_continue=0.8")
    parser.add_argument("--max-frames", type=int, default=300)
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the variants whose name contains TEXT (repeatable)")
    parser.add_argument("--no-video", action="store_true")
    parser.add_argument("--no-simulation", action="store_true")
    args = parser.parse_args(argv)
    unknown = sorted({key for options in args.robust for key in options} - robust_arguments())
    if unknown:
        parser.error(f"--robust: unknown RobustPoseTracker argument(s) {unknown}; expected "
                     f"some of {sorted(robust_arguments())}")
    return parser, args


def main(argv=None) -> int:
    from benchmarks.simulated_scenarios import section_scenarios
    from benchmarks.video_variants import VIDEO_CAST, VIDEO_DIR, section_video_variants
    from tests.occlusion_sim import SCENARIOS

    parser, args = parse_args(argv)
    robust = list(SWEEP) + args.robust if args.sweep else args.robust
    variants = {name: variant for name, variant in {**our_variants(robust),
                                                    **peer_variants()}.items()
                if not args.only or any(text in name for text in args.only)}
    if not variants:
        parser.error(f"no variant name contains any of {args.only}")
    if not args.no_simulation:
        folder = SHARED_ROOT / "data" / "bonn-posetrack" / "train"
        paths = sorted(folder.glob("*.json"))[:args.sequences]
        if not paths:
            print(f"compare_trackers: error: no Bonn sequences under {folder}", file=sys.stderr)
            return 1
        scenarios = {name: SCENARIOS[name] for name in args.scenarios or SCENARIOS}
        section_scenarios(variants, paths, args.seeds, args.detector, scenarios)
    if not args.no_video:
        videos = {VIDEO_DIR / name: cast for name, cast in VIDEO_CAST.items()}
        missing = [str(path) for path in videos if not path.is_file()]
        if missing:
            print(f"compare_trackers: error: video(s) not found: {missing}", file=sys.stderr)
            return 1
        section_video_variants(variants, videos, args.max_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
