"""posetrack-eval: PoseTrack18 pose AP and tracking MOTA, with the numbers of poseval.

    posetrack-eval annotations/val/ predictions/ --json results.json
    posetrack-eval annotations/val/ predictions/ --per-sequence --no-tracking

GT_DIR holds one PoseTrack18 file per sequence; PRED_DIR a file of the same name for each.
Prints poseval's tables (AP, then MOT), then identity metrics that poseval lacks: IDF1/IDP/IDR
and HOTA/DetA/AssA/LocA on person boxes (IoU) and on poses (OKS), over the same frames
(``tracker.eval.identity_inputs`` defines them; --no-identity leaves them out).
Exit codes: 0 ok, 1 bad input (one line ``posetrack-eval: error: <file>: <field>: ...`` on
stderr; the traceback too with --verbose), 2 bad arguments, 130 Ctrl-C.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from apps import cli
from tracker.eval import evaluate
from tracker.files import write_json_atomically

PROG = "posetrack-eval"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("gt_dir", type=Path, help="folder of ground-truth PoseTrack18 files")
    parser.add_argument("pred_dir", type=Path, help="folder of prediction files (same names)")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the results as JSON here (NaN as null)")
    parser.add_argument("--per-sequence", action="store_true",
                        help="also evaluate and print every sequence alone")
    parser.add_argument("--no-tracking", action="store_true",
                        help="only pose AP (no MOTA/MOTP/precision/recall, no identity "
                             "metrics)")
    parser.add_argument("--no-identity", action="store_true",
                        help="leave out IDF1/HOTA (only poseval's tables)")
    parser.add_argument("--allow-nonfinite", action="store_true",
                        help="accept NaN/Infinity keypoint coordinates (never matching, as "
                             "poseval) instead of failing")
    parser.add_argument("--sorted", action="store_true",
                        help="sort sequences by name instead of poseval's directory order "
                             "(AP may then differ from poseval's where scores tie)")
    cli.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    cli.check_output_paths(parser, {"--json": args.json}, {})
    return args


def run(args) -> int:
    results = evaluate(args.gt_dir, args.pred_dir, tracking=not args.no_tracking,
                       identity=not args.no_identity, per_sequence=args.per_sequence,
                       allow_nonfinite=args.allow_nonfinite, sort_files=args.sorted)
    for name, seq_results in results.per_sequence.items():
        print(f"Sequence {name}:")
        print(seq_results.table())
        print()
    if args.per_sequence:
        print("All sequences:")
    print(results.table())
    if results.single_frame_sequences:
        print(f"note: {len(results.single_frame_sequences)} sequence(s) with a single "
              f"evaluated frame add no tracking events (poseval would crash): "
              f"{', '.join(results.single_frame_sequences)}", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(args.json, results.to_dict())
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run_main(PROG, parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
